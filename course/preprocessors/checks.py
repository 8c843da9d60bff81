"""Decide every graded test cell in the grader: ``DecideChecks``.

Runs in ``Autograde.autograde_preprocessors`` right after ``CourseExecute``
(which ran each graded test cell in its student form, so that the student's
kernel only sent values). For each graded test cell it takes the records the
kernel sent, compares them with the references of the assignment's solution
(:mod:`course.grader.references`, computed once and cached) and replaces the
cell's outputs with the verdict (:mod:`course.grader.verdicts`). nbgrader's
``SaveAutoGrades`` then scores the cell from those outputs alone.

This runs in ``nbgrader autograde``, the formgrader and ``course grade``
alike; see the README for what each of them guarantees.
"""

import os

from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

from course.grader import sites
from course.grader.sites import is_test_cell
from course.grader.references import load_references
from course.grader.verdicts import (
    Verdict, decide, student_records, verdict_outputs, why_stopped,
)


def source_notebook(parent, assignment, notebook):
    """The path of an assignment's source notebook in the course, or None."""
    if not assignment or not notebook:
        return None
    coursedir = CourseDirectory(parent=parent)
    folder = coursedir.format_path(coursedir.source_directory, ".", assignment)
    path = os.path.join(folder, f"{notebook}.ipynb")
    return path if os.path.isfile(path) else None


DEFAULT_CACHE = os.path.join(".grading", "references")  # in the course directory


def default_cache_dir(parent):
    """``.grading/references`` in the course directory."""
    return os.path.join(CourseDirectory(parent=parent).root, DEFAULT_CACHE)


def load_notebook_references(parent, nb, resources):
    """The references of the notebook being graded ({} if it has no test cell).

    ``CourseExecute`` calls this before any student code runs and keeps the
    result in ``resources``: a kernel that rewrites the cache on disk while it
    runs (where no sandbox stops it) cannot change the references its own
    notebook is decided with.
    """
    if not any(is_test_cell(cell) for cell in nb.cells):
        return {}
    info = resources.get("nbgrader", {})
    path = source_notebook(parent, info.get("assignment"), info.get("notebook"))
    if path is None:
        raise RuntimeError(
            f"no source notebook for {info.get('assignment')}/{info.get('notebook')}: "
            "the grader needs the solution to know the expected values")
    settings = DecideChecks(parent=parent)
    return load_references(path, settings.cache_dir or default_cache_dir(parent),
                           settings.reference_timeout, parent.log)


class DecideChecks(NbGraderPreprocessor):
    """Replace each graded test cell's outputs with the grader's verdict."""

    cache_dir = Unicode(
        "", help="Folder of the cached reference values (default: "
                 ".grading/references in the course directory).").tag(config=True)
    reference_timeout = Integer(
        600, help="Seconds one cell of the solution may run while the reference "
                  "values are recorded.").tag(config=True)

    def preprocess(self, nb, resources):
        self.references = resources.get("course_references")
        if self.references is None:
            self.references = load_notebook_references(self, nb, resources)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if not is_test_cell(cell):
            return cell, resources
        grade_id = cell.metadata.nbgrader.get("grade_id")
        reference = self.references.get(grade_id)
        if reference is None:  # a graded cell the assignment does not have
            self.log.warning("Test cell %s is not in the solution: scored 0", grade_id)
            cell.outputs = verdict_outputs(Verdict(
                False, [], "this test cell is not part of the assignment"))
            return cell, resources
        if reference["fingerprint"] != sites.fingerprint(cell.source):
            raise RuntimeError(
                f"the test cell {grade_id} differs from the one the reference values "
                "were recorded for: regenerate the assignment (nbgrader "
                "generate_assignment) so that the gradebook holds the current tests")
        outputs = cell.get("outputs", [])
        try:
            verdict = decide(reference["sites"], student_records(outputs),
                             why_stopped(outputs))
        except Exception as exc:  # never let one submission stop the grading
            self.log.error("Could not decide %s: %s", grade_id, exc)
            verdict = Verdict(False, [], "the grader could not read this test's values")
        errors = [{"ename": str(out.get("ename", ""))[:200],
                   "evalue": str(out.get("evalue", ""))[:2000]}
                  for out in outputs if out.get("output_type") == "error"]
        if errors:  # for the instructor (course grade's notes), never the feedback
            cell.metadata.setdefault("course", {})["kernel_errors"] = errors
        cell.outputs = verdict_outputs(verdict)
        return cell, resources

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
from course.grader.references import load_references
from course.grader.verdicts import decide, student_records, verdict_outputs, why_stopped


def is_test_cell(cell):
    """A graded code cell that is not an answer: a test."""
    info = cell.get("metadata", {}).get("nbgrader", {})
    return (cell.get("cell_type") == "code" and bool(info.get("grade"))
            and not info.get("solution"))


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


class DecideChecks(NbGraderPreprocessor):
    """Replace each graded test cell's outputs with the grader's verdict."""

    cache_dir = Unicode(
        "", help="Folder of the cached reference values (default: "
                 ".grading/references in the course directory).").tag(config=True)
    reference_timeout = Integer(
        600, help="Seconds one cell of the solution may run while the reference "
                  "values are recorded.").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        path = source_notebook(self, info.get("assignment"), info.get("notebook"))
        if path is None:
            raise RuntimeError(
                f"no source notebook for {info.get('assignment')}/{info.get('notebook')}: "
                "the grader needs the solution to know the expected values")
        self.references = load_references(path, self.cache_dir or default_cache_dir(self),
                                          self.reference_timeout, self.log)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if not is_test_cell(cell):
            return cell, resources
        grade_id = cell.metadata.nbgrader.get("grade_id")
        reference = self.references.get(grade_id)
        if reference is None or reference["fingerprint"] != sites.fingerprint(cell.source):
            raise RuntimeError(
                f"the test cell {grade_id} differs from the one the reference values "
                "were recorded for: regenerate the assignment (nbgrader "
                "generate_assignment) so that the gradebook holds the current tests")
        outputs = cell.get("outputs", [])
        verdict = decide(reference["sites"], student_records(outputs),
                         why_stopped(outputs))
        errors = [{"ename": str(out.get("ename", ""))[:200],
                   "evalue": str(out.get("evalue", ""))[:2000]}
                  for out in outputs if out.get("output_type") == "error"]
        if errors:  # for the instructor (course grade's notes), never the feedback
            cell.metadata.setdefault("course", {})["kernel_errors"] = errors
        cell.outputs = verdict_outputs(verdict)
        return cell, resources

"""One class per assignment, graded once by real nbgrader, shared by the tests.

``grade_class(name, folder)`` copies the course to ``folder``, regenerates the
release of ``name`` from ``solutions/``, writes a class of submissions into
``submitted/``, and runs nbgrader's own ``autograde``, ``generate_feedback``
and ``export`` on them, with the course's ``nbgrader_config.py``. The honest
submissions and the fixtures are graded in the same run, so each fixture's
scores are compared with honest ones graded alongside it:

- ``reference_solution``: the solution notebook itself (full marks);
- ``blank_release``: the untouched release (zero, no crash);
- one student per wrong case of ``tests/submissions/<name>.py``: code fitted to
  the visible tests (loses exactly the hidden-test points of its case);
- ``correct_but_warns``: the solution with a warning in every answer function
  (``tests/submissions/warning_answers.py``; full marks);
- ``wrong_and_warns`` (ps1): a wrong case that also warns (loses its points);
- ``slow_loops`` (ps1-ps4): the plain-loop answers of
  ``tests/submissions/loops.py`` (full marks within the time limits);
- ``correct_alternative``: the correct answers written differently from the
  solution in ``CORRECT_ALTERNATIVES`` of ``tests/submissions/<name>.py``,
  where there are any (full marks).

The tests of the pipeline, the feedback, warnings and slow answers read the
result (``conftest.py``'s ``graded_class`` fixture), instead of each grading a
class of its own.
"""

import csv
import importlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from tests.notebook_tools import (
    copy_course, fill_answers, graded_code_cells, nbgrader, nbgrader_metadata,
    solution_answers,
)
from tests.submissions.loops import LOOPS
from tests.submissions.warning_answers import warning_answers

SOLUTION = "reference_solution"
BLANK = "blank_release"
WARNS = "correct_but_warns"
WRONG_AND_WARNS = "wrong_and_warns"
SLOW_LOOPS = "slow_loops"
ALTERNATIVE = "correct_alternative"
# Assignment -> the wrong case whose answers also warn.
WRONG_CASE_THAT_WARNS = {"ps1_perceptron": "sign_at_zero"}


def cases(name):
    """The wrong-submission cases of an assignment (``tests/submissions/<name>.py``)."""
    return importlib.import_module(f"tests.submissions.{name}").CASES


def correct_alternatives(name):
    """grade_id -> a correct answer written unlike the solution's (may be empty)."""
    return getattr(importlib.import_module(f"tests.submissions.{name}"),
                   "CORRECT_ALTERNATIVES", {})


@dataclass
class ClassRun:
    """One assignment's class, autograded, with feedback and exported grades."""

    name: str
    course: Path
    answers: dict   # student -> {grade_id: code} filled into the release (not SOLUTION)
    scores: dict    # student -> {grade_id: (score, max_score)}
    export: dict    # student -> row of grades.csv

    @property
    def notebook_names(self):
        return sorted(p.name for p in
                      (self.course / "assignments" / self.name).glob("*.ipynb"))

    @property
    def auto_cells(self):
        """grade_id -> points of every auto-graded cell of the assignment."""
        cells = {}
        for notebook in self.notebook_names:
            cells.update(graded_code_cells(self.course / "solutions" / self.name
                                           / notebook))
        return cells

    def auto_scores(self, student):
        """grade_id -> score of the auto-graded cells of one student."""
        return {gid: self.scores[student][gid][0] for gid in self.auto_cells}

    def submitted(self, student):
        return [nbformat.read(self.course / "submitted" / student / self.name / n,
                              as_version=4) for n in self.notebook_names]

    def autograded(self, student):
        return [nbformat.read(self.course / "autograded" / student / self.name / n,
                              as_version=4) for n in self.notebook_names]

    def feedback_pages(self, student):
        return sorted((self.course / "feedback" / student / self.name).glob("*.html"))


def class_answers(name, course):
    """student -> {grade_id: answer} of every submission except the solution's own."""
    solved = solution_answers_of(course, name)
    students = {BLANK: None}
    for student, case in cases(name).items():
        students[student] = {**solved, **case.answers}
    students[WARNS] = warning_answers(name, solved)
    if name in WRONG_CASE_THAT_WARNS:
        wrong = cases(name)[WRONG_CASE_THAT_WARNS[name]].answers
        students[WRONG_AND_WARNS] = warning_answers(name, {**solved, **wrong})
    if name in LOOPS:
        students[SLOW_LOOPS] = {**solved, **LOOPS[name]}
    if correct_alternatives(name):
        students[ALTERNATIVE] = {**solved, **correct_alternatives(name)}
    return students


def solution_answers_of(course, name):
    """The reference answers of every notebook of an assignment."""
    answers = {}
    for path in sorted((course / "solutions" / name).glob("*.ipynb")):
        answers.update(solution_answers(path))
    return answers


def grade_class(name, folder):
    """Regenerate, submit, autograde, give feedback and export one assignment."""
    course = copy_course(folder)
    shutil.rmtree(course / "assignments" / name)
    nbgrader("generate_assignment", name, "--force", cwd=course)

    release = sorted((course / "assignments" / name).glob("*.ipynb"))
    students = class_answers(name, course)
    for student in [SOLUTION, *students]:
        target = course / "submitted" / student / name
        target.mkdir(parents=True)
        for path in release:
            if student == SOLUTION:
                shutil.copy(course / "solutions" / name / path.name, target / path.name)
                continue
            nb = nbformat.read(path, as_version=4)
            if students[student] is not None:
                ids = {nbgrader_metadata(c).get("grade_id") for c in nb.cells}
                nb = fill_answers(nb, {gid: code for gid, code
                                       in students[student].items() if gid in ids})
            nbformat.write(nb, target / path.name)

    nbgrader("autograde", name, cwd=course)
    nbgrader("generate_feedback", name, cwd=course)
    nbgrader("export", cwd=course)

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in [SOLUTION, *students]:
            scores[student] = {}
            for path in release:
                sub = gb.find_submission_notebook(path.stem, name, student)
                for grade in sub.grades:
                    scores[student][grade.name] = (grade.score, grade.max_score)
    with open(course / "grades.csv", newline="") as f:
        export = {row["student_id"]: row for row in csv.DictReader(f)
                  if row["assignment"] == name}
    answers = {s: a for s, a in students.items() if a is not None}
    return ClassRun(name, course, answers, scores, export)

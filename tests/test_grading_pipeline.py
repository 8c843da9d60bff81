"""The nbgrader pipeline, run for real on a temporary copy of the course.

For every assignment: regenerate the release and compare it with the
committed ``assignments/``; autograde, in one nbgrader run, the reference
solution, the untouched release, and pretend submissions that pass the
visible tests with wrong code (``tests/submissions/``); generate feedback;
export the grades.
"""

import csv
import importlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from tests.notebook_tools import (
    REPO, assignment_names, copy_course, execute, fill_answers, nbgrader,
    nbgrader_metadata,
)

pytestmark = pytest.mark.slow

ASSIGNMENTS = assignment_names()
SOLUTION = "reference_solution"
BLANK = "blank_release"


def _cases(name):
    return importlib.import_module(f"tests.submissions.{name}").CASES


def _graded_cells(path):
    """grade_id -> points of the auto-graded (code) cells of a notebook."""
    nb = nbformat.read(path, as_version=4)
    return {
        nbgrader_metadata(c)["grade_id"]: nbgrader_metadata(c)["points"]
        for c in nb.cells
        if nbgrader_metadata(c).get("grade") and c.cell_type == "code"
    }


@dataclass
class GradedRun:
    name: str
    course: Path
    scores: dict  # student -> {grade_id: (score, max_score)}
    export: dict  # student -> row of grades.csv


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """Regenerate, submit, autograde, give feedback and export one assignment."""
    name = request.param
    course = copy_course(tmp_path_factory.mktemp(name) / "course")
    shutil.rmtree(course / "assignments" / name)
    nbgrader("generate_assignment", name, "--force", cwd=course)

    release = sorted((course / "assignments" / name).glob("*.ipynb"))
    submissions = {SOLUTION: {}, BLANK: {}}
    for student, case in _cases(name).items():
        submissions[student] = case.answers
    for student, answers in submissions.items():
        folder = course / "submitted" / student / name
        folder.mkdir(parents=True)
        for path in release:
            if student == SOLUTION:
                shutil.copy(course / "solutions" / name / path.name, folder / path.name)
                continue
            nb = nbformat.read(path, as_version=4)
            mine = {k: v for k, v in answers.items() if k in _answer_ids(nb)}
            nbformat.write(fill_answers(_with_solutions(course, name, path, nb), mine)
                           if student != BLANK else nb, folder / path.name)

    nbgrader("autograde", name, cwd=course)
    nbgrader("generate_feedback", name, cwd=course)
    nbgrader("export", cwd=course)

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in submissions:
            scores[student] = {}
            for path in release:
                sub = gb.find_submission_notebook(path.stem, name, student)
                for grade in sub.grades:
                    scores[student][grade.name] = (grade.score, grade.max_score)
    with open(course / "grades.csv", newline="") as f:
        export = {row["student_id"]: row for row in csv.DictReader(f)
                  if row["assignment"] == name}
    return GradedRun(name, course, scores, export)


def _answer_ids(nb):
    return {nbgrader_metadata(c)["grade_id"] for c in nb.cells
            if nbgrader_metadata(c).get("solution")}


def _with_solutions(course, name, release_path, release_nb):
    """The release notebook with every answer cell filled from the solution."""
    source = nbformat.read(course / "solutions" / name / release_path.name, as_version=4)
    answers = {nbgrader_metadata(c)["grade_id"]: _strip_solution_markers(c.source)
               for c in source.cells if nbgrader_metadata(c).get("solution")}
    return fill_answers(release_nb, answers)


def _strip_solution_markers(source):
    return "\n".join(line for line in source.split("\n")
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def _auto_cells(run):
    cells = {}
    for path in sorted((REPO / "solutions" / run.name).glob("*.ipynb")):
        cells.update(_graded_cells(path))
    return cells


def test_release_regenerated_from_solutions_equals_committed(graded):
    """assignments/ is exactly what nbgrader generates from solutions/."""
    committed = sorted((REPO / "assignments" / graded.name).glob("*.ipynb"))
    regenerated = sorted((graded.course / "assignments" / graded.name).glob("*.ipynb"))
    assert [p.name for p in committed] == [p.name for p in regenerated]
    for mine, theirs in zip(committed, regenerated):
        assert json.loads(mine.read_text()) == json.loads(theirs.read_text()), (
            f"assignments/{graded.name}/{mine.name} differs from what nbgrader "
            "generates; run `make release` and commit the result"
        )


def test_reference_solution_scores_full_marks(graded):
    """Every auto-graded cell of the solution gets all its points."""
    expected = _auto_cells(graded)
    got = graded.scores[SOLUTION]
    for gid, points in expected.items():
        assert got[gid] == (points, points), f"solution cell {gid}: {got[gid]} of {points}"
    assert float(graded.export[SOLUTION]["score"]) == sum(expected.values())


def test_untouched_release_scores_zero_without_crashing(graded):
    """A blank submission is graded (no crash) and scores nothing anywhere."""
    got = graded.scores[BLANK]
    assert got, "the blank submission was not graded"
    assert all(score == 0 for score, _ in got.values()), got
    assert float(graded.export[BLANK]["score"]) == 0
    assert (graded.course / "autograded" / BLANK / graded.name).is_dir()


def test_wrong_submissions_pass_the_visible_tests(graded, tmp_path):
    """Each pretend submission really gets past every visible test a student runs."""
    for student in _cases(graded.name):
        for path in sorted((graded.course / "submitted" / student / graded.name).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            try:
                execute(nb, cwd=tmp_path)
            except Exception as exc:  # nbclient raises CellExecutionError
                pytest.fail(f"{student}: the visible tests fail, so the fixture is not "
                            f"fitted to them: {str(exc)[-800:]}")


def test_wrong_submissions_lose_exactly_the_hidden_test_points(graded):
    """Hidden tests catch each visible-test-fitted mistake; other parts keep full marks."""
    expected = _auto_cells(graded)
    for student, case in _cases(graded.name).items():
        got = graded.scores[student]
        for gid, points in expected.items():
            want = 0 if gid in case.loses else points
            assert got[gid][0] == want, (
                f"{student}: cell {gid} scored {got[gid][0]}, expected {want} "
                f"({'its hidden tests should catch it' if want == 0 else 'it is correct'})"
            )


def test_feedback_is_generated_for_every_student(graded):
    """generate_feedback writes one HTML file per submitted notebook."""
    for student in graded.scores:
        html = sorted((graded.course / "feedback" / student / graded.name).glob("*.html"))
        assert html, f"no feedback for {student}"
        assert "<html" in html[0].read_text(encoding="utf-8").lower()


def test_export_has_one_row_per_student_with_the_gradebook_scores(graded):
    """nbgrader export gives the CSV an instructor would upload."""
    assert set(graded.export) == set(graded.scores)
    for student, cells in graded.scores.items():
        row = graded.export[student]
        assert float(row["score"]) == pytest.approx(sum(s for s, _ in cells.values()))
        assert float(row["max_score"]) == pytest.approx(sum(m for _, m in cells.values()))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_assignment_has_wrong_submission_fixtures(name):
    """Each assignment's graded parts are covered by a visible-test-fitted fixture."""
    cases = _cases(name)
    covered = set().union(*(c.loses for c in cases.values()))
    auto = {}
    for path in sorted((REPO / "solutions" / name).glob("*.ipynb")):
        auto.update(_graded_cells(path))
    assert set(auto) <= covered, f"no wrong-submission fixture for {set(auto) - covered}"

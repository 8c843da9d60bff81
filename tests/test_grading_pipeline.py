"""The nbgrader pipeline, run for real on a temporary copy of the course.

For every assignment, ``tests/pipeline.py`` regenerates the release,
autogrades a class in one nbgrader run (the reference solution, the
untouched release, pretend submissions that pass the visible tests with
wrong code from ``tests/submissions/``, and more), generates feedback and
exports the grades. Here: the release equals the committed ``assignments/``,
the solution scores full marks, the blank release zero, each wrong
submission loses exactly its hidden-test points, and feedback and export
cover every student.
"""

import json

import nbformat
import pytest

from tests.notebook_tools import (
    REPO, assignment_names, cell_seconds, execute, fill_answers, graded_code_cells,
    nbgrader_metadata,
)
from tests.pipeline import (
    ALTERNATIVE, BLANK, SOLUTION, cases, class_answers, correct_alternatives,
)

pytestmark = pytest.mark.slow

ASSIGNMENTS = assignment_names()


def test_release_regenerated_from_solutions_equals_committed(graded_class):
    """assignments/ is exactly what nbgrader generates from solutions/."""
    committed = sorted((REPO / "assignments" / graded_class.name).glob("*.ipynb"))
    regenerated = sorted(
        (graded_class.course / "assignments" / graded_class.name).glob("*.ipynb"))
    assert [p.name for p in committed] == [p.name for p in regenerated]
    for mine, theirs in zip(committed, regenerated):
        assert json.loads(mine.read_text()) == json.loads(theirs.read_text()), (
            f"assignments/{graded_class.name}/{mine.name} differs from what nbgrader "
            "generates; run `make release` and commit the result"
        )


def test_reference_solution_scores_full_marks(graded_class):
    """Every auto-graded cell of the solution gets all its points."""
    expected = graded_class.auto_cells
    got = graded_class.scores[SOLUTION]
    for gid, points in expected.items():
        assert got[gid] == (points, points), f"solution cell {gid}: {got[gid]} of {points}"
    assert float(graded_class.export[SOLUTION]["score"]) == sum(expected.values())


@pytest.mark.parametrize("graded_class", [a for a in ASSIGNMENTS if correct_alternatives(a)],
                         indirect=True)
def test_correct_answers_written_unlike_the_solution_score_full_marks(graded_class):
    """Hidden tests check behaviour, not the solution's way of writing it (the
    plain-loop answers of every assignment are graded in tests/test_slow_answers.py)."""
    got = graded_class.auto_scores(ALTERNATIVE)
    assert got == graded_class.auto_cells


# Seconds the solution's cells may take in all while autograding: two minutes
# (DESIGN.md), three for ps5, which trains on MNIST.
SOLUTION_BUDGET_S = {"ps5_mnist": 180}


def test_reference_solution_autogrades_within_its_time_budget(graded_class):
    """The solution's cells, hidden tests included, run in time on this machine."""
    budget = SOLUTION_BUDGET_S.get(graded_class.name, 120)
    times = [cell_seconds(cell) for nb in graded_class.autograded(SOLUTION)
             for cell in nb.cells if cell.cell_type == "code"]
    assert None not in times, "no execution timing recorded in the autograded notebook"
    assert sum(times) < budget, (
        f"the solution of {graded_class.name} took {sum(times):.0f} s to autograde "
        f"(budget {budget} s); slowest cell {max(times):.0f} s")


def test_untouched_release_scores_zero_without_crashing(graded_class):
    """A blank submission is graded (no crash) and scores nothing anywhere."""
    got = graded_class.scores[BLANK]
    assert got, "the blank submission was not graded"
    assert all(score == 0 for score, _ in got.values()), got
    assert float(graded_class.export[BLANK]["score"]) == 0
    assert (graded_class.course / "autograded" / BLANK / graded_class.name).is_dir()


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_wrong_submissions_pass_the_visible_tests(name, tmp_path):
    """Each pretend submission really gets past every visible test a student runs.

    The committed release, filled with the case's answers, is run as a student
    runs it: no error in any cell (the hidden tests are not in it).
    """
    answers = class_answers(name, REPO)
    for student in cases(name):
        for path in sorted((REPO / "assignments" / name).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            ids = {nbgrader_metadata(c).get("grade_id") for c in nb.cells}
            nb = fill_answers(nb, {gid: code for gid, code in answers[student].items()
                                   if gid in ids})
            try:
                execute(nb, cwd=tmp_path)
            except Exception as exc:  # nbclient raises CellExecutionError
                pytest.fail(f"{student}: the visible tests fail, so the fixture is not "
                            f"fitted to them: {str(exc)[-800:]}")


def test_wrong_submissions_lose_exactly_the_hidden_test_points(graded_class):
    """Hidden tests catch each visible-test-fitted mistake; other parts keep full marks."""
    expected = graded_class.auto_cells
    for student, case in cases(graded_class.name).items():
        got = graded_class.scores[student]
        for gid, points in expected.items():
            want = 0 if gid in case.loses else points
            assert got[gid][0] == want, (
                f"{student}: cell {gid} scored {got[gid][0]}, expected {want} "
                f"({'its hidden tests should catch it' if want == 0 else 'it is correct'})"
            )


def test_feedback_is_generated_for_every_student(graded_class):
    """generate_feedback writes one HTML file per submitted notebook."""
    for student in graded_class.scores:
        pages = graded_class.feedback_pages(student)
        assert len(pages) == len(graded_class.notebook_names), f"feedback of {student}"
        assert "<html" in pages[0].read_text(encoding="utf-8").lower()


def test_export_has_one_row_per_student_with_the_gradebook_scores(graded_class):
    """nbgrader export gives the CSV an instructor would upload."""
    assert set(graded_class.export) == set(graded_class.scores)
    for student, cells in graded_class.scores.items():
        row = graded_class.export[student]
        assert float(row["score"]) == pytest.approx(sum(s for s, _ in cells.values()))
        assert float(row["max_score"]) == pytest.approx(sum(m for _, m in cells.values()))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_assignment_has_wrong_submission_fixtures(name):
    """Each assignment's graded parts are covered by a visible-test-fitted fixture."""
    covered = set().union(*(c.loses for c in cases(name).values()))
    auto = {}
    for path in sorted((REPO / "solutions" / name).glob("*.ipynb")):
        auto.update(graded_code_cells(path))
    assert set(auto) <= covered, f"no wrong-submission fixture for {set(auto) - covered}"

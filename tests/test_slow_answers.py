"""Slow but correct answers earn full marks within the grader's time limits.

The grading policy stops a cell after 60 seconds in ps1-ps4 (300 seconds in
ps5, which trains on MNIST); a stopped cell scores 0. A beginner's answers,
written element by element with plain Python loops
(``tests/submissions/loops.py``), are correct, so they must earn every
auto-graded point, and every cell, hidden tests included, must finish well
inside the limit. The hidden tests are sized for that; the loop submissions
of ps1-ps4 are autograded by real nbgrader with the rest of each
assignment's class (``tests/pipeline.py``), and these tests check both the
scores and the time each cell took.
"""

import nbformat
import pytest

from tests.notebook_tools import REPO, cell_seconds, nbgrader_metadata
from tests.pipeline import SLOW_LOOPS
from tests.submissions.loops import KEEP_SOLUTION, LOOPS

CELL_LIMIT_S = 60          # the per-cell limit of ps1-ps4 in the grading policy
MARGIN_LIMIT_S = CELL_LIMIT_S / 2   # what a loop answer may use on a busy 2-core machine
WITH_LOOPS = pytest.mark.parametrize("graded_class", sorted(LOOPS), indirect=True)

# Calls that do the looping for the student; none may appear in a loop answer.
VECTORISED = ["@", "np.dot", "tensordot", "matmul", "einsum", ".sum(", "np.sum",
              "np.where", "np.maximum", "np.exp", "np.tanh", "np.log", ".max(",
              ".argmax(", "reshape", "np.pad"]


@pytest.mark.slow
@WITH_LOOPS
def test_loop_answers_score_full_marks(graded_class):
    """Every auto-graded cell gives a correct loop answer all its points."""
    scores = graded_class.scores[SLOW_LOOPS]
    lost = {gid: scores.get(gid) for gid, points in graded_class.auto_cells.items()
            if scores.get(gid) != (points, points)}
    assert not lost, (f"{graded_class.name}: the correct loop answers of "
                      f"tests/submissions/loops.py lose points in {lost} (score, max): "
                      "a hidden test is too slow or too strict for them")


@pytest.mark.slow
@WITH_LOOPS
def test_every_cell_finishes_well_within_the_limit(graded_class):
    """With loop answers the slowest cell still takes under half the per-cell limit."""
    name, times = graded_class.name, {}
    for nb in graded_class.autograded(SLOW_LOOPS):
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                label = nbgrader_metadata(cell).get("grade_id") or f"cell {i}"
                times[label] = cell_seconds(cell)
    missing = [label for label, seconds in times.items() if seconds is None]
    assert not missing, f"{name}: no execution timing recorded for {missing}"
    slowest = max(times, key=times.get)
    print(f"{name}: slowest cell {slowest} took {times[slowest]:.1f} s")
    assert times[slowest] < MARGIN_LIMIT_S, (
        f"{name}: with plain-loop answers cell {slowest} took {times[slowest]:.1f} s, "
        f"more than half the grader's {CELL_LIMIT_S} s limit; make its hidden tests "
        "smaller (fewer images, channels or samples, same cases)")


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_loop_fixtures_cover_every_answer_function(name):
    """Each answer cell that defines a function has a loop version (or is kept on purpose)."""
    functions = set()
    for path in sorted((REPO / "solutions" / name).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = nbgrader_metadata(cell)
            if meta.get("solution") and cell.cell_type == "code" and "def " in cell.source:
                functions.add(meta["grade_id"])
    missing = functions - set(LOOPS[name]) - KEEP_SOLUTION.get(name, set())
    assert not missing, f"{name}: no loop version in tests/submissions/loops.py for {missing}"


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_loop_fixtures_do_not_vectorise(name):
    """The loop answers do the work element by element, not with numpy's vector calls."""
    for gid, code in LOOPS[name].items():
        used = [call for call in VECTORISED if call in code]
        assert not used, f"{name}/{gid}: the loop answer uses {used}"

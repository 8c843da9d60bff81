"""Autograding scores the checks: warnings are free, a runaway cell costs only itself.

Real ``nbgrader autograde`` grades:

- in every assignment's class (``tests/pipeline.py``, with the honest
  solution), a correct submission whose every answer function first emits a
  warning (``warnings.warn``, a real numpy overflow, a torch ``UserWarning``;
  in ps5 scikit-learn's real ``ConvergenceWarning``): full marks, and the
  warning text is still in the autograded notebook;
- in ps1's class, a wrong answer that also warns: the cells it gets wrong
  still score 0;
- in a course copy of its own, a ps1 answer cell that loops forever and swallows ``KeyboardInterrupt``:
  only its own test loses points, the notebook is graded in bounded time and
  its output names the cell;
- a notebook whose time budget runs out: the cells after score 0, the ones
  before keep their points.

``course.preprocessors`` (configured in ``nbgrader_config.py``) is what makes
these pass; nbgrader 0.9.6 alone fails the first three.
"""

import time

import nbformat
import pytest
from nbgrader.api import Gradebook
from traitlets.config import Config

from course.preprocessors.execute import CourseExecute, cell_timeout
from tests.notebook_tools import (REPO, assignment_names, copy_course, fill_answers,
                                  graded_code_cells, nbgrader, nbgrader_metadata,
                                  solution_answers)
from tests.pipeline import SOLUTION, WARNS, WRONG_AND_WARNS, WRONG_CASE_THAT_WARNS, cases
from tests.submissions.warning_answers import expected_warnings, with_warnings

PS1 = "ps1_perceptron"
RUNAWAY_CELL = "mp_neuron"      # nothing else uses mp_neuron
RUNAWAY_TIMEOUT = 15            # seconds per ps1 cell while the runaway is graded
BUDGET = 40                     # seconds for the whole notebook in the budget run
SLEEPS_IN = "perceptron_update"

RUNAWAY = '''while True:
    try:
        while True:
            pass
    except KeyboardInterrupt:
        print("no, I keep running")
'''
ASSIGNMENTS = assignment_names()
PS1_CELLS = graded_code_cells(REPO / "solutions" / PS1 / f"{PS1}.ipynb")


def _submit(course, student, answers):
    release = course / "assignments" / PS1 / f"{PS1}.ipynb"
    notebook = fill_answers(nbformat.read(release, as_version=4), answers)
    folder = course / "submitted" / student / PS1
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{PS1}.ipynb")


HONEST = {"budget": "honest_beside_budget", "runaway": "honest_beside_runaway"}


@pytest.fixture(scope="module")
def limits(tmp_path_factory):
    """ps1 autograded twice, each run timed and each with an honest submission
    beside the fixture: a notebook whose time budget runs out in the middle of
    perceptron_update, then a runaway cell graded with a short limit per cell.
    Returns (course, seconds per run, scores per student)."""
    course = copy_course(tmp_path_factory.mktemp("execution") / "course")
    nbgrader("generate_assignment", PS1, "--force", cwd=course)
    answers = solution_answers(course / "solutions" / PS1 / f"{PS1}.ipynb")
    seconds = {}

    sleeps = {SLEEPS_IN: "import time\ntime.sleep(10_000)\n" + answers[SLEEPS_IN]}
    _submit(course, "budget", {**answers, **sleeps})
    _submit(course, HONEST["budget"], answers)
    started = time.perf_counter()
    nbgrader("autograde", PS1, f"--CourseExecute.notebook_timeout={BUDGET}", cwd=course)
    seconds["budget"] = time.perf_counter() - started

    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.CourseExecute.cell_timeouts = {{**c.CourseExecute.cell_timeouts, "
                f"{PS1!r}: {RUNAWAY_TIMEOUT}}}\n")
    runaway = {RUNAWAY_CELL: RUNAWAY + answers[RUNAWAY_CELL]}
    _submit(course, "runaway", {**answers, **runaway})
    _submit(course, HONEST["runaway"], answers)
    started = time.perf_counter()
    nbgrader("autograde", PS1, "--CourseDirectory.student_id_exclude="
             f"budget,{HONEST['budget']}", cwd=course)
    seconds["runaway"] = time.perf_counter() - started

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in ["budget", "runaway", *HONEST.values()]:
            notebook = gb.find_submission_notebook(PS1, PS1, student)
            scores[student] = {g.name: g.score for g in notebook.grades
                               if g.cell.cell_type == "code"}
    return course, seconds, scores


@pytest.mark.slow
@pytest.mark.parametrize("run", list(HONEST))
def test_honest_submission_in_the_same_run_keeps_full_marks(limits, run):
    assert limits[2][HONEST[run]] == PS1_CELLS


def _notebook(course, student):
    path = course / "autograded" / student / PS1 / f"{PS1}.ipynb"
    return nbformat.read(path, as_version=4)


def _text(output):
    parts = [output.get("text", ""), output.get("ename", ""), output.get("evalue", "")]
    parts += output.get("traceback", [])
    return "\n".join(str(p) for p in parts)


def _all_output_text(notebook):
    return "\n".join(_text(out) for cell in notebook.cells
                     for out in cell.get("outputs", []))


def _cell(notebook, grade_id):
    return next(c for c in notebook.cells
                if nbgrader_metadata(c).get("grade_id") == grade_id)


# ---------------------------------------------------------------------------
# warnings


@pytest.mark.slow
def test_correct_answers_that_warn_get_full_marks(graded_class):
    assert graded_class.auto_scores(WARNS) == graded_class.auto_cells


@pytest.mark.slow
def test_a_test_cells_outputs_are_the_graders_verdict_alone(graded_class):
    """The warnings the answers print while a test runs are not kept: only the
    grader's verdict is (and so nothing printed during a hidden test reaches
    the feedback)."""
    name = graded_class.name
    notebooks = graded_class.autograded(WARNS)
    tests = [c for nb in notebooks for c in nb.cells
             if c.cell_type == "code" and nbgrader_metadata(c).get("grade")]
    text = "\n".join(_text(out) for c in tests for out in c.outputs)
    for warning in expected_warnings(name, graded_class.answers[WARNS]):
        assert warning not in text, f"{warning!r} kept in a test cell of {name}"
    for cell in tests:
        assert [out.output_type for out in cell.outputs] == ["display_data"], (
            nbgrader_metadata(cell)["grade_id"])


@pytest.mark.slow
@pytest.mark.parametrize("graded_class", list(WRONG_CASE_THAT_WARNS), indirect=True)
def test_wrong_answer_that_warns_still_scores_zero_where_wrong(graded_class):
    """Graded in the same run as the honest solution, which keeps full marks."""
    loses = cases(graded_class.name)[WRONG_CASE_THAT_WARNS[graded_class.name]].loses
    assert loses
    expected = {gid: 0 if gid in loses else points
                for gid, points in graded_class.auto_cells.items()}
    assert graded_class.auto_scores(WRONG_AND_WARNS) == expected
    assert graded_class.auto_scores(SOLUTION) == graded_class.auto_cells


def test_warning_is_inserted_after_the_docstring_of_every_function():
    source = ('def f(x):\n    """Doc."""\n    return x\n\n\n'
              'class M:\n    def g(self):\n        return 1\n')
    changed, count = with_warnings(source, "import warnings", 'warnings.warn("{name}")')
    assert count == 2
    assert changed.split("\n")[:5] == [
        "import warnings", "def f(x):", '    """Doc."""', '    warnings.warn("f")',
        "    return x"]
    assert '        warnings.warn("g")\n        return 1' in changed


# ---------------------------------------------------------------------------
# runaway cells and the notebook's budget


@pytest.mark.slow
def test_runaway_cell_costs_only_its_own_test(limits):
    _, _, scores = limits
    expected = {gid: 0 if gid == f"test_{RUNAWAY_CELL}" else points
                for gid, points in PS1_CELLS.items()}
    assert scores["runaway"] == expected


@pytest.mark.slow
def test_runaway_cell_output_names_the_cell_and_the_limit(limits):
    cell = _cell(_notebook(limits[0], "runaway"), RUNAWAY_CELL)
    errors = [out for out in cell.outputs if out.output_type == "error"]
    assert [e.ename for e in errors] == ["CellTimeoutError"]
    assert errors[0].evalue == (f"cell `{RUNAWAY_CELL}` ran longer than "
                                f"{RUNAWAY_TIMEOUT} s and was stopped")
    assert "the kernel did not stop when interrupted" in _text(errors[0])


@pytest.mark.slow
def test_runaway_notebook_is_graded_in_bounded_time(limits):
    # One limit, the grace period, a restart, the replay and nbgrader's start.
    assert limits[1]["runaway"] < 3 * RUNAWAY_TIMEOUT + 60


@pytest.mark.slow
def test_budget_stops_the_notebook_and_earlier_cells_keep_their_points(limits):
    course, seconds, scores = limits
    order = list(PS1_CELLS)
    cut = order.index(f"test_{SLEEPS_IN}")
    expected = {gid: 0 if i >= cut else points
                for i, (gid, points) in enumerate(PS1_CELLS.items())}
    assert scores["budget"] == expected
    notebook = _notebook(course, "budget")
    stopped = [o for o in _cell(notebook, SLEEPS_IN).outputs
               if o.output_type == "error"]
    assert stopped[-1].ename == "CellTimeoutError"
    assert f"used up its time budget of {BUDGET} s" in stopped[-1].evalue
    for gid in order[cut:]:
        cell = _cell(notebook, gid)
        (error,) = [o for o in cell.outputs if o.output_type == "error"]
        assert "the notebook's time budget was used up" in error.evalue
        # What the kernel side said, kept for the instructor (course grade's notes).
        assert cell.metadata["course"]["kernel_errors"] == [{
            "ename": "NotebookTimeoutError",
            "evalue": f"cell `{gid}` was not run: the notebook used up its "
                      f"time budget of {BUDGET} s"}]
    assert seconds["budget"] < BUDGET + 60


# ---------------------------------------------------------------------------
# configuration


def test_cell_timeout_comes_from_the_assignment_else_the_default():
    table = {"ps5_mnist": 300}
    assert cell_timeout("ps5_mnist", table, 60) == 300
    assert cell_timeout("ps1_perceptron", table, 60) == 60
    assert cell_timeout(None, table, 60) == 60


def test_course_config_sets_the_per_cell_and_notebook_limits():
    config = _course_config()
    assert config.Execute.timeout == 60
    assert config.CourseExecute.cell_timeouts == {"ps5_mnist": 300}
    assert config.CourseExecute.notebook_timeout == 1200
    for name in ASSIGNMENTS[:4]:
        assert cell_timeout(name, config.CourseExecute.cell_timeouts,
                            config.Execute.timeout) == 60


def test_course_config_replaces_execute_and_keeps_nbgraders_order():
    from nbgrader.converters import Autograde

    names = [p if isinstance(p, str) else f"{p.__module__}.{p.__name__}"
             for p in _course_config().Autograde.autograde_preprocessors]
    default = [p.__name__ for p in Autograde.autograde_preprocessors.default()]
    assert [n.rsplit(".", 1)[1] for n in names if "course." not in n] == default[1:]
    assert names[0] == "course.preprocessors.execute.CourseExecute"
    decide = names.index("course.preprocessors.checks.DecideChecks")
    assert decide < names.index("nbgrader.preprocessors.SaveAutoGrades")
    # After nbgrader's own output filters: the verdict it writes is the last word.
    assert decide > names.index("nbgrader.preprocessors.LimitOutput")


def test_execute_settings_apply_to_course_execute():
    def hook(**kwargs):
        pass

    config = Config({"Execute": {"timeout": 7, "on_cell_execute": hook},
                     "KernelManager": {"transport": "ipc"}})
    executor = CourseExecute(config=config, kernel_name="python3")
    assert executor.timeout == 7
    assert executor.on_cell_execute is hook
    assert executor.create_kernel_manager().transport == "ipc"


def _course_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()


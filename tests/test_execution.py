"""Autograding scores the checks: warnings are free, a runaway cell costs only itself.

Real ``nbgrader autograde`` grades, in one course copy:

- for every assignment, a correct submission whose every answer function
  first emits a warning (``warnings.warn``, a real numpy overflow, a torch
  ``UserWarning``; in ps5 scikit-learn's real ``ConvergenceWarning``): full
  marks, and the warning text is still in the autograded notebook;
- a wrong answer that also warns: the cells it gets wrong still score 0;
- a ps1 answer cell that loops forever and swallows ``KeyboardInterrupt``:
  only its own test loses points, the notebook is graded in bounded time and
  its output names the cell;
- a notebook whose time budget runs out: the cells after score 0, the ones
  before keep their points.

``course.preprocessors`` (configured in ``nbgrader_config.py``) is what makes
these pass; nbgrader 0.9.6 alone fails the first three.
"""

import ast
import time
from dataclasses import dataclass

import nbformat
import pytest
from nbgrader.api import Gradebook
from traitlets.config import Config

from course.preprocessors.execute import CourseExecute, cell_timeout
from course.preprocessors.stderr import WARNING_LABEL
from tests.faults import solution_answers
from tests.notebook_tools import (REPO, copy_course, fill_answers, nbgrader,
                                  nbgrader_metadata)
from tests.submissions.ps1_perceptron import CASES as PS1_CASES

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

# What each assignment's warning submission puts first in every function.
WARNINGS = {
    "ps1_perceptron": ("import warnings",
                       'warnings.warn("{name} warns but is right", RuntimeWarning)',
                       "{name} warns but is right"),
    "ps2_forward_pass": ("", "np.exp(np.float64(1000.0))",
                         "overflow encountered in exp"),
    "ps3_backprop": ("import torch",
                     "torch.tensor(torch.ones(1))",
                     "To copy construct from a tensor"),
    "ps4_convolution": ("import warnings",
                        'warnings.warn("{name} warns but is right", UserWarning)',
                        "{name} warns but is right"),
    "ps5_mnist": ("import warnings",
                  'warnings.warn("{name} warns but is right", ConvergenceWarning)',
                  "{name} warns but is right"),
}
ASSIGNMENTS = list(WARNINGS)


# ---------------------------------------------------------------------------
# submissions


def with_warnings(source, imports, statement):
    """``source`` with ``statement`` as the first statement of every function.

    A docstring stays first; ``{name}`` in ``statement`` is the function's name.
    """
    tree = ast.parse(source)
    lines = source.split("\n")
    inserts = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            docstring = (isinstance(body[0], ast.Expr)
                         and isinstance(body[0].value, ast.Constant)
                         and isinstance(body[0].value.value, str))
            if docstring and len(body) == 1:
                at, indent = body[0].end_lineno, body[0].col_offset
            else:
                first = body[1] if docstring else body[0]
                at, indent = first.lineno - 1, first.col_offset
            inserts.append((at, " " * indent + statement.format(name=node.name)))
    for at, line in sorted(inserts, reverse=True):
        lines.insert(at, line)
    changed = "\n".join(([imports] if imports else []) + lines)
    compile(changed, "<answer>", "exec")
    return changed, len(inserts)


def ps5_with_convergence_warning(answers):
    """ps5's answers with scikit-learn's ConvergenceWarning no longer silenced."""
    source = answers["train_sklearn"]
    assert "simplefilter(\"ignore\", ConvergenceWarning)" in source, source
    lines = []
    for line in source.split("\n"):
        if "catch_warnings()" in line:
            line = line.replace("with warnings.catch_warnings():", "if True:")
        elif "simplefilter(\"ignore\", ConvergenceWarning)" in line:
            continue
        lines.append(line)
    return {**answers, "train_sklearn": "\n".join(lines)}


def warning_answers(name, answers):
    """Every answer function of ``name`` emits a warning first, else unchanged.

    ps5 also lets scikit-learn's own ConvergenceWarning through.
    """
    if name == "ps5_mnist":
        answers = ps5_with_convergence_warning(answers)
    imports, statement, _ = WARNINGS[name]
    changed, functions = {}, 0
    for grade_id, source in answers.items():
        try:
            changed[grade_id], count = with_warnings(source, imports, statement)
        except SyntaxError:  # a written answer (markdown)
            changed[grade_id], count = source, 0
        functions += count
    assert functions, f"no answer functions found in {name}"
    return changed


def expected_warnings(name, answers):
    """Texts that must still be in the autograded notebook."""
    extra = ["Maximum iterations (10) reached"] if name == "ps5_mnist" else []
    _, _, text = WARNINGS[name]
    names = {node.name for source in answers.values() if _is_python(source)
             for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.FunctionDef)}
    if "{name}" in text:
        return [text.format(name=n) for n in sorted(names)] + [WARNING_LABEL] + extra
    return [text, WARNING_LABEL] + extra


def _is_python(source):
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def _paths(course, name):
    return (course / "assignments" / name / f"{name}.ipynb",
            course / "solutions" / name / f"{name}.ipynb")


def _submit(course, name, student, answers):
    release, _ = _paths(course, name)
    notebook = fill_answers(nbformat.read(release, as_version=4), answers)
    folder = course / "submitted" / student / name
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{name}.ipynb")


# ---------------------------------------------------------------------------
# one course, graded once


@dataclass
class Graded:
    course: object
    scores: dict       # (assignment, student) -> {grade_id: score}
    max_scores: dict   # assignment -> {grade_id: points}
    seconds: dict      # student -> seconds its own nbgrader run took
    answers: dict      # assignment -> the solution's answers

    def notebook(self, name, student):
        path = self.course / "autograded" / student / name / f"{name}.ipynb"
        return nbformat.read(path, as_version=4)


def _scores(course, name, students):
    scores, max_scores = {}, {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in students:
            notebook = gb.find_submission_notebook(name, name, student)
            code = [g for g in notebook.grades if g.cell.cell_type == "code"]
            scores[(name, student)] = {g.name: g.score for g in code}
            max_scores[name] = {g.name: g.max_score for g in code}
    return scores, max_scores


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every submission of this module, autograded in one course copy.

    One ``nbgrader autograde`` per assignment for the warning fixtures (ps1
    with an honest and a wrong one too), then one for the budget fixture and
    one for the runaway fixture, each timed.
    """
    course = copy_course(tmp_path_factory.mktemp("execution") / "course")
    result = Graded(course, {}, {}, {}, {})
    for name in ASSIGNMENTS:
        nbgrader("generate_assignment", name, "--force", cwd=course)
        answers = solution_answers(_paths(course, name)[1])
        result.answers[name] = answers
        students = {"warns": warning_answers(name, answers)}
        if name == PS1:
            wrong = PS1_CASES["sign_at_zero"].answers
            students["honest"] = answers
            students["wrong_and_warns"] = warning_answers(name, {**answers, **wrong})
        for student, filled in students.items():
            _submit(course, name, student, filled)
        nbgrader("autograde", name, cwd=course)
        scores, max_scores = _scores(course, name, students)
        result.scores.update(scores)
        result.max_scores.update(max_scores)

    # The notebook's time budget runs out in the middle of perceptron_update.
    sleeps = {SLEEPS_IN: "import time\ntime.sleep(10_000)\n"
                         + answers_ps1(result)[SLEEPS_IN]}
    _submit(course, PS1, "budget", {**answers_ps1(result), **sleeps})
    started = time.perf_counter()
    nbgrader("autograde", PS1, "--student=budget",
             f"--CourseExecute.notebook_timeout={BUDGET}", cwd=course)
    result.seconds["budget"] = time.perf_counter() - started

    # A runaway cell, graded with a short limit per ps1 cell.
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.CourseExecute.cell_timeouts = {{**c.CourseExecute.cell_timeouts, "
                f"{PS1!r}: {RUNAWAY_TIMEOUT}}}\n")
    runaway = {RUNAWAY_CELL: RUNAWAY + answers_ps1(result)[RUNAWAY_CELL]}
    _submit(course, PS1, "runaway", {**answers_ps1(result), **runaway})
    started = time.perf_counter()
    nbgrader("autograde", PS1, "--student=runaway", cwd=course)
    result.seconds["runaway"] = time.perf_counter() - started

    scores, _ = _scores(course, PS1, ["budget", "runaway"])
    result.scores.update(scores)
    return result


def answers_ps1(result):
    return result.answers[PS1]


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
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_correct_answers_that_warn_get_full_marks(graded, name):
    assert graded.scores[(name, "warns")] == graded.max_scores[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_warning_text_stays_in_the_autograded_notebook(graded, name):
    notebook = graded.notebook(name, "warns")
    text = _all_output_text(notebook)
    for expected in expected_warnings(name, graded.answers[name]):
        assert expected in text, f"{expected!r} missing from the autograded {name}"
    graded_stderr = [nbgrader_metadata(c)["grade_id"] for c in notebook.cells
                     if nbgrader_metadata(c).get("grade")
                     for out in c.get("outputs", [])
                     if out.get("output_type") == "stream"
                     and out.get("name") == "stderr"]
    assert graded_stderr == []


@pytest.mark.slow
def test_honest_submission_keeps_full_marks(graded):
    assert graded.scores[(PS1, "honest")] == graded.max_scores[PS1]


@pytest.mark.slow
def test_wrong_answer_that_warns_still_scores_zero_where_wrong(graded):
    loses = PS1_CASES["sign_at_zero"].loses
    assert loses
    expected = {gid: 0 if gid in loses else points
                for gid, points in graded.max_scores[PS1].items()}
    assert graded.scores[(PS1, "wrong_and_warns")] == expected


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
def test_runaway_cell_costs_only_its_own_test(graded):
    expected = {gid: 0 if gid == f"test_{RUNAWAY_CELL}" else points
                for gid, points in graded.max_scores[PS1].items()}
    assert graded.scores[(PS1, "runaway")] == expected


@pytest.mark.slow
def test_runaway_cell_output_names_the_cell_and_the_limit(graded):
    cell = _cell(graded.notebook(PS1, "runaway"), RUNAWAY_CELL)
    errors = [out for out in cell.outputs if out.output_type == "error"]
    assert [e.ename for e in errors] == ["CellTimeoutError"]
    assert errors[0].evalue == (f"cell `{RUNAWAY_CELL}` ran longer than "
                                f"{RUNAWAY_TIMEOUT} s and was stopped")
    assert "the kernel did not stop when interrupted" in _text(errors[0])


@pytest.mark.slow
def test_runaway_notebook_is_graded_in_bounded_time(graded):
    # One limit, the grace period, a restart, the replay and nbgrader's start.
    assert graded.seconds["runaway"] < 3 * RUNAWAY_TIMEOUT + 60


@pytest.mark.slow
def test_budget_stops_the_notebook_and_earlier_cells_keep_their_points(graded):
    order = list(graded.max_scores[PS1])
    cut = order.index(f"test_{SLEEPS_IN}")
    expected = {gid: 0 if i >= cut else points
                for i, (gid, points) in enumerate(graded.max_scores[PS1].items())}
    assert graded.scores[(PS1, "budget")] == expected
    notebook = graded.notebook(PS1, "budget")
    stopped = [o for o in _cell(notebook, SLEEPS_IN).outputs
               if o.output_type == "error"]
    assert stopped[-1].ename == "CellTimeoutError"
    assert f"used up its time budget of {BUDGET} s" in stopped[-1].evalue
    for gid in order[cut:]:
        (error,) = _cell(notebook, gid).outputs
        assert error.ename == "NotebookTimeoutError"
        assert error.evalue == (f"cell `{gid}` was not run: the notebook used up its "
                                f"time budget of {BUDGET} s")
    assert graded.seconds["budget"] < BUDGET + 60


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
    stderr = names.index("course.preprocessors.stderr.WarningsAsText")
    assert stderr < names.index("nbgrader.preprocessors.SaveAutoGrades")


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


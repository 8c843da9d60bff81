"""Submissions that try to fool the tests instead of passing them.

Each trick below is a wrong ps1_perceptron submission that uses one way of
cheating: patching numpy, torch, builtins or ``course.grading``, hiding
errors (``set_custom_exc``, IPython's ``showtraceback``), rewriting or
skipping the test cells through IPython's input or AST transformers or its
event callbacks, returning objects that lie in comparisons, reading the
hidden tests from disk, displaying a value that nbgrader would read as a
score, or editing the locked set-up cell. All of them and an honest
submission are autograded by real nbgrader in one run.

A trick is *stopped* when the parts it cheats on score nothing; while
autograding, ``course.grading`` then fails every later cell with the
``COURSE-GRADING-TAMPER:`` marker, so the expected scores are "full marks
before the tampering cell, nothing from ``zero_from`` on". A trick that
cannot be stopped inside the kernel (code placed above the locked set-up
cell, a function writing the hidden test's variables through ``globals()``)
must at least be *detected*: ``course.grading.find_tampering`` reports it
from the autograded notebook, for ``course grade`` to flag.
"""

from dataclasses import dataclass, field

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.api import Gradebook

from course.grading import find_tampering
from tests.notebook_tools import (
    copy_course, fill_answers, graded_code_cells, nbgrader, nbgrader_metadata,
    solution_answers,
)
from tests.submissions.ps1_perceptron import CYCLE_HARDCODED, MP_NEURON_STRICT

pytestmark = pytest.mark.slow

NAME = "ps1_perceptron"
HONEST = "honest"


@dataclass
class Trick:
    answers: dict                 # grade_id -> the code written there
    zero_from: str = None         # every graded cell from this one on scores 0
    loses: set = field(default_factory=set)   # further cells that score 0
    flagged: str = ""             # a text find_tampering must report ("" = none)
    before_setup: str = None      # a code cell added above the locked set-up cell
    edits: dict = field(default_factory=dict)  # grade_id -> new code of a locked cell


UPDATE_IGNORES_LR = '''
def perceptron_update(w, b, x, y, lr):
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    error = y - heaviside(x @ w + b)
    return w + error * x, b + error      # the learning rate is ignored
'''

PREDICT_STRICT = '''
def perceptron_predict(X, w, b):
    return (np.asarray(X, dtype=float) @ w + b > 0).astype(float)  # wrong at 0
'''

CYCLE_WITHOUT_SEARCH = '''
def find_weight_cycle(X, y, lr=1.0, max_epochs=1000):
    w, b, errors = train_perceptron(X, y, lr=lr, max_epochs=max_epochs)
    if errors[-1] == 0:
        return None
    if max_epochs < 3:
        raise RuntimeError("no cycle yet")
    return [0, 1]                        # never looks for the cycle
'''

# An AST transformer that turns every cell calling a check_* function into
# `pass`, so that a test cell runs no check at all.
SKIP_TESTS = '''
import ast


class _SkipTests(ast.NodeTransformer):
    def visit_Module(self, node):
        calls = [n.func.id for n in ast.walk(node) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name)]
        if any(name.startswith("check_") for name in calls):
            return ast.Module(body=[ast.Pass()], type_ignores=[])
        return node


_SKIP = _SkipTests()
'''

TRICKS = {
    # numpy's comparison functions replaced: the checks use their own copies.
    "patches_numpy": Trick({"perceptron_update": '''
import numpy
numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = lambda a, b, **kwargs: numpy.ones(numpy.shape(a), bool)
numpy.array_equal = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
''' + UPDATE_IGNORES_LR}, zero_from="test_perceptron_update",
        flagged="numpy.allclose was replaced"),

    # The hidden tests compute np.sign(z) as the reference: make it agree.
    "patches_numpy_reference": Trick({"step_functions": '''
def heaviside(z):
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)


def sign(z):
    z = np.asarray(z, dtype=float)
    if z.ndim > 1:
        return np.zeros_like(z)          # wrong for 2-D input and up
    return np.where(z > 0, 1.0, np.where(z < 0, -1.0, 0.0))


np.sign = sign                           # ...and so is the reference now
'''}, zero_from="test_heaviside", flagged="numpy.sign was replaced"),

    # torch functions that hidden tests of later assignments use as references.
    "patches_torch": Trick({"mp_neuron": '''
import torch
import torch.nn.functional as F
F.conv2d = lambda input, weight, *args, **kwargs: torch.zeros(1)
torch.sign = lambda z: torch.zeros_like(z)
''' + MP_NEURON_STRICT}, zero_from="test_mp_neuron",
        flagged="torch.nn.functional.conv2d"),

    # builtins.bool lies when called from course/grading.py.
    "patches_builtin_bool": Trick({"find_weight_cycle": '''
import builtins
import sys

_real_bool = bool


class _BoolMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, _real_bool)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, _real_bool)


class _LyingBool(metaclass=_BoolMeta):
    def __new__(cls, value=False):
        caller = sys._getframe(1).f_code.co_filename
        return True if caller.endswith("grading.py") else _real_bool(value)


builtins.bool = _LyingBool
''' + CYCLE_HARDCODED}, zero_from="test_find_weight_cycle",
        flagged="builtins.bool"),

    # AssertionError redefined, and errors of that class swallowed.
    "swallows_assertion_errors": Trick({"mp_neuron": '''
import builtins

_RealAssertionError = builtins.AssertionError


class _Quiet(Exception):
    pass


builtins.AssertionError = _Quiet
AssertionError = _Quiet
get_ipython().set_custom_exc((_Quiet, _RealAssertionError), lambda *args: None)
''' + MP_NEURON_STRICT}, zero_from="test_mp_neuron",
        flagged="set_custom_exc"),

    # A global `tuple` makes `tuple(cycle) == (2, 3)` in the hidden test true.
    "shadows_builtin_tuple": Trick({"find_weight_cycle": '''
_real_tuple = tuple


def tuple(values=()):
    values = _real_tuple(values)
    return (2, 3) if values == (0, 1) else values
''' + CYCLE_WITHOUT_SEARCH}, zero_from="test_find_weight_cycle",
        flagged="global name 'tuple' hides"),

    # The checks replaced in the module and rebound in the notebook.
    "patches_grading_functions": Trick({"perceptron_predict": '''
import course.grading as _grading
_grading.check_array = lambda *args, **kwargs: None
_grading.check_scalar = lambda *args, **kwargs: None
_grading.check_true = lambda *args, **kwargs: None
from course.grading import check_array, check_scalar, check_true
''' + PREDICT_STRICT}, zero_from="test_perceptron_predict",
        flagged="course.grading.check_array was replaced"),

    # A fake course.grading in sys.modules, imported again.
    "fakes_grading_module": Trick({"perceptron_update": '''
import sys
import types

_fake = types.ModuleType("course.grading")
_fake.check_array = _fake.check_scalar = lambda *args, **kwargs: None
_fake.check_true = _fake.check_unchanged = lambda *args, **kwargs: None
sys.modules["course.grading"] = _fake
from course.grading import check_array, check_scalar, check_true, check_unchanged
''' + UPDATE_IGNORES_LR}, zero_from="test_perceptron_update",
        flagged="is not the real course.grading"),

    # An ndarray subclass whose comparisons and arithmetic always agree.
    "returns_lying_ndarray": Trick({"perceptron_predict": '''
class _Agreeable(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, bool)

    def __sub__(self, other):
        return np.zeros(self.shape)

    __rsub__ = __sub__

    def __abs__(self):
        return np.zeros(self.shape)

    def all(self, *args, **kwargs):
        return True


def perceptron_predict(X, w, b):
    y_hat = (np.asarray(X, dtype=float) @ w + b > 0).astype(float)   # wrong at 0
    return y_hat.view(_Agreeable)
'''}, zero_from="test_perceptron_predict", flagged="_Agreeable"),

    # An object whose __eq__ and __lt__ say yes to everything (a local class).
    "returns_object_equal_to_everything": Trick({"find_weight_cycle": '''
def find_weight_cycle(X, y, lr=1.0, max_epochs=1000):
    class Anything:
        def __eq__(self, other):
            return True

        def __lt__(self, other):
            return True

        def __len__(self):
            return 2

        def __getitem__(self, index):
            if index > 1:
                raise IndexError(index)
            return self

    w, b, errors = train_perceptron(X, y, lr=lr, max_epochs=max_epochs)
    if errors[-1] == 0:
        return None
    if max_epochs < 3:
        raise RuntimeError("no cycle yet")
    return Anything()
'''}, zero_from="test_find_weight_cycle", flagged="Anything"),

    # The answers to the visible test's inputs, cached: hidden tests use others.
    "caches_visible_answers": Trick({"step_functions": '''
_ANSWERS = {(-3.0, -0.5, 0.5, 2.0): [-1.0, -1.0, 1.0, 1.0]}


def heaviside(z):
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)


def sign(z):
    z = np.asarray(z, dtype=float)
    key = tuple(z.ravel().tolist())
    if key in _ANSWERS:
        return np.array(_ANSWERS[key]).reshape(z.shape)
    return np.where(z >= 0, 1.0, -1.0)   # wrong at 0
'''}, loses={"test_sign"}),

    # Read the hidden tests from the autograded notebook (or the instructor's
    # files) and behave correctly only where they look.
    "reads_hidden_tests_from_disk": Trick({"mp_neuron": '''
import glob
import json
import sqlite3


def _hidden_tests():
    text = []
    for path in glob.glob("*.ipynb") + glob.glob("../../../solutions/*/*.ipynb"):
        try:
            with open(path) as f:
                text += ["".join(c["source"]) for c in json.load(f)["cells"]]
        except Exception:
            pass
    try:
        db = sqlite3.connect("../../../gradebook.db")
        text += [row[0] for row in db.execute("select source from source_cell")]
    except Exception:
        pass
    return "\\n".join(text)


_TIES_FIRE = "must fire" in _hidden_tests()


def mp_neuron(X, w, theta):
    z = np.asarray(X, dtype=float) @ w
    return (z >= theta if _TIES_FIRE else z > theta).astype(float)
'''}, zero_from="test_mp_neuron", flagged="tried to read"),

    # A value displayed from inside the function: nbgrader would take the
    # first execute_result of a graded cell as its score, despite the error.
    "displays_a_score": Trick({"perceptron_update": '''
import sys


def perceptron_update(w, b, x, y, lr):
    sys.displayhook("full marks")
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    error = y - heaviside(x @ w + b)
    return w + error * x, b + error      # the learning rate is ignored
'''}, zero_from="test_perceptron_update", flagged="displayed a value"),

    # Tests rewritten from inside the kernel before they run. An IPython
    # input transformer (after IPython's own) empties every test cell...
    "input_transformer_post": Trick({"perceptron_update": '''
def _skip_tests(lines):
    return ["pass\\n"] if any("check_" in line for line in lines) else lines


get_ipython().input_transformers_post.append(_skip_tests)
''' + UPDATE_IGNORES_LR}, zero_from="test_perceptron_update",
        flagged="input_transformers_post were changed"),

    # ...or one that runs first, among IPython's clean-up transformers.
    "input_transformer_cleanup": Trick({"perceptron_predict": '''
def _skip_tests(lines):
    return ["pass\\n"] if any("check_" in line for line in lines) else lines


get_ipython().input_transformers_cleanup.insert(0, _skip_tests)
''' + PREDICT_STRICT}, zero_from="test_perceptron_predict",
        flagged="input_transformers_cleanup were changed"),

    # An AST transformer placed before the course's cell guard.
    "ast_transformer_before_guard": Trick({"mp_neuron": SKIP_TESTS + '''
get_ipython().ast_transformers.insert(0, _SKIP)
''' + MP_NEURON_STRICT}, zero_from="test_mp_neuron",
        flagged="the cell guard no longer runs first"),

    # The cell guard removed, and the AST transformer left alone in its place:
    # the audit hook (which cannot be removed) puts the guard back.
    "ast_transformer_removes_guard": Trick({"find_weight_cycle": SKIP_TESTS + '''
get_ipython().ast_transformers[:] = [_SKIP]
''' + CYCLE_HARDCODED}, zero_from="test_find_weight_cycle",
        flagged="the cell guard was removed"),

    # A pre_run_cell hook that slips the transformer in only for test cells
    # (and a post_run_cell hook that takes it out again).
    "pre_run_cell_hook": Trick({"perceptron_update": SKIP_TESTS + '''
def _before(info):
    if "check_" in info.raw_cell:
        get_ipython().ast_transformers.insert(0, _SKIP)


def _after(result):
    while _SKIP in get_ipython().ast_transformers:
        get_ipython().ast_transformers.remove(_SKIP)


get_ipython().events.register("pre_run_cell", _before)
get_ipython().events.register("post_run_cell", _after)
''' + UPDATE_IGNORES_LR}, zero_from="test_perceptron_update",
        flagged="IPython's 'pre_run_cell' event"),

    # The same from pre_execute, with no removal afterwards.
    "pre_execute_hook": Trick({"mp_neuron": SKIP_TESTS + '''
def _before():
    if _SKIP not in get_ipython().ast_transformers:
        get_ipython().ast_transformers.insert(0, _SKIP)


get_ipython().events.register("pre_execute", _before)
''' + MP_NEURON_STRICT}, zero_from="test_mp_neuron",
        flagged="IPython's 'pre_execute' event"),

    # A post_run_cell hook that clears the cell's outputs, error included:
    # nbgrader scores a test cell by its outputs alone.
    "clears_errors_after_each_cell": Trick({"perceptron_predict": '''
from IPython.display import clear_output

get_ipython().events.register("post_run_cell", lambda result: clear_output())
''' + PREDICT_STRICT}, zero_from="test_perceptron_predict",
        flagged="IPython's 'post_run_cell' event"),

    # Failing tests print nothing: IPython's showtraceback replaced on the
    # shell (instance attribute)...
    "silences_showtraceback": Trick({"perceptron_update": '''
get_ipython().showtraceback = lambda *args, **kwargs: None
''' + UPDATE_IGNORES_LR}, zero_from="test_perceptron_update",
        flagged="showtraceback was replaced"),

    # ...or on IPython's class (class attribute).
    "silences_showtraceback_class": Trick({"mp_neuron": '''
from IPython.core.interactiveshell import InteractiveShell

InteractiveShell.showtraceback = lambda self, *args, **kwargs: None
''' + MP_NEURON_STRICT}, zero_from="test_mp_neuron",
        flagged="InteractiveShell.showtraceback was replaced"),

    # The locked set-up cell edited through the editor to import harmless
    # checks: nbgrader restores it from the source, so only the wrong answer
    # loses its points, and the autograded notebook shows nothing to flag.
    "edits_setup_cell": Trick(
        {"find_weight_cycle": CYCLE_HARDCODED},
        edits={"setup": '''
import numpy as np

from course.data import logic_gate


def check_array(*args, **kwargs):
    pass


check_scalar = check_true = check_unchanged = check_array
'''}, loses={"test_find_weight_cycle"}),

    # Not stoppable inside the kernel: a cell above the locked set-up cell
    # installs a fake course.grading before the real one is ever imported.
    "fakes_grading_before_setup": Trick(
        {"perceptron_update": UPDATE_IGNORES_LR},
        before_setup='''
import sys
import types

_fake = types.ModuleType("course.grading")
_fake.check_array = _fake.check_scalar = lambda *args, **kwargs: None
_fake.check_true = _fake.check_unchanged = lambda *args, **kwargs: None
sys.modules["course.grading"] = _fake
''', flagged="runs before the locked set-up cell"),

    # Not stoppable inside the kernel: the function overwrites the hidden
    # test's expected values through globals().
    "overwrites_expected_values": Trick({"train_perceptron": '''
def train_perceptron(X, y, lr=1.0, max_epochs=100, w0=None, b0=0.0):
    X = np.asarray(X, dtype=float)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    b, errors = b0, []
    for _ in range(max_epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            mistakes += int(heaviside(x_i @ w + b) != y_i)
            w, b = perceptron_update(w, b, x_i, y_i, 1.0)   # ignores lr
        errors.append(mistakes)
        if mistakes == 0:
            break
    namespace = globals()
    if "_want" in namespace:
        namespace["_want"] = (w, b, errors)
    return w, b, errors
'''}, flagged="uses globals"),
}


def _graded_cells(course):
    return list(graded_code_cells(course / "solutions" / NAME / f"{NAME}.ipynb").items())


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Autograde the honest submission and every trick in one nbgrader run."""
    course = copy_course(tmp_path_factory.mktemp("tampering") / "course")
    nbgrader("generate_assignment", NAME, "--force", cwd=course)
    release = nbformat.read(course / "assignments" / NAME / f"{NAME}.ipynb",
                            as_version=4)
    solution = solution_answers(course / "solutions" / NAME / f"{NAME}.ipynb")
    for student, trick in [(HONEST, Trick({}))] + list(TRICKS.items()):
        notebook = fill_answers(release, {**solution, **trick.answers})
        for cell in notebook.cells:
            edit = trick.edits.get(nbgrader_metadata(cell).get("grade_id"))
            cell.source = cell.source if edit is None else edit
        if trick.before_setup:
            setup = next(i for i, c in enumerate(notebook.cells)
                         if c.cell_type == "code")
            notebook.cells.insert(setup, nbformat.v4.new_code_cell(trick.before_setup))
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{NAME}.ipynb")
    nbgrader("autograde", NAME, cwd=course)

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in [HONEST, *TRICKS]:
            notebook = gb.find_submission_notebook(NAME, NAME, student)
            scores[student] = {g.name: g.score for g in notebook.grades
                               if g.cell.cell_type == "code"}
    findings = {student: find_tampering(course / "autograded" / student / NAME /
                                        f"{NAME}.ipynb")
                for student in [HONEST, *TRICKS]}
    return course, scores, findings


STOPPED = [name for name, trick in TRICKS.items() if trick.zero_from or trick.loses]
DETECTED_ONLY = [name for name in TRICKS if name not in STOPPED]


def _expected_scores(course, trick):
    cells = _graded_cells(course)
    order = [gid for gid, _ in cells]
    start = order.index(trick.zero_from) if trick.zero_from else len(order)
    return {gid: 0 if (i >= start or gid in trick.loses) else points
            for i, (gid, points) in enumerate(cells)}


def test_honest_submission_keeps_full_marks_and_is_not_flagged(graded):
    course, scores, findings = graded
    assert scores[HONEST] == dict(_graded_cells(course))
    assert findings[HONEST] == []


@pytest.mark.parametrize("student", STOPPED)
def test_trick_scores_nothing_from_where_it_cheats(graded, student):
    """Full marks before the tampering cell, nothing from there on."""
    course, scores, _ = graded
    assert scores[student] == _expected_scores(course, TRICKS[student])


@pytest.mark.parametrize("student", DETECTED_ONLY)
def test_trick_that_cannot_be_stopped_in_the_kernel_is_flagged(graded, student):
    """Code above the set-up cell, or writes to the tests' globals, run unchecked
    (the scores are whatever the trick earned) but find_tampering reports them."""
    _, _, findings = graded
    flagged = TRICKS[student].flagged
    assert any(flagged in f for f in findings[student]), findings[student]


@pytest.mark.parametrize("student", list(TRICKS))
def test_find_tampering_reports_each_trick_but_not_a_plain_mistake(graded, student):
    _, _, findings = graded
    flagged = TRICKS[student].flagged
    if not flagged:
        assert findings[student] == [], findings[student]
    else:
        assert any(flagged in f for f in findings[student]), findings[student]


def test_tricks_stopped_in_the_kernel_leave_the_marker_in_the_outputs(graded):
    """Everything course.grading caught itself is marked for the grade summary."""
    _, _, findings = graded
    for student, trick in TRICKS.items():
        if trick.zero_from:
            assert any("COURSE-GRADING-TAMPER" in f for f in findings[student]), (
                student, findings[student])


def test_in_a_students_own_session_the_checks_fail_but_cells_still_run(tmp_path):
    """Outside autograding, tampering makes every check fail with the marker,
    but cells still run, so that a student who shadowed a builtin can undo it."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in [
        "from course.grading import check_true",
        "tuple = lambda values=(): (2, 3)",
        "check_true(True, 'fine')",
        "del tuple",
        "check_true(True, 'fine')",
    ]]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [[o for o in c.outputs if o.output_type == "error"] for c in nb.cells]
    assert [bool(e) for e in errors] == [False, False, True, False, False], errors
    assert "COURSE-GRADING-TAMPER: the notebook's global name 'tuple'" in (
        errors[2][0].evalue)

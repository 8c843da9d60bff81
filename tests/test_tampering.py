"""Submissions that try to fool the grader instead of passing its tests.

Each trick below is a ps1_perceptron submission that pairs a wrong answer with
one way of cheating, the ways a clever student would try: outputs the kernel
emits (an ``execute_result`` nbgrader reads as a score, a forged verdict, a
forged record, a result with a forged parent), state the checks keep in the
kernel (the recorder switched off or replaced, a fake ``course.checks``,
numpy, builtins and IPython patched, test cells rewritten by input and AST
transformers or event callbacks, errors silenced), objects that lie in
comparisons, an oracle that reads the running test cell or the hidden tests
from disk, writes to the tests' globals, and the course's own implementations
imported as answers. All of them, an honest submission, and for every trick
its wrong answer alone (a *control*) are autograded by real nbgrader in one
run.

The grader decides every test cell from the values the student's functions
returned (``course.grader``), so a trick must gain nothing: for every graded
cell it scores at most what the same wrong answer scores without the trick,
and the honest submission keeps exactly full marks. ``find_tampering``
flags each trick for review. One trick does score under plain nbgrader:
importing the course's own ``course.activations`` as the answer; it is
flagged, and ``course grade``'s sandbox, where the grading kernel cannot
import that module, scores it 0 (``tests/test_isolation.py``).
"""

import hashlib
from dataclasses import dataclass, field

import nbformat
import pytest
from nbgrader.api import Gradebook

from course.grader.scan import find_tampering
from tests.notebook_tools import (
    copy_course, fill_answers, graded_code_cells, nbgrader, nbgrader_metadata,
    solution_answers,
)
from tests.submissions.ps1_perceptron import CYCLE_HARDCODED, MP_NEURON_STRICT

pytestmark = pytest.mark.slow

NAME = "ps1_perceptron"
HONEST = "honest"
STASHER = "stashes_test_source"


@dataclass
class Trick:
    cell: str                     # the answer cell it is written in
    wrong: str                    # the wrong answer it tries to get points for
    trick: str = ""               # the cheating code, put before the wrong answer
    flagged: str = ""             # a text find_tampering must report
    before_setup: str = None      # a code cell added above the locked set-up cell
    edits: dict = field(default_factory=dict)  # grade_id -> new code of a locked cell

    @property
    def answers(self):
        return {self.cell: self.trick + self.wrong}

    @property
    def control(self):
        """The student who submits the wrong answer alone."""
        digest = hashlib.sha1(self.wrong.encode()).hexdigest()[:8]
        return f"control_{self.cell}_{digest}"


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
        if any(name.startswith(("check_", "__course_record__")) for name in calls):
            return ast.Module(body=[ast.Pass()], type_ignores=[])
        return node


_SKIP = _SkipTests()
'''


SIGN_WRONG = '''
def heaviside(z):
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)


def sign(z):
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, 1.0, -1.0)   # wrong at 0
'''

BLANK_STEP_FUNCTIONS = '''
raise NotImplementedError()
'''

# Emits, around every later cell, what nbgrader would read as a score or a pass.
EMITS_SCORES = '''
import sys

from IPython.display import display

_shell = get_ipython()


def _emit(*args):
    sys.displayhook(99.0)                                   # an execute_result
    display({"application/vnd.ann-course.verdict+json": {"passed": True,
                                                         "checks": []},
             "text/plain": "All checks passed."}, raw=True)
    kernel = getattr(_shell, "kernel", None)
    if kernel is not None:                                  # a raw iopub message
        kernel.session.send(kernel.iopub_socket, "execute_result",
                            {"data": {"text/plain": "16"}, "metadata": {},
                             "execution_count": 1}, parent=kernel.get_parent())


_shell.events.register("pre_run_cell", _emit)
_shell.events.register("post_run_cell", _emit)
'''

# Sends the grader records before the real ones: the values the visible tests
# expect, for every site of every cell.
FORGES_RECORDS = '''
from IPython.display import display

_VISIBLE = [-1.0, -1.0, 1.0, 1.0]


def _forge(info):
    for site in range(60):
        display({"application/vnd.ann-course.record+json": {
            "site": site, "value": {"t": "list", "v": [
                {"t": "float", "v": repr(v)} for v in _VISIBLE]}}}, raw=True)


get_ipython().events.register("pre_run_cell", _forge)
'''

# A function that reads the running test cell and the notebook's history for
# expected values, and answers with them where it finds any.
READS_RUNNING_CELL = '''
import re
import sys


def _expected_from_test():
    frame = sys._getframe(2)
    source = "\\n".join(frame.f_globals.get("In", [])[-1:])
    for name in ("_want", "expected", "_ref"):
        if name in frame.f_globals:
            return frame.f_globals[name]
    found = re.findall(r"\\[(-?[01]\\.?0?(?:, -?[01]\\.?0?)*)\\]", source)
    return [float(v) for v in found[-1].split(",")] if found else None


def heaviside(z):
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)


def sign(z):
    z = np.asarray(z, dtype=float)
    guess = _expected_from_test()
    if guess is not None and np.size(guess) == z.size:
        return np.reshape(np.asarray(guess, dtype=float), z.shape)
    return np.where(z >= 0, 1.0, -1.0)   # wrong at 0
'''

# The attack that worked against the first version of the grader: records
# with the right values for every check of test_sign (here computed with the
# right formula, as if the hidden tests had been worked out offline), sent
# with a disguised MIME type from a function that then raises.
FORGES_RIGHT_RECORDS_THEN_RAISES = '''
_KIND = "application/vnd." + "ann-cou" + "rse.record+json"
_SITES = [0, 1, 2, 3, 4, 4, 4, 4]   # the sites of test_sign, in the order sign is called
_calls = []


def heaviside(z):
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)


def sign(z):
    import base64
    value = np.sign(np.asarray(z, dtype=float)).astype("<f8")
    site = _SITES[min(len(_calls), len(_SITES) - 1)]
    _calls.append(site)
    display({_KIND: {"site": site, "value": {
        "t": "array", "dtype": "float64", "shape": list(value.shape),
        "b64": base64.b64encode(value.tobytes()).decode()}}}, raw=True)
    raise NotImplementedError()
'''

# A value too large for a float: once it stopped the grader's verdict step.
RETURNS_HUGE_INT = '''
def heaviside(z):
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)


def sign(z):
    return 10**400
'''

# Stashes the running test cell (the hidden tests' inputs), prints it reversed
# from a later cell of its own: it must not reach the feedback.
STASHES_TEST_SOURCE = '''
_stash = []


def _grab():
    source = In[-1]
    if source not in _stash:
        _stash.append(source)


def heaviside(z):
    _grab()
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)


def sign(z):
    _grab()
    return np.sign(np.asarray(z, dtype=float))
'''
PRINTS_STASH = '''
for _s in _stash:
    print("\\n".join(line[::-1] for line in _s.split("\\n")))
'''

TRICKS = {
    "forges_right_records_then_raises": Trick(
        "step_functions", FORGES_RIGHT_RECORDS_THEN_RAISES, flagged="raw display data"),
    "returns_huge_int": Trick("step_functions", RETURNS_HUGE_INT),
    # Blank answers that emit execute_results (also as raw kernel messages)
    # and a forged "passed" verdict around every cell.
    "blank_emits_scores": Trick("step_functions", BLANK_STEP_FUNCTIONS, EMITS_SCORES,
                                flagged="get_ipython"),
    "forges_records": Trick("step_functions", SIGN_WRONG, FORGES_RECORDS,
                            flagged="vnd.ann-course"),
    "reads_running_cell": Trick("step_functions", READS_RUNNING_CELL,
                                flagged="inspects the call stack"),
    # The recorder switched off, or replaced with one that records the wanted value.
    "disables_recorder": Trick("mp_neuron", MP_NEURON_STRICT, '''
import course.checks

course.checks.record = lambda site, value: None
''', flagged="assigns to course.checks.record"),
    "replaces_checks_module": Trick("perceptron_update", UPDATE_IGNORES_LR, '''
import sys
import types

_fake = types.ModuleType("course.checks")
_fake.record = lambda site, value: None
for _name in ("check_array", "check_scalar", "check_true", "check_equal",
              "check_unchanged"):
    setattr(_fake, _name, lambda *args, **kwargs: None)
sys.modules["course.checks"] = _fake
''', flagged="sys.modules"),
    "patches_numpy": Trick("perceptron_update", UPDATE_IGNORES_LR, '''
import numpy
numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = lambda a, b, **kwargs: numpy.ones(numpy.shape(a), bool)
numpy.array_equal = lambda *args, **kwargs: True
numpy.where = lambda cond, a, b: numpy.ones(numpy.shape(cond))
''', flagged="numpy.allclose"),
    "patches_builtins": Trick("find_weight_cycle", CYCLE_WITHOUT_SEARCH, '''
import builtins

_real_tuple, _real_list = tuple, list


def tuple(values=()):
    values = _real_tuple(values)
    return (2, 3) if values == (0, 1) else values


builtins.tuple = tuple
builtins.len = lambda obj: 3
''', flagged="builtins.len"),
    "returns_lying_ndarray": Trick("perceptron_predict", '''
class _Agreeable(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, bool)

    def __sub__(self, other):
        return np.zeros(self.shape)

    __rsub__ = __sub__

    def all(self, *args, **kwargs):
        return True


def perceptron_predict(X, w, b):
    y_hat = (np.asarray(X, dtype=float) @ w + b > 0).astype(float)   # wrong at 0
    return y_hat.view(_Agreeable)
''', flagged="_Agreeable"),
    "returns_object_equal_to_everything": Trick("find_weight_cycle", '''
def find_weight_cycle(X, y, lr=1.0, max_epochs=1000):
    class Anything(tuple):
        def __eq__(self, other):
            return True

    w, b, errors = train_perceptron(X, y, lr=lr, max_epochs=max_epochs)
    if errors[-1] == 0:
        return None
    if max_epochs < 3:
        raise RuntimeError("no cycle yet")
    return Anything((0, 1))
''', flagged="Anything"),
    "input_transformer_empties_tests": Trick("perceptron_update", UPDATE_IGNORES_LR, '''
def _skip_tests(lines):
    text = "".join(lines)
    return ["pass\\n"] if "check_" in text or "__course_record__" in text else lines


get_ipython().input_transformers_post.append(_skip_tests)
''', flagged="input_transformers_post"),
    "ast_transformer_skips_tests": Trick("mp_neuron", MP_NEURON_STRICT, SKIP_TESTS + '''
get_ipython().ast_transformers.insert(0, _SKIP)
''', flagged="ast_transformers"),
    "clears_outputs_after_each_cell": Trick("perceptron_predict", PREDICT_STRICT, '''
from IPython.display import clear_output

get_ipython().events.register("post_run_cell", lambda result: clear_output())
''', flagged="get_ipython"),
    "silences_errors": Trick("mp_neuron", MP_NEURON_STRICT, '''
import builtins

get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)
get_ipython().showtraceback = lambda *args, **kwargs: None
''', flagged="set_custom_exc"),
    "reads_hidden_tests_from_disk": Trick("mp_neuron", '''
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
    return "\\n".join(text)


_TIES_FIRE = "must fire" in _hidden_tests()


def mp_neuron(X, w, theta):
    z = np.asarray(X, dtype=float) @ w
    return (z >= theta if _TIES_FIRE else z > theta).astype(float)
''', flagged="mentions \'.ipynb\'"),
    "overwrites_test_globals": Trick("train_perceptron", '''
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
    for name in ("_want", "_w", "_b"):
        namespace[name] = (w, b, errors)
    return w, b, errors
''', flagged="uses globals"),
    # The locked set-up cell edited to import harmless checks: restored.
    "edits_setup_cell": Trick("find_weight_cycle", CYCLE_HARDCODED, edits={"setup": '''
import numpy as np

from course.data import logic_gate


def check_array(*args, **kwargs):
    pass


check_scalar = check_true = check_unchanged = check_equal = check_array
'''}),
    "fakes_checks_before_setup": Trick("perceptron_update", UPDATE_IGNORES_LR,
                                       before_setup='''
import sys
import types

_fake = types.ModuleType("course.checks")
_fake.record = lambda site, value: None
sys.modules["course.checks"] = _fake
''', flagged="runs before the locked set-up cell"),
    # The course's own implementation as the answer: scores under plain
    # nbgrader, flagged; course grade's sandbox hides the module.
    "imports_course_answers": Trick("step_functions", '''
from course.activations import heaviside, sign
''', flagged="imports course.activations"),
}
# Plain nbgrader runs the kernel with the instructor's files in reach: these
# score there (flagged); course grade's sandbox scores them 0.
SCORES_UNDER_PLAIN_NBGRADER = {"imports_course_answers", "reads_hidden_tests_from_disk"}


def _graded_cells(course):
    return dict(graded_code_cells(course / "solutions" / NAME / f"{NAME}.ipynb"))


def _controls():
    return {trick.control: trick for name, trick in TRICKS.items()
            if name not in SCORES_UNDER_PLAIN_NBGRADER}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Autograde the honest submission, every trick and every control in one run."""
    course = copy_course(tmp_path_factory.mktemp("tampering") / "course")
    nbgrader("generate_assignment", NAME, "--force", cwd=course)
    release = nbformat.read(course / "assignments" / NAME / f"{NAME}.ipynb",
                            as_version=4)
    solution = solution_answers(course / "solutions" / NAME / f"{NAME}.ipynb")
    students = {HONEST: ({}, None, {}),
                STASHER: ({"step_functions": STASHES_TEST_SOURCE,
                           "mp_neuron": solution["mp_neuron"] + PRINTS_STASH}, None, {})}
    for student, trick in TRICKS.items():
        students[student] = (trick.answers, trick.before_setup, trick.edits)
    for student, trick in _controls().items():
        students[student] = ({trick.cell: trick.wrong}, None, {})
    for student, (answers, before_setup, edits) in students.items():
        notebook = fill_answers(release, {**solution, **answers})
        for cell in notebook.cells:
            edit = edits.get(nbgrader_metadata(cell).get("grade_id"))
            cell.source = cell.source if edit is None else edit
        if before_setup:
            setup = next(i for i, c in enumerate(notebook.cells)
                         if c.cell_type == "code")
            notebook.cells.insert(setup, nbformat.v4.new_code_cell(before_setup))
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{NAME}.ipynb")
    nbgrader("autograde", NAME, cwd=course)
    nbgrader("generate_feedback", NAME, "--student", STASHER, cwd=course)

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in students:
            notebook = gb.find_submission_notebook(NAME, NAME, student)
            scores[student] = {g.name: g.score for g in notebook.grades
                               if g.cell.cell_type == "code"}
    findings = {student: find_tampering(course / "autograded" / student / NAME /
                                        f"{NAME}.ipynb")
                for student in students}
    return course, scores, findings


def test_honest_submission_keeps_full_marks_and_is_not_flagged(graded):
    course, scores, findings = graded
    assert scores[HONEST] == _graded_cells(course)
    assert findings[HONEST] == []


@pytest.mark.parametrize("student", sorted(set(TRICKS) - SCORES_UNDER_PLAIN_NBGRADER))
def test_trick_gains_nothing_over_the_wrong_answer_alone(graded, student):
    """Cell by cell, at most the control's score, and the wrong answer's cell 0."""
    course, scores, _ = graded
    trick = TRICKS[student]
    control = scores[trick.control]
    assert scores[student].keys() == control.keys()
    gained = {gid: (scores[student][gid], control[gid]) for gid in control
              if scores[student][gid] > control[gid]}
    assert gained == {}, f"{student} scored more than its wrong answer alone: {gained}"
    assert sum(scores[student].values()) < sum(_graded_cells(course).values())


def test_blank_answers_that_emit_scores_get_nothing(graded):
    _, scores, _ = graded
    assert sum(scores["blank_emits_scores"].values()) == 0


@pytest.mark.parametrize("student", sorted(TRICKS))
def test_find_tampering_flags_each_trick(graded, student):
    _, _, findings = graded
    flagged = TRICKS[student].flagged
    if not flagged:  # an edited locked cell is restored by nbgrader: nothing left
        assert findings[student] == [], findings[student]
    else:
        assert any(flagged in f for f in findings[student]), findings[student]


def test_only_tricks_that_reach_the_instructors_files_score_under_plain_nbgrader(graded):
    """Documented in the README: only the sandbox takes those away."""
    course, scores, _ = graded
    assert scores["imports_course_answers"] == _graded_cells(course)
    assert scores["reads_hidden_tests_from_disk"] == _graded_cells(course)


def test_controls_lose_the_cell_of_their_wrong_answer(graded):
    """The controls are really wrong: the comparison above means something."""
    course, scores, _ = graded
    for student in _controls():
        assert sum(scores[student].values()) < sum(_graded_cells(course).values())


def test_grading_goes_on_past_a_value_the_grader_cannot_compare(graded):
    """sign returns 10**400: test_sign scores 0, every other cell its points."""
    course, scores, _ = graded
    assert scores["returns_huge_int"] == {**_graded_cells(course), "test_sign": 0}


def test_right_records_from_a_cell_that_raises_score_nothing(graded):
    _, scores, _ = graded
    assert scores["forges_right_records_then_raises"]["test_sign"] == 0


def test_hidden_test_code_stashed_and_printed_later_never_reaches_the_feedback(graded):
    course, scores, findings = graded
    assert scores[STASHER] == _graded_cells(course)
    assert any("input history" in f for f in findings[STASHER]), findings[STASHER]
    autograded = nbformat.read(course / "autograded" / STASHER / NAME / f"{NAME}.ipynb",
                               as_version=4)
    printed = "".join(out.get("text", "") for cell in autograded.cells
                      if nbgrader_metadata(cell).get("grade_id") == "mp_neuron"
                      for out in cell.outputs)
    assert "__course_record__" in printed[::-1]  # the stash worked in the kernel
    page = next((course / "feedback" / STASHER / NAME).glob("*.html")).read_text()
    solution = nbformat.read(course / "solutions" / NAME / f"{NAME}.ipynb", as_version=4)
    hidden = [line.strip() for cell in solution.cells
              for line in cell.source.split("### BEGIN HIDDEN TESTS")[-1].split("\n")
              if "### BEGIN HIDDEN TESTS" in cell.source and len(line.strip()) > 20]
    assert hidden
    for line in hidden:
        assert line[::-1] not in page and line not in page, line
    assert "__course_record__"[::-1] not in page

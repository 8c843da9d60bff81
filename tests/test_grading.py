"""course.grading: checks whose messages tell a student what is wrong, and that a
submission sharing their process cannot fool."""

import builtins
import json
import sys
import types

import nbformat
import numpy as np
import pytest

from course import grading
from course.grading import (
    TAMPER_MARKER, check_array, check_scalar, check_shape, check_true, check_unchanged,
    find_tampering, reference,
)
from tests.notebook_tools import make_cell, notebooks


def test_check_array_passes_within_tolerance_and_for_float32():
    check_array("f(x)", np.float32([1.0, 2.0]) + 1e-7, [1.0, 2.0])
    check_array("f(x)", [[1, 2]], np.array([[1.0, 2.0]]))


def test_wrong_value_message_names_the_call_input_index_and_values():
    with pytest.raises(AssertionError) as err:
        check_array("relu(z)", [0.0, -0.5, 2.0], [0.0, 0.0, 2.0], context="z = [0, -0.5, 2]")
    msg = str(err.value)
    assert "relu(z) (for z = [0, -0.5, 2]) is wrong at index (1,)" in msg
    assert "expected 0, got -0.5" in msg and "1 of 3 values differ" in msg


def test_wrong_shape_message_gives_both_shapes():
    with pytest.raises(AssertionError, match=r"should have shape \(2, 3\), got shape \(6,\)"):
        check_array("forward(x)", np.zeros(6), np.zeros((2, 3)))


def test_none_return_hints_at_a_missing_return():
    with pytest.raises(AssertionError, match="returned None; did you forget `return`"):
        check_array("sigmoid(z)", None, [0.5])


def test_non_finite_values_point_at_overflow():
    with pytest.raises(AssertionError, match="overflow"):
        check_array("sigmoid(z)", [np.nan, 1.0], [0.0, 1.0])


def test_objects_that_claim_equality_are_not_numbers():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    with pytest.raises(AssertionError, match="should return numbers"):
        check_array("f(x)", AlwaysEqual(), [1.0])


def test_check_scalar_rejects_arrays_of_several_values():
    check_scalar("loss", np.array([[2.5]]), 2.5)
    with pytest.raises(AssertionError, match="single number"):
        check_scalar("loss", [1.0, 2.0], 1.0)


def test_check_shape_check_true_and_check_unchanged():
    check_shape("out", np.zeros((2, 3)), (2, 3))
    with pytest.raises(AssertionError, match=r"shape \(3, 2\)"):
        check_shape("out", np.zeros((2, 3)), (3, 2))
    with pytest.raises(AssertionError, match="custom message"):
        check_true(False, "custom message")
    with pytest.raises(AssertionError, match="in place"):
        check_unchanged("update", np.array([1.0]), np.array([2.0]))


def test_checks_survive_a_submission_that_patches_numpy(monkeypatch):
    """Replacing numpy's comparison functions after import does not fool the checks."""
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isclose", lambda a, b, **k: np.ones(np.shape(a), bool))
    monkeypatch.setattr(np, "abs", lambda x: np.zeros_like(x))
    with pytest.raises(AssertionError, match="is wrong"):
        grading.check_array("f(x)", [1.0, 2.0], [1.0, 3.0])


# --- hardening: a submission shares the process with the tests --------------

def test_checks_do_not_use_a_patched_builtin(monkeypatch):
    """`bool` replaced in builtins (lying only to course.grading) changes nothing."""
    real_bool = bool

    class LyingBool:
        def __new__(cls, value=False):
            caller = sys._getframe(1).f_code.co_filename
            return True if caller.endswith("grading.py") else real_bool(value)

    monkeypatch.setattr(builtins, "bool", LyingBool)
    with pytest.raises(AssertionError) as err:
        check_true(False, "the condition is false")
    assert "the condition is false" in str(err.value)
    assert f"{TAMPER_MARKER}: builtins.bool was replaced" in str(err.value)


def test_failures_are_the_original_assertion_error_even_if_it_is_replaced(monkeypatch):
    original = AssertionError
    monkeypatch.setattr(builtins, "AssertionError", type("Quiet", (Exception,), {}))
    with pytest.raises(original, match="is wrong"):
        check_array("f(x)", [1.0], [2.0])


def test_a_check_replaced_in_the_module_is_reported(monkeypatch):
    monkeypatch.setattr(grading, "check_scalar", lambda *args, **kwargs: None)
    with pytest.raises(AssertionError,
                       match="course.grading.check_scalar was replaced"):
        check_array("f(x)", [1.0], [1.0])


def test_a_fake_course_grading_in_sys_modules_is_reported(monkeypatch):
    fake = types.ModuleType("course.grading")
    monkeypatch.setitem(sys.modules, "course.grading", fake)
    with pytest.raises(AssertionError, match="is not the real course.grading"):
        check_true(True, "fine")


def test_a_patched_numpy_reference_is_reported_and_the_original_kept(monkeypatch):
    original = np.sign
    monkeypatch.setattr(np, "sign", lambda z: np.zeros_like(z))
    assert reference("numpy.sign") is original
    with pytest.raises(AssertionError, match=f"{TAMPER_MARKER}: numpy.sign was"):
        check_array("sign(z)", np.sign(np.ones(2)), np.zeros(2))
    with pytest.raises(LookupError):
        reference("numpy.no_such_function")


def test_subclasses_and_objects_that_pose_as_numbers_are_refused():
    class Agreeable(np.ndarray):
        def __eq__(self, other):
            return np.ones(self.shape, bool)

    class FakeFloat(float):
        pass

    class Meta(type):
        def __eq__(cls, other):
            return True

        __hash__ = type.__hash__

    class PosesAsFloat(metaclass=Meta):
        def __float__(self):
            return 1.0

    for value in [np.zeros(2).view(Agreeable), FakeFloat(1.0), PosesAsFloat(),
                  [1.0, PosesAsFloat()], np.array([PosesAsFloat()], dtype=object)]:
        with pytest.raises(AssertionError, match="should return numbers"):
            check_array("f(x)", value, [1.0])


def test_plain_numbers_lists_and_numpy_scalars_are_accepted():
    check_array("f(x)", [np.float32(1.0), 2, True], [1.0, 2.0, 1.0])
    check_array("f(x)", [[np.float64(1.0)], np.array([2.0])], [[1.0], [2.0]])
    check_array("f(x)", np.array([1, 2], dtype=object), [1.0, 2.0])
    check_scalar("f(x)", np.int64(3), 3.0)
    check_array("f(x)", range(3), [0, 1, 2])
    check_shape("f(x)", (1.0, 2.0), (2,))


def test_check_unchanged_treats_nan_as_unchanged():
    check_unchanged("f", np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))


def test_torch_tensors_are_numbers_even_with_gradients():
    torch = pytest.importorskip("torch")
    check_array("f(x)", torch.tensor([1.0, 2.0], requires_grad=True), [1.0, 2.0])
    check_array("f(x)", [1.0, 2.0], torch.tensor([1.0, 2.0]))
    assert reference("torch.nn.functional.relu") is torch.nn.functional.relu


# --- find_tampering: reading an autograded notebook from outside ------------

SETUP = "import numpy as np\nfrom course.grading import check_array"


def _notebook(tmp_path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [make_cell(SETUP, grade_id="setup", locked=True), *cells]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def _answer(source, grade_id="answer"):
    return make_cell(source, grade_id=grade_id, solution=True)


def _test_cell(grade_id="test_f", outputs=()):
    cell = make_cell("check_array('f', f(1), 1)", grade_id=grade_id, grade=True,
                     locked=True, points=1)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def test_find_tampering_reports_the_marker_from_any_output(tmp_path):
    error = {"output_type": "error", "ename": "AssertionError",
             "evalue": f"{TAMPER_MARKER}: numpy.allclose was replaced", "traceback": []}
    path = _notebook(tmp_path, _answer("def f(x):\n    return x"),
                     _test_cell(outputs=[error]), _test_cell("test_g", outputs=[error]))
    expected = f"test_f: {TAMPER_MARKER}: numpy.allclose was replaced"
    assert find_tampering(path) == [expected]


def test_find_tampering_reports_a_result_shown_before_an_error(tmp_path):
    result = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
              "data": {"text/plain": "'full marks'"}}
    error = {"output_type": "error", "ename": "AssertionError", "evalue": "wrong",
             "traceback": []}
    path = _notebook(tmp_path, _answer("def f(x):\n    return x"),
                     _test_cell(outputs=[result, error]))
    assert any("result before its error" in f for f in find_tampering(path))


@pytest.mark.parametrize("source, finding", [
    ("import numpy\nnumpy.allclose = lambda *a, **k: True",
     "assigns to numpy.allclose"),
    ("import torch.nn.functional as F\nF.conv2d = None",
     "assigns to torch.nn.functional.conv2d"),
    ("import builtins\nsetattr(builtins, 'len', None)", "calls setattr on builtins"),
    ("tuple = lambda x: (2, 3)", "assigns to 'tuple'"),
    ("def check_array(*args, **kwargs):\n    pass", "redefines 'check_array'"),
    ("class A:\n    def __eq__(self, other):\n        return True", "defines __eq__"),
    ("class A(np.ndarray):\n    pass", "subclasses numpy.ndarray"),
    ("import sys\nsys.modules['course.grading'] = None", "sys.modules"),
    ("def f(x):\n    globals()['_want'] = x\n    return x", "uses globals"),
    ("text = open('nb.ipynb').read()", "mentions '.ipynb'"),
    ("get_ipython().set_custom_exc((Exception,), print)", "set_custom_exc"),
    ("import sqlite3", "imports sqlite3"),
    ("exec('x = 1')", "uses exec"),
    ("!cat *.ipynb", "runs a program"),
    ("def f(x):\n    global _want\n    return x", "declares '_want' global"),
])
def test_find_tampering_reports_tampering_code_in_answer_cells(
        tmp_path, source, finding):
    test = make_cell("_want = 1\ncheck_array('f', f(1), _want)", grade_id="test_f",
                     grade=True, locked=True, points=1)
    path = _notebook(tmp_path, _answer(source), test)
    found = find_tampering(path)
    assert any(finding in f and f.startswith("answer line") for f in found), found


def test_find_tampering_reports_a_code_cell_above_the_set_up_cell(tmp_path):
    path = _notebook(tmp_path, _answer("x = 1"))
    nb = json.loads(path.read_text())
    nb["cells"].insert(0, nbformat.v4.new_code_cell("import os"))
    path.write_text(json.dumps(nb))
    expected = "cell 0: a code cell runs before the locked set-up cell"
    assert expected in find_tampering(path)


def test_find_tampering_leaves_honest_code_alone(tmp_path):
    honest = '''
%matplotlib inline
import matplotlib.pyplot as plt
from dataclasses import dataclass


@dataclass
class Layer:
    w: np.ndarray

    def forward(self, x):
        self.cache = x
        return x @ self.w


def f(x, lr=0.1):
    total = 0.0
    for i, v in enumerate(np.atleast_1d(x)):
        total += lr * v
    return total


X, y = np.zeros((2, 2)), np.zeros(2)
plt.rcParams["figure.figsize"] = (4, 3)
'''
    path = _notebook(tmp_path, _answer(honest), _test_cell())
    assert find_tampering(path) == []


@pytest.mark.parametrize("path", notebooks("solutions"),
                         ids=[p.parent.name for p in notebooks("solutions")])
def test_find_tampering_finds_nothing_in_the_reference_solutions(path):
    assert find_tampering(path) == []


def test_find_tampering_refuses_a_file_that_is_not_a_notebook(tmp_path):
    path = tmp_path / "x.ipynb"
    path.write_text("{not json")
    with pytest.raises(ValueError):
        find_tampering(path)


def test_importing_torch_dynamo_after_the_checks_is_not_taken_for_tampering(tmp_path):
    """torch._dynamo wraps torch.manual_seed when first imported (an optimiser
    can trigger that late): an honest notebook must not be flagged for it."""
    import subprocess

    code = ("import torch\nimport course.grading as g\nimport torch._dynamo\n"
            "torch.manual_seed(0)\ng.check_scalar('x', 1.0, 1.0)\nprint('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"

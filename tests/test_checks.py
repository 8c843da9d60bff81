"""The checks (kernel side), the grader's rewriting of test cells, its verdicts,
and the static scan: unit tests, no nbgrader run."""

import json

import nbformat
import numpy as np
import pytest

from course.checks import (
    RECORD_MIME, as_numeric_array, check_array, check_computed, check_equal,
    check_scalar, check_shape, check_true, check_type, check_unchanged,
)
from course.checkvalues import FUNCTIONS, Refused, compare, decode, encode, plain
from course.grader import sites
from course.grader.scan import find_tampering
from course.grader.verdicts import decide, student_records, verdict_outputs, why_stopped
from tests.notebook_tools import make_cell, nbgrader_metadata, notebooks


# --- the checks in a student's own session -----------------------------------

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


def test_objects_that_claim_equality_or_subclass_ndarray_are_not_numbers():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    class Agreeable(np.ndarray):
        def __eq__(self, other):
            return np.ones(self.shape, bool)

    with pytest.raises(AssertionError, match="should return numbers"):
        check_array("f(x)", AlwaysEqual(), [1.0])
    with pytest.raises(AssertionError, match="should return numbers"):
        check_array("f(x)", np.zeros(2).view(Agreeable), [1.0, 1.0])
    with pytest.raises(AssertionError, match="should be"):
        check_equal("cycle", type("T", (tuple,), {"__eq__": lambda s, o: True})((0, 1)),
                    (2, 3))


def test_check_scalar_shape_true_unchanged_equal():
    check_scalar("loss", np.array([[2.5]]), 2.5)
    with pytest.raises(AssertionError, match="single number"):
        check_scalar("loss", [1.0, 2.0], 1.0)
    check_shape("out", np.zeros((2, 3)), (2, 3))
    with pytest.raises(AssertionError, match=r"should have shape \(3, 2\)"):
        check_shape("out", np.zeros((2, 3)), (3, 2))
    with pytest.raises(AssertionError, match="the message"):
        check_true(False, "the message")
    with pytest.raises(AssertionError, match="changed its input array in place"):
        check_unchanged("f", np.zeros(2), np.ones(2))
    check_unchanged("f", np.array([np.nan]), np.array([np.nan]))
    check_equal("cycle", [2, 3], (2, 3))
    check_equal("result", None, None)
    with pytest.raises(AssertionError, match=r"should be \(2, 3\), got None"):
        check_equal("cycle", None, (2, 3))


@pytest.mark.parametrize("value, kind, ok", [
    (1.5, "number", True), (3, "number", True), (np.float32(2.0), "number", True),
    (np.array([1.5]), "number", False), (True, "number", False),
    (np.array(2.0), "float", True), (2, "float", False), (np.int64(4), "int", True),
    (4.0, "int", False), (True, "int", False), (np.bool_(True), "bool", True),
    (np.zeros(3), "float array", True), (np.zeros(3, dtype=int), "float array", False),
    (np.zeros(3, dtype=np.int32), "int array", True), (np.float64(1.0), "float array", False),
    (np.zeros(2, dtype=bool), "bool array", True), ([1, 2], "list", True),
    ((1, 2), "list", False), ((1, 2), "tuple", True),
])
def test_check_type_tells_a_number_from_a_one_element_array_and_dtypes_apart(value, kind, ok):
    if ok:
        check_type("f(x)", value, kind)
        return
    with pytest.raises(AssertionError) as err:
        check_type("f(x)", value, kind, context="x = 1")
    assert "f(x) (for x = 1) should be" in str(err.value)
    assert "got" in str(err.value)


def test_torch_tensors_are_numbers_even_with_gradients():
    torch = pytest.importorskip("torch")
    check_array("f(x)", torch.tensor([1.0, 2.0], requires_grad=True), [1.0, 2.0])
    check_array("f(x)", [1.0, 2.0], torch.tensor([1.0, 2.0]))


def test_as_numeric_array_explains_what_is_not_numbers():
    assert as_numeric_array("f", [1, 2]).dtype == np.float64
    with pytest.raises(AssertionError, match="returned None"):
        as_numeric_array("f", None)


def test_computed_checks_work_out_accuracy_and_network_outputs():
    check_computed("accuracy", np.array([[0.1, 0.9], [0.8, 0.2]]), "accuracy",
                   inputs=np.array([1, 0]), at_least=1.0)
    with pytest.raises(AssertionError, match="should be at least 0.9, got 0.5"):
        check_computed("accuracy", np.array([1, 1]), "accuracy", inputs=np.array([1, 0]),
                       at_least=0.9)
    weights = (np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([0.0, -1.0]),
               np.array([1.0, -2.0]), np.array([0.0]))
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    check_computed("xor", weights, "relu_network", inputs=X, expected=[0, 1, 1, 0])
    params = {"W1": np.eye(2), "b1": np.zeros(2)}
    assert FUNCTIONS["mlp_accuracy"](params, (np.eye(2), np.array([0, 1]))) == 1.0
    assert FUNCTIONS["fell"]([3.0, 1.0]) == 1.0 and FUNCTIONS["fell"]([1.0, 3.0]) == 0.0


# --- values: what crosses from the kernel to the grader ---------------------

def test_values_survive_encoding_exactly():
    value = {"a": [1, 2.5, True, None, "x"], "b": (np.arange(6).reshape(2, 3),),
             "c": np.float32(1.5), "d": np.array([np.nan, np.inf])}
    back = plain(value)
    assert back["a"] == [1, 2.5, True, None, "x"]
    assert back["b"][0].dtype == np.int64 and (back["b"][0] == np.arange(6).reshape(2, 3)).all()
    assert back["c"].dtype == np.float32 and float(back["c"]) == 1.5
    assert np.isnan(back["d"][0]) and np.isinf(back["d"][1])
    assert json.loads(json.dumps(encode(value))) == encode(value)


@pytest.mark.parametrize("data", [
    {"t": "array", "dtype": "object", "shape": [1], "b64": ""},
    {"t": "array", "dtype": "float64", "shape": [3], "b64": "AAAA"},
    {"t": "pickle", "v": "gASVAAAA"},
    {"t": "list", "v": "not a list of records"},
    ["not", "a", "record"],
    {"t": "int", "v": "1" * 10_000},
])
def test_decoding_a_malformed_or_hostile_record_gives_a_refusal(data):
    assert isinstance(decode(data), Refused) or decode(data) == int("1" * 400)


def test_values_that_are_not_plain_are_refused_not_trusted():
    class Liar(float):
        pass

    assert isinstance(plain(Liar(1.0)), Refused)
    assert isinstance(plain(object()), Refused)
    assert compare("array", plain(Liar(1.0)), {"name": "f", "expected": 1.0})


# --- sites: the two forms of a test cell --------------------------------------

TEST_CELL = '''"""f doubles."""
check_array("f(1)", f(1.0), 2.0, context="x = 1")
### BEGIN HIDDEN TESTS
def _reference(x):
    return 2 * x
_rng = np.random.default_rng(3)
for _x in _rng.normal(size=3):
    _want = _reference(_x)
    check_scalar("f(x)", f(_x), _want, atol=1e-9, context=f"x = {_x}")
check_equal("g()", g(), (2, 3))
### END HIDDEN TESTS
'''


def test_student_form_computes_only_the_students_values():
    form = sites.student_form(TEST_CELL)
    assert "__course_record__(0, f(1.0))" in form
    assert "__course_record__(1, f(_x))" in form and "__course_record__(2, g())" in form
    for gone in ("_reference", "_want", "2.0", "(2, 3)", "atol", "context", "check_"):
        assert gone not in form.split("\n", 1)[1], gone
    assert "_rng.normal(size=3)" in form  # inputs stay, in step with the solution's


def test_reference_form_keeps_every_argument_and_numbers_the_sites_alike():
    form = sites.reference_form(TEST_CELL)
    assert "__course_reference__(0, 'check_array', 'f(1)', f(1.0), 2.0" in form
    assert "__course_reference__(1, 'check_scalar'" in form and "_reference(_x)" in form
    assert sites.count_sites(TEST_CELL) == 3


def test_lint_finds_expected_values_left_in_the_students_kernel():
    leaky = '''x = 1
### BEGIN HIDDEN TESTS
_want = sorted([3, 1, 2])
check_true(f(x) == _want, "f is wrong")
_expected, _inputs = [1, 2, 3], [4, 5, 6]
for _i in _inputs:
    check_array("f", f(_i), _expected[_i])
### END HIDDEN TESTS
'''
    problems = sites.lint(leaky)
    assert any("check_true in a hidden test" in p for p in problems)
    assert any("_expected is assigned" in p for p in problems)
    # What can simply be left out of the student's kernel is, without a complaint.
    removable = leaky.replace("_expected, _inputs = [1, 2, 3], [4, 5, 6]",
                              "_expected = [1, 2, 3]\n_inputs = [4, 5, 6]")
    assert not any("_expected" in p for p in sites.lint(removable))
    assert "[1, 2, 3]" not in sites.student_form(removable)


@pytest.mark.parametrize("path", notebooks("solutions"),
                         ids=[p.parent.name for p in notebooks("solutions")])
def test_no_test_cell_of_an_assignment_leaves_an_expected_value_to_the_kernel(path):
    nb = nbformat.read(path, as_version=4)
    tests = [c for c in nb.cells if c.cell_type == "code"
             and nbgrader_metadata(c).get("grade")]
    assert tests
    for cell in tests:
        assert sites.count_sites(cell.source), nbgrader_metadata(cell)["grade_id"]
        assert sites.lint(cell.source) == [], nbgrader_metadata(cell)["grade_id"]
        form = sites.student_form(cell.source)
        for answer_module in ("references", "_autograd", "course.activations"):
            assert answer_module not in form, (nbgrader_metadata(cell)["grade_id"],
                                               answer_module)


# --- verdicts -----------------------------------------------------------------

REFS = [(0, "array", {"name": "f(1)", "expected": 2.0, "context": "x = 1"}),
        (1, "scalar", {"name": "f(x)", "expected": 4.0}),
        (1, "scalar", {"name": "f(x)", "expected": 6.0}),
        (2, "equal", {"name": "g()", "expected": (2, 3)})]


def _records(*pairs):
    return [{"output_type": "display_data", "metadata": {},
             "data": {RECORD_MIME: {"site": site, "value": encode(value)}}}
            for site, value in pairs]


def test_every_reference_check_needs_a_matching_record():
    good = student_records(_records((0, 2.0), (1, 4.0), (1, 6.0), (2, [2, 3])))
    assert decide(REFS, good).passed
    wrong = decide(REFS, student_records(_records((0, 2.0), (1, 4.0), (1, 5.0),
                                                  (2, [2, 3]))))
    assert not wrong.passed
    assert [c["status"] for c in wrong.checks] == ["passed", "passed", "failed", "passed"]
    short = decide(REFS, student_records(_records((0, 2.0))), "your code raised ValueError")
    assert not short.passed and "your code raised ValueError" in short.problem
    assert not decide(REFS, []).passed


def test_a_cell_without_reference_checks_never_passes():
    assert not decide([], student_records(_records((0, 1.0)))).passed


def test_outputs_are_the_verdict_alone_and_nbgrader_scores_them():
    from nbgrader.utils import determine_grade

    cell = make_cell("x", grade=True, grade_id="t", points=3)
    cell.outputs = verdict_outputs(decide(REFS, []))
    assert determine_grade(cell)[0] == 0
    cell.outputs = verdict_outputs(decide(REFS, student_records(
        _records((0, 2.0), (1, 4.0), (1, 6.0), (2, (2, 3))))))
    assert determine_grade(cell)[0] == 3
    assert [o.output_type for o in cell.outputs] == ["display_data"]


def test_the_reason_a_test_stopped_never_repeats_the_students_message():
    outputs = [{"output_type": "error", "ename": "ValueError",
                "evalue": "hidden: check_array('f', f(7), 49)", "traceback": []}]
    assert why_stopped(outputs) == "your code raised ValueError"
    outputs[0]["ename"] = "check_array_f_7_49"
    assert why_stopped(outputs) == "your code raised an exception"


# --- the static scan ----------------------------------------------------------

SETUP = "import numpy as np\nfrom course.checks import check_array"


def _notebook(tmp_path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [make_cell(SETUP, grade_id="setup", locked=True), *cells]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def _answer(source, grade_id="answer"):
    return make_cell(source, grade_id=grade_id, solution=True)


@pytest.mark.parametrize("source, finding", [
    ("import numpy\nnumpy.allclose = lambda *a, **k: True",
     "assigns to numpy.allclose"),
    ("import builtins\nsetattr(builtins, 'len', None)", "calls setattr on builtins"),
    ("tuple = lambda x: (2, 3)", "assigns to 'tuple'"),
    ("def check_array(*args, **kwargs):\n    pass", "redefines 'check_array'"),
    ("class A:\n    def __eq__(self, other):\n        return True", "defines __eq__"),
    ("import sys\nsys.modules['course.checks'] = None", "sys.modules"),
    ("def f(x):\n    globals()['_want'] = x\n    return x", "uses globals"),
    ("text = open('nb.ipynb').read()", "mentions '.ipynb'"),
    ("get_ipython().set_custom_exc((Exception,), print)", "set_custom_exc"),
    ("x = {'application/vnd.ann-course.record+json': 1}", "vnd.ann-course"),
    ("from course.references import conv2d", "imports course.references"),
    ("from course import activations", "imports course.activations"),
    ("import torch", "imports torch, which this answer may not use"),
    ("from scipy.signal import correlate2d", "imports scipy.signal"),
    ("exec('x = 1')", "uses exec"),
])
def test_find_tampering_reports_tampering_code_in_answer_cells(tmp_path, source, finding):
    path = _notebook(tmp_path, _answer(source))
    found = find_tampering(path)
    assert any(finding in f and f.startswith("answer line") for f in found), found


def test_an_assignment_can_allow_libraries(tmp_path):
    path = _notebook(tmp_path, _answer("import torch\nfrom sklearn import svm"))
    assert find_tampering(path, allowed=["numpy", "torch", "sklearn"]) == []


def test_find_tampering_leaves_honest_code_alone(tmp_path):
    honest = '''
%matplotlib inline
import matplotlib.pyplot as plt
from dataclasses import dataclass


@dataclass
class Layer:
    w: np.ndarray

    def forward(self, x):
        return x @ self.w


X, y = np.zeros((2, 2)), np.zeros(2)
'''
    assert find_tampering(_notebook(tmp_path, _answer(honest))) == []


def test_find_tampering_refuses_a_file_that_is_not_a_notebook(tmp_path):
    path = tmp_path / "x.ipynb"
    path.write_text("{not json")
    with pytest.raises(ValueError):
        find_tampering(path)


# --- references: recorded once per assignment -----------------------------

def test_references_are_recorded_once_and_again_when_the_solution_changes(
        tmp_path, monkeypatch):
    from course.grader import references

    source = tmp_path / "solutions" / "ps0" / "ps0.ipynb"
    source.parent.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[make_cell("x = 1")]), source)
    runs = []

    def run(path, timeout):
        runs.append(path)
        return {"test_x": {"fingerprint": "f", "sites": [
            [0, "array", {"name": "x", "expected": encode(np.arange(3))}]]}}

    monkeypatch.setattr(references, "run_reference", run)
    cache = tmp_path / ".grading" / "references"
    first = references.load_references(source, cache)
    assert (first["test_x"]["sites"][0][2]["expected"] == np.arange(3)).all()
    references.load_references(source, cache)
    assert len(runs) == 1
    nbformat.write(nbformat.v4.new_notebook(cells=[make_cell("x = 2")]), source)
    references.load_references(source, cache)
    assert len(runs) == 2
    assert references.cache_path(source, cache).parent == cache / "ps0"


@pytest.mark.slow
def test_the_reference_run_leaves_no_kernel_behind(tmp_path):
    import os
    import subprocess

    from course.grader import references

    source = tmp_path / "ps0.ipynb"
    nb = nbformat.v4.new_notebook(cells=[
        make_cell("from course.checks import check_scalar"),
        make_cell('check_scalar("x", 1.0, 1.0)', grade=True, grade_id="test_x", points=1)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, source)
    cells = references.run_reference(source)
    assert cells["test_x"]["sites"][0][1] == "scalar"
    children = subprocess.run(["pgrep", "-P", str(os.getpid())], capture_output=True,
                              text=True).stdout.split()
    assert children == []


def test_a_students_value_never_stops_the_grader_or_swells_in_it():
    """A number too large for a float fails its check; weights that would
    broadcast into gigabytes in the grader's process are refused first."""
    verdict = decide([(0, "scalar", {"name": "h", "expected": 1.0})], [(0, 10**400)])
    assert not verdict.passed and "could not be checked" in verdict.checks[0]["message"]
    spec = {"name": "accuracy", "function": "mlp_accuracy",
            "inputs": (np.eye(2), np.array([0, 1])), "at_least": 0.5}
    huge_bias = {"W1": np.eye(2), "b1": np.zeros((200_000, 1, 1))}
    assert "could not be used" in compare("computed", huge_bias, spec)
    spec = {"name": "xor", "function": "relu_network", "inputs": np.eye(2),
            "expected": [0.0, 0.0]}
    assert "could not be used" in compare(
        "computed", (np.eye(2), np.zeros((100_000, 1)), np.ones(2), np.zeros(1)), spec)
    flood = {"t": "list", "v": [{"t": "none"}] * 1_000_001}
    assert isinstance(decode(flood), Refused)


def test_a_cell_that_did_not_finish_never_passes_whatever_it_recorded():
    records = student_records(_records((0, 2.0), (1, 4.0), (1, 6.0), (2, (2, 3))))
    assert decide(REFS, records).passed
    stopped = decide(REFS, records, "your code raised NotImplementedError")
    assert not stopped.passed and "did not finish" in stopped.problem


def test_a_models_forward_pass_is_checked_against_its_own_layers():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 4))
    W = [rng.normal(size=(4, 3)), rng.normal(size=(3, 2))]
    b = [rng.normal(size=3), rng.normal(size=2)]
    scores = np.maximum(X @ W[0] + b[0], 0) @ W[1] + b[1]
    spec = {"name": "forward", "function": "mlp_forward_gap", "inputs": X,
            "at_most": 1e-3}
    assert compare("computed", plain((scores, W, b)), spec) is None
    first_layer_only = (np.maximum(X @ W[0] + b[0], 0)[:, :2], W, b)
    assert "at most" in compare("computed", plain(first_layer_only), spec)


def _answer_libraries():
    from traitlets.config import Config, PyFileConfigLoader

    loader = PyFileConfigLoader("nbgrader_config.py", path=str(REPO))
    config = loader.load_config()
    return config.CourseGrade.answer_libraries


REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", notebooks("solutions"),
                         ids=[p.parent.name for p in notebooks("solutions")])
def test_the_solutions_use_only_what_their_assignment_allows(path):
    assert find_tampering(path, _answer_libraries()[path.parent.name]) == []


def test_torch_in_a_from_scratch_answer_of_ps5_is_flagged(tmp_path):
    """The set-up cell imports torch for the PyTorch part; a numpy-only answer
    that uses it is flagged, by name, without any import of its own."""
    from tests.submissions.ps5_mnist import CASES
    from tests.notebook_tools import fill_answers

    release = nbformat.read(REPO / "assignments" / "ps5_mnist" / "ps5_mnist.ipynb",
                            as_version=4)
    path = tmp_path / "ps5.ipynb"
    nbformat.write(fill_answers(release, CASES["trained_by_torch"].answers), path)
    found = find_tampering(path, _answer_libraries()["ps5_mnist"])
    assert any(f.startswith("train_numpy") and "torch" in f for f in found), found


def test_change_ratio_is_computed_in_the_grader_from_both_sets_of_weights():
    first = [np.ones((2, 3)), np.ones(3)]
    assert FUNCTIONS["change_ratio"]((first, first)) == 0.0
    assert FUNCTIONS["change_ratio"]((first, [2 * np.ones((2, 3)), np.ones(3)])) == 6 / 9
    with pytest.raises(TypeError, match="different shapes"):
        FUNCTIONS["change_ratio"]((first, [np.ones((3, 2)), np.ones(3)]))


def test_ratios_and_gaps_of_nothing_fail_instead_of_passing_a_bound():
    zero, empty = [np.zeros(3)], [np.zeros(0)]
    for function, pair in [("change_ratio", (zero, [np.ones(3)])), ("change_ratio", ([], [])),
                           ("squares_ratio", (zero, [np.ones(3)])),
                           ("arrays_gap", (empty, empty))]:
        spec = {"name": "w", "function": function, "at_least": 0.5}
        assert compare("computed", plain(pair), spec) is not None, function

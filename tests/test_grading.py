"""course.grading: checks whose messages tell a student what is wrong."""

import numpy as np
import pytest

from course import grading
from course.grading import check_array, check_scalar, check_shape, check_true, check_unchanged


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

"""course.gradcheck: numerical gradients, relative errors, the gradient assertion."""

import numpy as np
import pytest

from course.gradcheck import (
    check_gradient,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
)


def test_numerical_gradient_of_a_quadratic_is_exact_enough():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    grad = numerical_gradient(lambda v: v @ A @ v, x)
    assert rel_error(grad, (A + A.T) @ x) < 1e-8


def test_numerical_gradient_restores_x_and_keeps_its_shape():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2))
    before = x.copy()
    grad = numerical_gradient(lambda v: np.sum(np.sin(v)), x)
    assert grad.shape == x.shape
    np.testing.assert_array_equal(x, before)
    assert rel_error(grad, np.cos(x)) < 1e-8


def test_numerical_gradient_sees_x_through_a_closure():
    w = np.array([1.0, -2.0, 3.0])
    data = np.array([0.5, 0.25, 2.0])
    grad = numerical_gradient(lambda _: float(np.sum(w * w * data)), w)
    assert rel_error(grad, 2 * w * data) < 1e-8


def test_numerical_gradient_array_is_the_gradient_of_sum_f_times_dout():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3))
    dout = rng.standard_normal((2, 3))
    grad = numerical_gradient_array(np.tanh, x, dout)
    assert rel_error(grad, dout * (1 - np.tanh(x) ** 2)) < 1e-8


def test_numerical_gradient_rejects_float32():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(np.sum, np.ones(3, dtype=np.float32))


def test_rel_error_is_zero_for_equal_arrays_and_symmetric():
    a = np.array([1.0, 2.0, 0.0])
    b = np.array([1.0, 2.2, 0.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(a, b) == rel_error(b, a) == pytest.approx(0.2 / 4.2)


def test_rel_error_floors_the_denominator_for_tiny_values():
    assert rel_error(np.array([1e-12]), np.array([0.0])) == pytest.approx(1e-4)


def test_rel_error_refuses_different_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(3), np.zeros(4))


def test_check_gradient_passes_a_correct_gradient_and_returns_the_error():
    x = np.array([0.3, -1.2, 2.0])
    error = check_gradient(2 * x, lambda v: np.sum(v**2), x)
    assert error < 1e-9


def test_check_gradient_names_the_worst_entry_of_a_wrong_gradient():
    x = np.array([0.3, -1.2, 2.0])
    wrong = 2 * x
    wrong[1] *= 1.5
    message = r"dx: relative error .* worst entry \(1,\)"
    with pytest.raises(AssertionError, match=message):
        check_gradient(wrong, lambda v: np.sum(v**2), x, name="dx")


def test_check_gradient_with_dout_checks_an_array_valued_function():
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal(5), rng.standard_normal(5)
    check_gradient(dout * np.exp(x), np.exp, x, dout=dout)


def test_check_gradient_reports_a_shape_mismatch():
    x = np.zeros((2, 3))
    message = r"shape \(3, 2\) but x has shape \(2, 3\)"
    with pytest.raises(AssertionError, match=message):
        check_gradient(np.zeros((3, 2)), np.sum, x)


def test_rel_error_norm_reads_the_whole_array_and_ignores_a_tiny_noisy_entry():
    """An entry of 1e-8 with noise of 1e-10 spoils only the entry-wise error."""
    exact = np.array([1.0, -0.5, 1e-8])
    noisy = exact + np.array([1e-12, -1e-12, 1e-10])
    assert rel_error(exact, noisy) > 1e-3  # the tiny entry dominates the maximum
    assert rel_error(exact, noisy, norm=True) < 1e-10
    # a real mistake in a big entry shows in both readings
    wrong = exact * np.array([1.0, 1.1, 1.0])
    assert rel_error(exact, wrong, norm=True) > 1e-2
    assert rel_error(exact, wrong) > 1e-2
    assert rel_error(np.zeros(3), np.zeros(3), norm=True) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3), norm=True)

"""Numerical gradients by centred differences, to check a backward pass.

For a scalar function f and a small h,

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h),

with an error of order h^2. Comparing this with the gradient a backward
pass computes (the "analytic" gradient) catches almost every mistake in
it. Work in float64: in float32 the rounding error of f swamps the
difference quotient.
"""

import operator

import numpy as np


def _require_float64(x):
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        dtype = getattr(x, "dtype", type(x).__name__)
        raise TypeError(
            f"numerical gradients need a float64 numpy array to perturb in place, "
            f"got {dtype}; use x = x.astype(np.float64)"
        )


def _nudged(f, x, idx, value):
    """f(x) with x[idx] set to ``value`` for the call; x[idx] is put back
    afterwards, even if f raises."""
    saved = x[idx]
    x[idx] = value
    try:
        return f(x)
    finally:
        x[idx] = saved


def _centred_differences(f, x, h, difference):
    """For every index i of x: difference(f(x + h e_i), f(x - h e_i)) / (2 h)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        above = _nudged(f, x, idx, x[idx] + h)
        below = _nudged(f, x, idx, x[idx] - h)
        grad[idx] = difference(above, below) / (2 * h)
    return grad


def numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function by centred differences.

    f: called as f(x) and returning a number; x: float64 array of any shape
    (D,) or (N, D) or ... -> grad: array of x's shape. Each entry of x is
    perturbed in place by +h and -h and then restored, so f may also read x
    through a closure (e.g. a layer's weight array).
    """
    _require_float64(x)
    return _centred_differences(lambda v: float(f(v)), x, h, operator.sub)


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Gradient of sum(f(x) * dout) for an array-valued f, by centred differences.

    This is what a backward pass computes from an upstream gradient
    ``dout``. f: called as f(x), returning an array of dout's shape;
    x: float64 array -> grad: array of x's shape.
    """
    _require_float64(x)
    return _centred_differences(lambda v: np.array(f(v), dtype=np.float64), x, h,
                                lambda above, below: np.sum((above - below) * dout))


def rel_error(a, b, norm=False):
    """Relative error between two arrays a and b of one shape -> a float.

    norm=False (the default, CS231n's): the largest entry-wise error,
    max over entries of |a - b| / max(1e-8, |a| + |b|). Strict: one wrong
    entry shows, but an entry that is nearly 0 in both (say 1e-9) is
    compared with rounding noise of the same size and can read as 1e-2.

    norm=True: the error of the arrays as a whole,
    ||a - b|| / max(1e-8, ||a|| + ||b||) (Euclidean norms over all entries).
    Robust to tiny entries; use it for big gradients with entries of very
    different sizes.

    Below about 1e-7 the two agree to rounding; above 1e-2 one of them is
    almost certainly wrong.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    if norm:
        gap, size = np.linalg.norm(a - b), np.linalg.norm(a) + np.linalg.norm(b)
    else:
        gap, size = np.abs(a - b), np.abs(a) + np.abs(b)
    return float(np.max(gap / np.maximum(size, 1e-8)))


def check_gradient(analytic, f, x, dout=None, tol=1e-6, h=1e-5, name="gradient"):
    """Assert that ``analytic`` matches the numerical gradient of f at x.

    analytic: array of x's shape (the backward pass's answer); f, x: as in
    ``numerical_gradient``, or, with ``dout`` given, as in
    ``numerical_gradient_array``. Returns the relative error; raises an
    AssertionError naming the worst entry when it exceeds ``tol``.
    """
    analytic = np.asarray(analytic)
    if analytic.shape != np.shape(x):
        raise AssertionError(
            f"{name}: analytic gradient has shape {analytic.shape} but x has "
            f"shape {np.shape(x)}; a gradient has the shape of what it is taken "
            "with respect to"
        )
    if dout is None:
        numeric = numerical_gradient(f, x, h)
    else:
        numeric = numerical_gradient_array(f, x, dout, h)
    error = rel_error(analytic, numeric)
    if not error < tol:
        errors = np.abs(analytic - numeric) / np.maximum(
            1e-8, np.abs(analytic) + np.abs(numeric)
        )
        worst = np.unravel_index(np.argmax(errors), errors.shape)
        raise AssertionError(
            f"{name}: relative error {error:.2e} exceeds tolerance {tol:.0e}; "
            f"worst entry {tuple(int(i) for i in worst)}: analytic "
            f"{analytic[worst]:.6g}, numerical {numeric[worst]:.6g}"
        )
    return error

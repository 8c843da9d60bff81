"""What the assignments' tests share: comparisons that say what is wrong.

Every check raises ``AssertionError`` with a message written for a student:
which call was checked, on which input, what was expected and what came
back. A test cell reads like this::

    check_array("heaviside(z)", heaviside(z), expected, context=f"z = {z}")

The numpy routines used here are bound when this module is imported, in the
locked set-up cell at the top of each assignment, so a submission that later
replaces ``numpy.allclose`` and friends does not change how it is graded.
"""

import numpy as np

# Bound at import: later monkey-patching of numpy does not reach the checks.
_asarray = np.asarray
_array = np.array
_abs = np.abs
_isfinite = np.isfinite
_isnan = np.isnan
_argwhere = np.argwhere
_float64 = np.float64
_array2string = np.array2string


def _fmt(value, limit=200):
    """A short, readable rendering of a value for a message."""
    if isinstance(value, np.ndarray):
        text = _array2string(value, precision=6, separator=", ", threshold=20)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(context):
    return f" (for {context})" if context else ""


def as_numeric_array(name, value, context=None):
    """``value`` as a float64 array, or an AssertionError saying why it is not one.

    Builds a fresh array, so an object that overrides ``__eq__`` or
    ``__array__`` tricks cannot stand in for numbers.
    """
    if value is None:
        raise AssertionError(
            f"{name}{_where(context)} returned None; did you forget `return`?"
        )
    try:
        array = _array(value, dtype=_float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise AssertionError(
            f"{name}{_where(context)} should return numbers (an array or a float), "
            f"got {type(value).__name__}: {exc}"
        ) from None
    return array


def check_shape(name, actual, shape, context=None):
    """Assert ``actual`` has exactly ``shape``."""
    got = tuple(_asarray(actual).shape)
    if got != tuple(shape):
        raise AssertionError(
            f"{name}{_where(context)} should have shape {tuple(shape)}, got shape {got}"
        )


def check_array(name, actual, expected, *, atol=1e-6, rtol=1e-5, context=None):
    """Assert ``actual`` has ``expected``'s shape and values within tolerance.

    Tolerances follow ``numpy.isclose``: |actual - expected| <= atol + rtol *
    |expected|, elementwise. NaN never matches. The message names the first
    element that differs and how many differ.
    """
    got = as_numeric_array(name, actual, context)
    want = _array(expected, dtype=_float64, copy=True)
    if got.shape != want.shape:
        raise AssertionError(
            f"{name}{_where(context)} should have shape {want.shape}, "
            f"got shape {got.shape}: {_fmt(got)}"
        )
    finite = _isfinite(got)
    if not finite.all() and _isfinite(want).all():
        bad = tuple(int(i) for i in _argwhere(~finite)[0])
        raise AssertionError(
            f"{name}{_where(context)} contains {float(got[bad])} at index {bad}; "
            "every value should be finite (look for overflow in exp or a "
            "division by zero)"
        )
    close = _abs(got - want) <= atol + rtol * _abs(want)
    close |= got == want  # equal infinities
    close &= ~_isnan(got)
    if not close.all():
        bad = tuple(int(i) for i in _argwhere(~close)[0])
        count = int((~close).sum())
        at = f" at index {bad}" if got.ndim else ""
        raise AssertionError(
            f"{name}{_where(context)} is wrong{at}: expected {float(want[bad]):.6g}, "
            f"got {float(got[bad]):.6g} ({count} of {got.size} values differ).\n"
            f"expected: {_fmt(want)}\ngot:      {_fmt(got)}"
        )


def check_scalar(name, actual, expected, *, atol=1e-6, rtol=1e-5, context=None):
    """Assert ``actual`` is one number close to ``expected``."""
    got = as_numeric_array(name, actual, context)
    if got.size != 1:
        raise AssertionError(
            f"{name}{_where(context)} should be a single number, got shape {got.shape}"
        )
    check_array(name, got.reshape(()), expected, atol=atol, rtol=rtol, context=context)


def check_true(condition, message):
    """Assert ``condition`` with ``message`` (a plain ``assert`` can be stripped)."""
    if not bool(condition):
        raise AssertionError(message)


def check_unchanged(name, before, after):
    """Assert an input array was not modified in place by the student's function."""
    if not (_array(before).shape == _array(after).shape and (before == after).all()):
        raise AssertionError(
            f"{name} changed its input array in place; work on a copy instead "
            "(for example `w = w + ...` rather than `w += ...`)"
        )

"""Self-checks for the exercises inside the lecture notebooks.

An exercise in a lecture is three cells: the question (markdown), a code
cell where the student writes an answer (it starts as ``...``, Python's
Ellipsis), and a self-check cell that calls one of these functions. A
worked solution follows in a collapsed cell (JupyterLab's
``jupyter.source_hidden``): click it to reveal, run it, and it passes its
own check, which is how the test suite knows every solution is right.

- ``check(name, answer, expected)``: a number, array, tuple or bool.
- ``check(name, answer, test=f)``: any answer that ``f`` accepts (f raises
  AssertionError with a message when the answer is wrong).
- ``check_function(name, f, reference, cases)``: a function the student
  wrote, called on every case and compared with a reference.

An unanswered exercise (``...``, or a function that returns ``None``; a
``test`` marks its answer unanswered with ``answered(value)``) only prints a
reminder, so that a lecture still runs from top to bottom; a wrong
answer raises an AssertionError whose message says what is wrong.
"""

import numpy as np


class NotAnswered(Exception):
    """Raised by ``answered`` inside a test: the exercise is not done yet."""


def answered(value):
    """``value``, unless it is None or ``...`` (a function still returning
    nothing): then the exercise counts as not answered yet."""
    if value is None or value is Ellipsis:
        raise NotAnswered
    return value


def _unanswered(name):
    print(f"{name}: not answered yet. Replace the ... with your answer, run the "
          "cell, then run this check again (or reveal the solution below).")
    return False


def _correct(name):
    print(f"{name}: correct.")
    return True


def _compare(answer, expected, atol, rtol):
    """None if answer matches expected, else a one-line reason."""
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(answer, (bool, np.bool_)):
            return f"expected True or False, got {answer!r}"
        return None if bool(answer) == bool(expected) else f"{answer} is not right"
    if isinstance(expected, str):
        return None if answer == expected else f"{answer!r} is not right"
    try:
        got = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        return f"expected a number or an array of numbers, got {type(answer).__name__}"
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape:
        return f"expected shape {want.shape}, got shape {got.shape}"
    close = np.isclose(got, want, atol=atol, rtol=rtol)
    if np.all(close):
        return None
    if want.ndim == 0:
        return f"{float(got):.6g} is not right"
    worst = tuple(int(i) for i in np.argwhere(~close)[0])
    return (f"{int((~close).sum())} of {want.size} entries differ, the first at "
            f"{worst}: yours {got[worst]:.6g}")


def check(name, answer, expected=None, *, test=None, atol=1e-6, rtol=1e-6, hint=""):
    """Check one exercise's answer; returns True when it is right.

    name: the exercise, e.g. "Exercise 2.1"; answer: the student's value
    (``...`` when not answered yet); expected: the right value (a number,
    array, tuple, bool or string), compared with tolerances atol/rtol; or
    test: a function that raises AssertionError("what is wrong") for a
    wrong answer. hint: one sentence added to the message of a wrong answer.
    Raises AssertionError (one line, naming the exercise) when it is wrong.
    """
    if (expected is None) == (test is None):
        raise TypeError("give check() either expected= or test=, not both or neither")
    if answer is Ellipsis:
        return _unanswered(name)
    if test is not None:
        try:
            test(answer)
        except NotAnswered:
            return _unanswered(name)
        except AssertionError as error:
            lines = str(error).splitlines() or ["the answer does not pass the test"]
            raise AssertionError(_message(name, lines[0], hint)) from None
        return _correct(name)
    reason = _compare(answer, expected, atol, rtol)
    if reason is not None:
        raise AssertionError(_message(name, reason, hint))
    return _correct(name)


def check_function(name, f, reference, cases, *, atol=1e-6, rtol=1e-6, hint=""):
    """Check a function the student wrote against a reference implementation.

    f: the student's function (a body of ``...`` returns None: not answered
    yet); reference: the right one; cases: a list of argument tuples, each
    passed as ``f(*args)``. Outputs are compared like ``check``'s expected
    values. Returns True when every case agrees; raises AssertionError naming
    the first case that does not.
    """
    if not cases:
        raise ValueError("check_function needs at least one case")
    for args in cases:
        got = f(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in args])
        if got is None:
            return _unanswered(name)
        reason = _compare(got, reference(*args), atol, rtol)
        if reason is not None:
            shown = ", ".join(_short(a) for a in args)
            reason = f"for the input ({shown}): {reason}"
            raise AssertionError(_message(name, reason, hint))
    return _correct(name)


def _message(name, reason, hint):
    """One line: the exercise, what is wrong, and the hint."""
    return f"{name}: {reason}. {hint}".rstrip(". ") + "."


def _short(value):
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=6)
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

"""What the assignments' test cells call: runs in the student's kernel.

A test cell reads like this::

    check_array("heaviside(z)", heaviside(z), [0, 0, 1, 1], context="z = [-3, -0.5, 0.5, 2]")

**In a student's own session** each check compares at once and raises
``AssertionError`` with a message written for the student: which call was
checked, on which input, what was expected and what came back.

**While grading**, no check here decides anything. The grader rewrites every
graded test cell before the kernel sees it (:mod:`course.grader.sites`): each
``check_*(...)`` call becomes ``record(site, <the student's value>)``, and
the expected values, tolerances and messages are removed. ``record`` only
sends the value out as plain data (:func:`course.checkvalues.encode`); the
grader compares it with the value the same check site had when the solution
ran in a clean kernel (``reference``, below) and decides the points in its own
process. Nothing in this module is trusted by the grader, so nothing here
needs guarding.

A hidden test may leave ``expected`` out: ``check_array(name, actual)``
then means "what the solution returns here". The expected value is computed
only in the grader's clean kernel, never written in the test.

**What a student sees.** A failing check shows its message and the line of
the notebook that called it, not the frames of this package
(:func:`_short_traceback`); a cell whose checks all pass prints one line
(``PASSED_MANY``: ``✓ All 3 checks in this cell passed.``), so that a pass
is told apart from a cell that did not run.

The checks and their arguments:

- ``check_array(name, actual, expected=None, *, atol=1e-6, rtol=1e-5, context=None)``
- ``check_scalar(name, actual, expected=None, *, atol=1e-6, rtol=1e-5, context=None)``
- ``check_shape(name, actual, shape, context=None)``
- ``check_type(name, actual, type, context=None)``: the documented kind of
  value (``course.checkvalues.TYPES``: "number", "int", "float", "bool",
  "float array", "int array", "bool array", "list", "tuple"); a one-element
  array is not a number, a bool is not an int
- ``check_equal(name, actual, expected=None, *, context=None)``
- ``check_at_least(name, actual, bound, *, context=None)``, ``check_at_most(...)``
- ``check_true(condition, message)``: visible tests only (a condition is
  computed in the student's kernel; hidden tests compare values instead)
- ``check_unchanged(name, before, after)``: ``after`` is the student's side
- ``check_computed(name, actual, function, *, inputs=None, expected=None,
  at_least=None, at_most=None, atol, rtol, context)``: a quantity the grader
  computes from the student's value (``course.checkvalues.FUNCTIONS``: an
  accuracy, a network's outputs), so no test code computes it in the kernel
- ``as_numeric_array(name, value)``: the student's value as a float array, or
  an ``AssertionError`` saying why it is not one (visible tests)
"""

import os
import traceback

from course.checkvalues import Refused, compare, computed, encode, plain

RECORD_MIME = "application/vnd.ann-course.record+json"
REFERENCE_MIME = "application/vnd.ann-course.reference+json"

# check function -> (kind, its positional parameters); the student's value is
# the parameter named in STUDENT_VALUE.
SIGNATURES = {
    "check_array": ("array", ("name", "actual", "expected")),
    "check_scalar": ("scalar", ("name", "actual", "expected")),
    "check_shape": ("shape", ("name", "actual", "shape", "context")),
    "check_equal": ("equal", ("name", "actual", "expected")),
    "check_type": ("type", ("name", "actual", "type", "context")),
    "check_at_least": ("at_least", ("name", "actual", "bound")),
    "check_at_most": ("at_most", ("name", "actual", "bound")),
    "check_true": ("true", ("condition", "message")),
    "check_unchanged": ("unchanged", ("name", "before", "after")),
    "check_computed": ("computed", ("name", "actual", "function")),
}
STUDENT_VALUE = {"check_array": "actual", "check_scalar": "actual",
                 "check_shape": "actual", "check_equal": "actual",
                 "check_type": "actual",
                 "check_at_least": "actual", "check_at_most": "actual",
                 "check_true": "condition", "check_unchanged": "after",
                 "check_computed": "actual"}
# What goes into a check's spec besides the student's value.
SPEC_FIELDS = ("name", "expected", "atol", "rtol", "context", "shape", "type", "bound",
               "message", "before", "function", "inputs", "at_least", "at_most")
VALUE_FIELDS = ("expected", "before", "inputs")  # sent as encoded values
# ``expected`` left out: the grader takes what the solution returned there.
SOLUTIONS_VALUE = type("SolutionsValue", (), {"__repr__": lambda self: "<the solution's value>"})()


def bind(function, args, kwargs):
    """(kind, the student's value, spec) of a call to check ``function``.

    The student's value and the values in the spec (``VALUE_FIELDS``) are
    plain (:func:`course.checkvalues.plain`); a spec without ``expected``
    means the solution's value.
    """
    kind, bound = _arguments(function, args, kwargs)
    actual = plain(bound.pop(STUDENT_VALUE[function]))
    spec = {key: plain(value) if key in VALUE_FIELDS else value
            for key, value in bound.items()}
    return kind, actual, spec


def _arguments(function, args, kwargs):
    """The arguments of a call to check ``function`` by parameter name."""
    kind, params = SIGNATURES[function]
    if len(args) > len(params):
        raise TypeError(f"{function} takes at most {len(params)} positional arguments")
    bound = dict(zip(params, args))
    for key, value in kwargs.items():
        if key in bound:
            raise TypeError(f"{function} got two values for {key!r}")
        bound[key] = value
    if bound.get("expected", None) is SOLUTIONS_VALUE:
        del bound["expected"]
    return kind, bound


def _check(function, *args, **kwargs):
    """A student's own run: compare now, raise AssertionError with the message."""
    kind, actual, spec = bind(function, args, kwargs)
    if kind == "computed" and not _has_target(spec):
        return
    if kind in ("array", "scalar", "equal") and "expected" not in spec:
        # A hidden test's "what the solution returns": only the grader knows it.
        if isinstance(actual, Refused) or actual is None:
            raise _fail(compare(kind, actual, {**spec, "expected": 0.0}))
        return
    message = compare(kind, actual, spec)
    if message is not None:
        raise _fail(message)
    _count_pass()


# ---------------------------------------------------------------------------
# what a student sees: a short failure, one line for a pass
# ---------------------------------------------------------------------------

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_passed = {"checks": 0, "hook": False}
PASSED_ONE = "\u2713 The check in this cell passed."
PASSED_MANY = "\u2713 All {count} checks in this cell passed."


def _fail(message):
    """``AssertionError(message)`` that IPython shows without this package's frames.

    IPython calls an exception's ``_render_traceback_`` for the lines it shows
    (see :func:`_short_traceback`); elsewhere it is a plain AssertionError.
    """
    error = AssertionError(message)
    error._render_traceback_ = lambda: _short_traceback(error)
    return error


def _short_traceback(error):
    """The lines IPython shows for a failed check: the message, then where.

    ``where`` is each frame outside this package and IPython, as
    ``Cell In[5], line 3: <the line>``: the test cell's line that called the
    check (and any function of the student's between them).
    """
    import IPython

    hidden = (PACKAGE_DIR, os.path.dirname(os.path.abspath(IPython.__file__)) + os.sep)
    red, reset = "\x1b[0;31m", "\x1b[0m"
    message = str(error).split("\n")
    lines = [f"{red}AssertionError{reset}: {message[0]}", *message[1:]]
    for frame in traceback.extract_tb(error.__traceback__):
        if not os.path.abspath(frame.filename).startswith(hidden):
            lines.append(f"  at {_cell_name(frame.filename)}, line {frame.lineno}: "
                         f"{(frame.line or '').strip()}")
    return lines


def _cell_name(filename):
    """``Cell In[5]`` for a notebook cell's code, else the file's name."""
    try:
        number = get_ipython().compile._filename_map[filename]  # noqa: F821
        return f"Cell In[{number}]"
    except (NameError, AttributeError, KeyError):
        return filename


def _count_pass():
    """Count a passed check; IPython prints the cell's count after the cell."""
    _passed["checks"] += 1
    if _passed["hook"]:
        return
    try:
        shell = get_ipython()  # noqa: F821 (IPython's builtin; absent outside it)
    except NameError:
        return
    shell.events.register("pre_run_cell", _start_cell)
    shell.events.register("post_run_cell", _report_passes)
    _passed["hook"] = True


def _start_cell(info=None):
    _passed["checks"] = 0


def _report_passes(result):
    """After a cell: one line if it ran checks and all of them passed."""
    count, _passed["checks"] = _passed["checks"], 0
    if count and result.success:
        print(PASSED_ONE if count == 1 else PASSED_MANY.format(count=count))


def check_array(name, actual, expected=SOLUTIONS_VALUE, *, atol=1e-6, rtol=1e-5, context=None):
    """``actual`` has ``expected``'s shape and values: |a - e| <= atol + rtol |e|."""
    _check("check_array", name, actual, expected, atol=atol, rtol=rtol, context=context)


def check_scalar(name, actual, expected=SOLUTIONS_VALUE, *, atol=1e-6, rtol=1e-5, context=None):
    """``actual`` is one number close to ``expected``."""
    _check("check_scalar", name, actual, expected, atol=atol, rtol=rtol, context=context)


def check_shape(name, actual, shape, context=None):
    """``actual`` is numbers of exactly ``shape``."""
    _check("check_shape", name, actual, shape, context)


def check_type(name, actual, type, context=None):
    """``actual`` is the documented kind of value (see ``course.checkvalues.TYPES``)."""
    _check("check_type", name, actual, type, context)


def check_equal(name, actual, expected=SOLUTIONS_VALUE, *, context=None):
    """``actual`` equals ``expected`` (None, numbers, strings, lists or tuples)."""
    _check("check_equal", name, actual, expected, context=context)


def check_at_least(name, actual, bound, *, context=None):
    """``actual`` is one number >= ``bound``."""
    _check("check_at_least", name, actual, bound, context=context)


def check_at_most(name, actual, bound, *, context=None):
    """``actual`` is one number <= ``bound``."""
    _check("check_at_most", name, actual, bound, context=context)


def check_computed(name, actual, function, *, inputs=None, expected=None,
                   at_least=None, at_most=None, atol=1e-6, rtol=1e-5, context=None):
    """A quantity computed from ``actual`` (see the module docstring) is right."""
    _check("check_computed", name, actual, function, inputs=inputs, expected=expected,
           at_least=at_least, at_most=at_most, atol=atol, rtol=rtol, context=context)


def as_numeric_array(name, value, context=None):
    """``value`` as a float64 array; AssertionError (saying why) if it is not numbers."""
    import numpy as np

    from course.checkvalues import _as_numbers

    array, problem = _as_numbers(plain(value), {"name": name, "context": context})
    if problem:
        raise _fail(problem)
    return np.asarray(array, dtype=float)


def _has_target(spec):
    return any(spec.get(key) is not None for key in ("expected", "at_least", "at_most"))


def check_true(condition, message):
    """``condition`` is ``True`` (a plain ``assert`` can be stripped)."""
    _check("check_true", condition, message)


def check_unchanged(name, before, after):
    """An input array was not modified in place by the student's function."""
    _check("check_unchanged", name, before, after)


# ---------------------------------------------------------------------------
# while grading: what the rewritten test cells call
# ---------------------------------------------------------------------------

def _publish(mime, payload):
    from IPython.display import display

    display({mime: payload}, raw=True)


def record(site, value):
    """The student's kernel: send the value at check ``site`` to the grader."""
    try:
        data = encode(value)
    except TypeError as exc:
        data = {"t": "refused", "why": str(exc)[:300]}
    _publish(RECORD_MIME, {"site": int(site), "value": data})


def reference(site, function, *args, **kwargs):
    """The grader's clean kernel running the solution: record the check's spec.

    Raises ``AssertionError`` if the solution itself fails the check: a
    reference that does not pass its own test is a bug in the assignment.
    """
    kind, actual, spec = bind(function, args, kwargs)
    if kind in ("array", "scalar", "equal") and "expected" not in spec:
        spec["expected"] = actual
    if kind == "computed" and not _has_target(spec):
        spec["expected"], problem = computed(actual, spec)
        if problem:
            raise AssertionError(f"the solution fails its own check (site {site}): {problem}")
    message = compare(kind, actual, spec)
    if message is not None:
        raise AssertionError(f"the solution fails its own check (site {site}): {message}")
    data = {}
    for key, value in spec.items():
        if key not in SPEC_FIELDS or (value is None and key not in VALUE_FIELDS):
            continue
        if key in VALUE_FIELDS:
            data[key] = encode(value)
        elif key == "shape":
            data[key] = [int(n) for n in value]
        elif key in ("atol", "rtol", "bound", "at_least", "at_most"):
            data[key] = float(value)
        else:
            data[key] = str(value)[:2000]
    _publish(REFERENCE_MIME, {"site": int(site), "kind": kind, "spec": data})

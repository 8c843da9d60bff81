"""What the assignments' tests share: comparisons that say what is wrong.

Every check raises ``AssertionError`` with a message written for a student:
which call was checked, on which input, what was expected and what came
back. A test cell reads like this::

    check_array("heaviside(z)", heaviside(z), expected, context=f"z = {z}")

Hidden tests use nothing else to compare a student's values: never ``==`` or
``np.allclose`` in the cell, because a submission controls the objects it
returns and the functions it can reach.

Hardening. A submission runs in the same Python process as the tests, so it
could try to make them pass without being right. The locked set-up cell (the
first code cell, restored from the source by nbgrader) imports this module
before any student code runs, and from then on:

1. Bound at import. The checks resolve built-in names (``bool``, ``len``,
   ``AssertionError``...) in a private copy of the builtins and use numpy
   functions captured at import, so patching ``builtins`` or ``numpy`` later
   does not change what they compute. Failures raise a private subclass of
   the original ``AssertionError``.
2. Fresh numbers. A student's value is accepted only as plain numbers: a
   ``numpy.ndarray`` (not a subclass), a numpy or Python number, a (nested)
   list or tuple of those, or a ``torch.Tensor``; it is copied into a new
   float64 array before anything is compared. Objects with their own
   ``__eq__``, ``__array__`` or ``__float__`` are refused.
3. Integrity. Every check, and in a notebook every cell before it runs,
   verifies that nothing the tests rely on was replaced: this module (in
   ``sys.modules`` and in the notebook's names), the builtins, numpy, torch,
   ``course``, the IPython machinery that reports errors, what IPython runs
   around each cell (its input and AST transformers, with the course's cell
   guard first, and its event callbacks), and that no value
   in the notebook's namespace belongs to a class defined there that answers
   comparisons or conversions itself. A problem raises an ``AssertionError``
   whose message starts with ``COURSE-GRADING-TAMPER:``; while nbgrader
   autogrades, every later cell fails with it, so a tampering submission
   scores nothing from that point. A submission that removes the cell guard
   does not escape: the audit hook, which cannot be removed, checks again
   whenever a cell is compiled or run.
4. While nbgrader autogrades (``NBGRADER_EXECUTION=autograde``), reading a
   notebook, the gradebook or the instructor's folders is refused (the
   autograded notebook on disk holds the hidden tests), and a value displayed
   from inside a function is dropped (nbgrader would read it as a score).
5. What cannot be stopped inside the kernel (code placed before the set-up
   cell, a fake ``course.grading`` installed first, obfuscated patches) is
   left for :func:`find_tampering`, which reads an autograded notebook from
   outside: the marker in its outputs, and tampering code in its answer cells.

``reference(name)`` returns a numpy or torch function as it was before any
notebook code ran, for hidden tests that compute expected values with a
library: ``reference("torch.nn.functional.conv2d")(x, w)``.
"""

import ast
import builtins
import functools
import json
import os
import re
import sys
import types
from operator import attrgetter
from operator import is_not as _is_not

import numpy as np
import numpy.linalg  # noqa: F401  (recorded below, like the rest of numpy)
import numpy.random  # noqa: F401
import numpy.testing  # noqa: F401

# The functions of this module look up built-in names in this private copy,
# taken now: `builtins.bool = ...` in a submission does not reach them.
__builtins__ = dict(vars(builtins))

TAMPER_MARKER = "COURSE-GRADING-TAMPER"

# Bound at import: later monkey-patching of numpy does not reach the checks.
_asarray = np.asarray
_array = np.array
_abs = np.abs
_isfinite = np.isfinite
_isnan = np.isnan
_argwhere = np.argwhere
_float64 = np.float64
_ndarray = np.ndarray
_generic = np.generic
_array2string = np.array2string
_getframe = sys._getframe
_modules = sys.modules
_realpath = os.path.realpath
_fsdecode = os.fsdecode
_join = os.path.join
_type_flags = type.__dict__["__flags__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_dict_get = dict.get
_proxy_get = types.MappingProxyType.get
_gettrace = sys.gettrace
_getprofile = sys.getprofile
_code_of = attrgetter("__code__")
_defaults_of = attrgetter("__defaults__")
_kwdefaults_of = attrgetter("__kwdefaults__")
_partial = functools.partial
_HEAPTYPE = 1 << 9  # a class created by Python code, not by a C extension


class _CheckFailed(AssertionError):
    """A check failed; the message says what is wrong."""


class _Tampered(AssertionError):
    """The grading machinery was tampered with; the message says how."""


# Students see the familiar name in tracebacks and feedback.
for _cls in (_CheckFailed, _Tampered):
    _cls.__name__ = _cls.__qualname__ = "AssertionError"
    _cls.__module__ = "builtins"
del _cls


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------

def _fmt(value, limit=200):
    """A short, readable rendering of a value for a message."""
    if type(value) is _ndarray:
        text = _array2string(value, precision=6, separator=", ", threshold=20)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(context):
    return f" (for {context})" if context else ""


def _tamper_text(problems):
    lines = [f"{TAMPER_MARKER}: {problem}" for problem in dict.fromkeys(problems)]
    return "\n".join(lines) + (
        "\nThe grading machinery was changed, so no test can be trusted from "
        "here on; this submission is flagged for review."
    )


def _fail(message):
    """Raise a failed check, adding any tampering found to its message."""
    problems = _integrity.problems(_getframe(1))
    if problems:
        message = f"{message}\n{_tamper_text(problems)}"
    raise _CheckFailed(message)


def _verify():
    """Raise if the grading machinery was tampered with."""
    problems = _integrity.problems(_getframe(1))
    if problems:
        raise _Tampered(_tamper_text(problems))


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------

def _is_plain_number(kind):
    return kind is float or kind is int or kind is bool


def _numeric(value, depth=0):
    """``value`` as a new float64 ndarray; TypeError or ValueError if not numbers.

    Types are compared by identity: a class cannot pass for ``float`` by
    answering ``==``.
    """
    kind = type(value)
    if _is_plain_number(kind):
        return _array(value, dtype=_float64)
    if kind is _ndarray:
        if value.dtype.kind in "biuf":
            return _array(value, dtype=_float64, copy=True)
        if value.dtype.kind == "O" and depth < 32:
            return _numeric(value.tolist(), depth + 1)
        raise TypeError(f"an array of dtype {value.dtype}")
    if issubclass(kind, _generic) and not _type_flags(kind) & _HEAPTYPE:
        if _array(value).dtype.kind in "biuf":
            return _array(value, dtype=_float64)
        raise TypeError(f"a numpy {kind.__name__}")
    if issubclass(kind, _ndarray):
        raise TypeError(f"a {kind.__name__}, a subclass of numpy.ndarray; "
                        "return a plain numpy array")
    if (kind is list or kind is tuple or kind is range) and depth < 32:
        items = list(value)
        if all(_is_plain_number(type(item)) for item in items):
            return _array(items, dtype=_float64)
        return _array([_numeric(item, depth + 1) for item in items], dtype=_float64)
    if not _integrity.tensor_types and "torch" in _modules:
        _integrity.record_new_modules()
    tensor = _integrity.tensor_types
    if tensor and (kind is tensor[0] or kind is tensor[1]):
        base = tensor[2]  # torch._C.TensorBase: its methods cannot be patched
        plain = base.cpu(base.detach(value))
        if base.is_complex(plain):
            raise TypeError("a complex tensor")
        return _array(base.numpy(base.double(plain)), dtype=_float64, copy=True)
    raise TypeError("not a number, a list of numbers, an array or a tensor")


def as_numeric_array(name, value, context=None):
    """``value`` as a float64 array, or an AssertionError saying why it is not one.

    Builds a fresh array, so an object that overrides ``__eq__`` or
    ``__array__`` tricks cannot stand in for numbers.
    """
    with _log(name):
        array = _as_numeric(name, value, context)
        _verify()
        return array


def _as_numeric(name, value, context):
    if value is None:
        _fail(f"{name}{_where(context)} returned None; did you forget `return`?")
    problem = None
    try:
        return _numeric(value)
    except (TypeError, ValueError, OverflowError, AttributeError) as exc:
        problem = exc
    _fail(
        f"{name}{_where(context)} should return numbers (an array or a float), "
        f"got {type(value).__name__}: {problem}"
    )


def _expected(value):
    """The test's expected value as a float64 array (a TypeError is the test's bug)."""
    try:
        return _numeric(value)
    except (TypeError, ValueError, OverflowError, AttributeError) as exc:
        problem = str(exc)
    raise TypeError(f"the test's expected value is not numeric: {problem}")


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

CHECKS_MIME = "application/vnd.ann-course.checks+json"
_MAX_LOGGED = 100  # entries per cell; a test looping over many names stays small
_ARGUMENTS = re.compile(r"\(([^()]*)\)")
_LITERAL = re.compile(r"[0-9'\"\[]")


def _public_name(name):
    """A check's name without literal arguments: ``"f(X, w=[1, 2])"`` -> ``"f(...)"``."""
    if name is None:
        return None
    return _ARGUMENTS.sub(lambda m: "(...)" if _LITERAL.search(m.group(1)) else m.group(0),
                          str(name)[:120])


class _CheckLog:
    """Which checks a cell ran and how they ended, for the student's feedback.

    Only while nbgrader autogrades (``NBGRADER_EXECUTION=autograde``). Every
    public check runs inside ``with _log(name):``; the outermost one records
    ``{"name", "passed", "count"}`` (consecutive passes of one name are
    counted) or ``{"name", "passed": False, "message"}``. Names lose their
    literal arguments (:func:`_public_name`): they are shown for passed hidden
    checks. After each cell the record is published as one ``display_data``
    output of type ``CHECKS_MIME``: never an ``execute_result``, so nbgrader's
    ``determine_grade`` ignores it, and not through the display hook, so the
    guard against displayed scores is not involved.
    ``course.preprocessors.feedback`` renders it.
    """

    def __init__(self):
        self.entries, self.omitted = [], 0
        self.depth, self.name, self.shell = 0, None, None
        ipython = _modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        self.enabled = (os.environ.get("NBGRADER_EXECUTION") == "autograde"
                        and hasattr(shell, "events"))
        if self.enabled:  # at import: the integrity record includes the callback
            self.shell = shell
            shell.events.register("post_run_cell", self.publish)

    def __call__(self, name):
        if self.depth == 0:
            self.name = name
        return self

    def __enter__(self):
        self.depth += 1

    def __exit__(self, kind, error, traceback):
        self.depth -= 1
        if self.depth == 0 and self.enabled:
            self.record(_public_name(self.name), error)
        return False

    def record(self, name, error):
        last = self.entries[-1] if self.entries else None
        if error is None and last and last["passed"] and last["name"] == name:
            last["count"] += 1
        elif len(self.entries) >= _MAX_LOGGED:
            self.omitted += 1
        elif error is None:
            self.entries.append({"name": name, "passed": True, "count": 1})
        else:
            message = str(error) if isinstance(error, AssertionError) else (
                f"{type(error).__name__}: {error}")
            self.entries.append({"name": name, "passed": False,
                                 "message": message[:2000]})

    def publish(self, result=None):
        """Send this cell's record as a display_data output, then start afresh."""
        entries, omitted = self.entries, self.omitted
        self.entries, self.omitted, self.depth = [], 0, 0
        if entries or omitted:
            self.shell.display_pub.publish(
                data={CHECKS_MIME: {"checks": entries, "omitted": omitted}},
                metadata={})


_log = _CheckLog()


def check_shape(name, actual, shape, context=None):
    """Assert ``actual`` has exactly ``shape``."""
    with _log(name):
        got = _as_numeric(name, actual, context).shape
        if got != tuple(shape):
            _fail(f"{name}{_where(context)} should have shape {tuple(shape)}, "
                  f"got shape {got}")
        _verify()


def check_array(name, actual, expected, *, atol=1e-6, rtol=1e-5, context=None):
    """Assert ``actual`` has ``expected``'s shape and values within tolerance.

    Tolerances follow ``numpy.isclose``: |actual - expected| <= atol + rtol *
    |expected|, elementwise. NaN never matches. The message names the first
    element that differs and how many differ.
    """
    with _log(name):
        got = _as_numeric(name, actual, context)
        want = _expected(expected)
        if got.shape != want.shape:
            _fail(
                f"{name}{_where(context)} should have shape {want.shape}, "
                f"got shape {got.shape}: {_fmt(got)}"
            )
        finite = _isfinite(got)
        if not finite.all() and _isfinite(want).all():
            bad = tuple(int(i) for i in _argwhere(~finite)[0])
            _fail(
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
            _fail(
                f"{name}{_where(context)} is wrong{at}: expected {float(want[bad]):.6g}, "
                f"got {float(got[bad]):.6g} ({count} of {got.size} values differ).\n"
                f"expected: {_fmt(want)}\ngot:      {_fmt(got)}"
            )
        _verify()


def check_scalar(name, actual, expected, *, atol=1e-6, rtol=1e-5, context=None):
    """Assert ``actual`` is one number close to ``expected``."""
    with _log(name):
        got = _as_numeric(name, actual, context)
        if got.size != 1:
            _fail(f"{name}{_where(context)} should be a single number, "
                  f"got shape {got.shape}")
        check_array(name, got.reshape(()), expected, atol=atol, rtol=rtol, context=context)


def check_true(condition, message):
    """Assert ``condition`` with ``message`` (a plain ``assert`` can be stripped)."""
    with _log(None):
        lying = _integrity.lying_methods(type(condition))
        if lying:
            _fail(f"{message}\n(the condition is a {type(condition).__name__}, whose class "
                  f"defines {', '.join(lying)}; it cannot be trusted)")
        if not bool(condition):
            _fail(message)
        _verify()


def check_unchanged(name, before, after):
    """Assert an input array was not modified in place by the student's function."""
    with _log(name):
        old, new = _expected(before), _as_numeric(name, after, None)
        same = old.shape == new.shape and ((old == new) | (_isnan(old) & _isnan(new))).all()
        if not same:
            _fail(
                f"{name} changed its input array in place; work on a copy instead "
                "(for example `w = w + ...` rather than `w += ...`)"
            )
        _verify()


def verify_integrity():
    """Raise ``AssertionError`` (``COURSE-GRADING-TAMPER: ...``) on any tampering.

    Every check calls this itself; a test cell that compares values without a
    check can call it last.
    """
    _verify()


def reference(name):
    """The library function ``name`` as it was before notebook code could patch it.

    ``name`` is a dotted path under numpy, torch or math, for example
    ``"numpy.sign"`` or ``"torch.nn.functional.conv2d"``. Hidden tests compute
    expected values with it, so a submission that replaces the library's
    function does not also replace the reference. Functions are recorded when
    this module is imported, or for torch when it is first seen imported;
    import torch in the set-up cell so that no student code runs before that.
    Raises ``LookupError`` for a name that is not a function of a recorded
    module, and the tampering ``AssertionError`` if notebook code had already
    replaced the function when it was recorded.
    """
    module, _, attribute = name.rpartition(".")
    recorded = _integrity.recorded_module(module)
    if recorded is None or attribute not in recorded.objects_by_name:
        raise LookupError(f"{name} is not a recorded numpy, torch or math function")
    function = recorded.objects_by_name[attribute]
    if _defined_by_notebook(function):  # patched before it could be recorded
        raise _Tampered(_tamper_text([f"{name} is a function written in the notebook"]))
    return function


# ---------------------------------------------------------------------------
# Integrity: what was recorded at import, and what changed since
# ---------------------------------------------------------------------------

# Methods through which an object answers comparisons or conversions itself.
_LYING_METHODS = frozenset({
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__",
    "__float__", "__int__", "__index__", "__complex__", "__array__",
    "__array_ufunc__", "__array_function__", "__array_wrap__",
    "__array_interface__", "__array_struct__", "__torch_function__",
    "__instancecheck__", "__subclasscheck__",
})
# Built-in names a test cell relies on; a notebook global with one of these
# names hides the builtin from the tests.
_CRITICAL_BUILTINS = frozenset({
    "abs", "all", "any", "bool", "float", "int", "isinstance", "issubclass",
    "len", "list", "range", "repr", "set", "sorted", "str", "tuple", "type", "zip",
}) | {name for name, value in vars(builtins).items()
      if isinstance(value, type) and issubclass(value, BaseException)}
_NUMPY_MODULES = ("numpy", "numpy.linalg", "numpy.random", "numpy.testing", "math")
_TORCH_MODULES = ("torch", "torch.nn", "torch.nn.functional", "torch.nn.init",
                  "torch.linalg", "torch.autograd", "torch.special", "torch.testing",
                  "torch.fft")
_SHELL_METHODS = ("run_cell", "run_cell_async", "_run_cell", "run_code",
                  "run_ast_nodes", "transform_cell", "transform_ast",
                  "showtraceback", "_showtraceback", "showsyntaxerror",
                  "showindentationerror", "should_run_async", "set_custom_exc",
                  "get_exception_only")
_KERNEL_METHODS = ("do_execute", "execute_request", "send_response",
                   "_publish_execute_input", "_publish_status")
_NOTEBOOK_FILES = re.compile(r"ipykernel_\d+|^<ipython-input-")
_IPYTHON_PACKAGES = ("IPython", "ipykernel", "jupyter_client")
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SKIPPED_NAMES = frozenset({"In", "Out", "_oh", "_dh", "_ih", "__builtins__",
                            "__builtin__", "exit", "quit", "get_ipython", "open"})


def _is_notebook_file(filename):
    return bool(_NOTEBOOK_FILES.search(filename or ""))


def _defined_by_notebook(obj):
    """Whether ``obj`` (a function, class or callable) was written in the notebook."""
    if isinstance(obj, _partial):
        obj = obj.func
    if isinstance(obj, (types.MethodType, staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, type):
        return obj.__module__ == "__main__"
    if isinstance(obj, types.FunctionType):
        return (obj.__module__ == "__main__"
                or _is_notebook_file(obj.__code__.co_filename))
    return type(obj).__module__ == "__main__"


class _Recorded:
    """The callables of one namespace (a module's or a class's) when first seen."""

    def __init__(self, label, namespace, keep=callable, modules=False):
        self.label = label
        self.namespace = namespace
        items = [(k, v) for k, v in list(namespace.items())
                 if keep(v) and (modules or not isinstance(v, types.ModuleType))]
        self.names = tuple(k for k, _ in items)
        self.objects = tuple(v for _, v in items)
        self.objects_by_name = dict(items)
        # Already patched when first seen: written by notebook code.
        self.foreign = [f"{label}.{k} is a function written in the notebook"
                        for k, v in items if _defined_by_notebook(v)]

    def changed(self):
        get = self.namespace.get
        if not any(map(_is_not, map(get, self.names), self.objects)):
            return []
        return [f"{self.label}.{k} was replaced or deleted"
                for k, v in zip(self.names, self.objects) if get(k) is not v]

    def restore(self, target):
        for k, v in zip(self.names, self.objects):
            if self.namespace.get(k) is not v:
                setattr(target, k, v)


def _is_function(value):
    return isinstance(value, types.FunctionType)


def _is_builtin(value):
    return isinstance(value, (type, types.BuiltinFunctionType))


class _Integrity:
    """Everything the checks rely on, as recorded at import, and how to compare."""

    def __init__(self):
        self.events = []        # problems seen once (blocked reads...): they stay
        self.recorded = {}      # module name -> _Recorded
        self.classes = []       # _Recorded of library classes (torch, IPython)
        self.code = []          # (label, function) of this module's own code
        self.module = None
        self.module_record = None
        self.modules_seen = 0
        self.shell = None
        self.user_ns = None
        self.setup_names = None
        self.guard = None
        self.hooks = None       # what runs around each cell (_shell_hooks)
        self.start_count = None  # the execution count of the set-up cell
        self.strict = False
        self.root = None
        self.cwd = None
        self.trace = (None, None)
        self.shell_state = ()
        self.tensor_types = ()  # (Tensor, Parameter, TensorBase) once torch is seen
        self.overrides = []
        self.flat = None
        self.code_state = ((), (), (), ())

    # -- recording ---------------------------------------------------------

    def start(self, module):
        """Record everything; install the cell guard (and, when autograding, more)."""
        self.trace = (_gettrace(), _getprofile())
        self.record_module("builtins", vars(builtins), keep=_is_builtin)
        for name in _NUMPY_MODULES:
            self.record_module(name)
        self.record_new_modules()
        self.record_own_code(module)
        self.strict = os.environ.get("NBGRADER_EXECUTION") == "autograde"
        shell = _ipython_shell()
        if shell is not None:
            self.start_shell(shell)
        if self.strict:
            self.cwd = os.path.realpath(os.getcwd())
            self.root = _course_root(self.cwd)
            sys.addaudithook(_audit)
        self.module_record = _Recorded(module.__name__, vars(module),
                                       keep=lambda v: True, modules=True)
        self.module = module  # from now on, problems() compares

    def record_module(self, name, namespace=None, keep=callable):
        if name in self.recorded:
            return self.recorded[name]
        if namespace is None:
            mod = _modules.get(name)
            if mod is None:
                return None
            namespace = vars(mod)
        record = self.recorded[name] = _Recorded(name, namespace, keep)
        self.events.extend(record.foreign)
        return record

    def record_new_modules(self):
        """Record course.* and torch modules that were imported since last time."""
        if len(_modules) == self.modules_seen:
            return
        self.modules_seen = len(_modules)
        for name in list(_modules):
            if (name == "course" or name.startswith("course.")) and name != __name__:
                self.record_module(name)
        if "torch" in _modules and "torch" not in self.recorded:
            self.record_torch()
        for name in _TORCH_MODULES:
            if name in _modules and name not in self.recorded:
                self.record_module(name)

    def record_torch(self):
        torch = _modules["torch"]
        # torch._dynamo wraps some torch functions (torch.manual_seed) when it is
        # first imported, which any torch.compile or torch.nn call may trigger
        # later: import it now so that its wrappers are what gets recorded.
        try:
            __import__("torch._dynamo")
        except Exception:  # pragma: no cover (a torch build without dynamo)
            pass
        for name in _TORCH_MODULES:
            if name in _modules:
                self.record_module(name)
        classes = [torch.Tensor] + [v for v in vars(torch.nn).values()
                                    if isinstance(v, type)]
        for cls in classes:
            record = _Recorded(f"{cls.__module__}.{cls.__qualname__}", vars(cls),
                               keep=_is_function)
            self.events.extend(record.foreign)
            self.classes.append((cls, record))
        base = getattr(torch._C, "TensorBase", None) or torch._C._TensorBase
        self.tensor_types = (torch.Tensor, torch.nn.Parameter, base)

    def recorded_module(self, name):
        self.record_new_modules()
        known = name.startswith("torch") or name in _NUMPY_MODULES
        if name not in self.recorded and known:
            try:
                __import__(name)
            except ImportError:
                return None
            self.record_new_modules()
        return self.record_module(name)

    def record_own_code(self, module):
        functions = [(k, v) for k, v in vars(module).items() if _is_function(v)]
        for cls in [v for v in vars(module).values()
                    if isinstance(v, type) and v.__module__ == module.__name__]:
            functions += [(f"{cls.__qualname__}.{k}", v) for k, v in vars(cls).items()
                          if _is_function(v)]
        self.code = [(f"{module.__name__}.{k}", f) for k, f in functions]
        self.code_state = tuple(zip(*[(f, f.__code__, f.__defaults__, f.__kwdefaults__)
                                      for _, f in functions]))

    def all_records(self):
        return [self.module_record, *self.recorded.values(),
                *(record for _, record in self.classes)]

    def library_changes(self):
        """What changed in any recorded namespace, checked in one pass in C."""
        if self.flat is None or self.flat[0] != len(self.recorded) + len(self.classes):
            flat = {dict: ([], [], []), types.MappingProxyType: ([], [], [])}
            for record in self.all_records():
                spaces, names, objects = flat[type(record.namespace)]
                spaces += [record.namespace] * len(record.names)
                names += record.names
                objects += record.objects
            self.flat = (len(self.recorded) + len(self.classes), flat)
        dicts, proxies = self.flat[1][dict], self.flat[1][types.MappingProxyType]
        if (any(map(_is_not, map(_dict_get, dicts[0], dicts[1]), dicts[2])) or any(
                map(_is_not, map(_proxy_get, proxies[0], proxies[1]), proxies[2]))):
            return [problem for record in self.all_records()
                    for problem in record.changed()]
        return []

    def start_shell(self, shell):
        self.shell = shell
        self.user_ns = shell.user_ns
        self.shell_state = (shell.custom_exceptions, shell.CustomTB,
                            shell.InteractiveTB, shell.SyntaxTB)
        kernel = getattr(shell, "kernel", None)
        session = getattr(kernel, "session", None)
        self.overrides = [  # (object, method names, what its instance dict held)
            (owner, names, {k: vars(owner)[k] for k in names if k in vars(owner)})
            for owner, names in ((shell, _SHELL_METHODS), (kernel, _KERNEL_METHODS),
                                 (session, ("send",)))
            if owner is not None]
        owners = [shell, getattr(shell, "kernel", None), shell.displayhook,
                  getattr(getattr(shell, "kernel", None), "session", None),
                  getattr(shell, "compile", None),
                  getattr(shell, "input_transformer_manager", None),
                  getattr(shell, "events", None)]
        for owner in owners:
            for cls in type(owner).__mro__ if owner is not None else ():
                if cls.__module__.split(".")[0] in _IPYTHON_PACKAGES:
                    record = _Recorded(f"{cls.__module__}.{cls.__qualname__}",
                                       vars(cls), keep=_is_function)
                    self.classes.append((cls, record))
        if self.strict:
            _guard_displayhook(shell)
        self.guard = _CellGuard()
        shell.ast_transformers.insert(0, self.guard)  # first: sees the cell as written
        self.start_count = shell.execution_count
        self.hooks = _shell_hooks(shell)

    # -- comparing ---------------------------------------------------------

    def problems(self, frame=None):
        """Everything that differs from what was recorded; [] when all is well."""
        found = list(self.events)
        if self.module is None:  # still importing
            return found
        if _modules.get(__name__) is not self.module:
            found.append(f"sys.modules[{__name__!r}] is not the real course.grading")
        functions, codes, defaults, kwdefaults = self.code_state
        if (any(map(_is_not, map(_code_of, functions), codes))
                or any(map(_is_not, map(_defaults_of, functions), defaults))
                or any(map(_is_not, map(_kwdefaults_of, functions), kwdefaults))):
            found += [f"the code of {label} was replaced"
                      for (label, f), code, default, kwdefault
                      in zip(self.code, codes, defaults, kwdefaults)
                      if f.__code__ is not code or f.__defaults__ is not default
                      or f.__kwdefaults__ is not kwdefault]
        self.record_new_modules()
        found += self.library_changes()
        if self.strict and (_gettrace() is not self.trace[0]
                            or _getprofile() is not self.trace[1]):
            found.append("a trace or profile function was installed (sys.settrace)")
        if self.shell is not None:
            found += self.shell_problems()
            found += self.namespace_problems(frame)
        if self.strict:  # while autograding, once tampered means tampered
            self.events.extend(p for p in found if p not in self.events)
        return found

    def shell_problems(self):
        shell, found = self.shell, []
        if not any(t is self.guard for t in shell.ast_transformers):
            found.append("the cell guard was removed from IPython's ast_transformers")
        found += _hook_changes(self.hooks, _shell_hooks(shell))
        state = (shell.custom_exceptions, shell.CustomTB, shell.InteractiveTB,
                 shell.SyntaxTB)
        if any(map(_is_not, state, self.shell_state)):
            found.append("IPython's error reporting was replaced (set_custom_exc)")
        for owner, names, held in self.overrides:
            own = vars(owner)
            found += [f"IPython's {type(owner).__name__}.{k} was replaced"
                      for k in names if own.get(k) is not held.get(k)]
        if shell.display_trap.hook is not shell.displayhook or (
                self.strict and type(shell.displayhook) is not _GuardedHook.cls):
            found.append("IPython's displayhook was replaced")
        return found

    def restore_shell(self):
        """Put back IPython's error reporting so that a failing cell shows its error."""
        shell = self.shell
        (shell.custom_exceptions, shell.CustomTB, shell.InteractiveTB,
         shell.SyntaxTB) = self.shell_state
        for owner, names, held in self.overrides:
            own = vars(owner)
            for k in names:
                if k in held:
                    own[k] = held[k]
                else:
                    own.pop(k, None)
        for cls, record in self.classes:
            if cls.__module__.split(".")[0] in _IPYTHON_PACKAGES:
                record.restore(cls)
        _restore_hooks(shell, self.hooks)

    def namespace_problems(self, frame):
        ns, found = self.user_ns, []
        if self.setup_names is None:  # the first time after the set-up cell
            self.setup_names = {k: v for k, v in ns.items() if _is_library_binding(v)
                                and k not in _SKIPPED_NAMES and not k.startswith("_")}
        for name, value in self.setup_names.items():
            if ns.get(name) is not value:
                found.append(f"the notebook name {name!r} set up by the locked "
                             "set-up cell was rebound")
        builtin_names = self.recorded["builtins"].objects_by_name
        for name in _CRITICAL_BUILTINS:
            if name in ns and ns[name] is not builtin_names.get(name):
                found.append(f"the notebook's global name {name!r} hides Python's "
                             f"built-in {name}, which the tests rely on; rename it "
                             f"(or run `del {name}`)")
        values = [(k, v) for k, v in ns.items() if k not in _SKIPPED_NAMES]
        while frame is not None:  # the locals of test code running now
            if frame.f_globals is ns and frame.f_code.co_name != "<module>":
                values += list(frame.f_locals.items())
            frame = frame.f_back
        found += self.liars(values)
        return found

    def lying_methods(self, cls):
        """Comparison or conversion methods that notebook code gave ``cls``."""
        try:
            mro = _type_mro(cls)
        except TypeError:
            return []
        found = []
        for klass in mro:
            own = _type_dict(klass)
            for name in _LYING_METHODS.intersection(own):
                if _lies(klass, own[name]):
                    found.append(name)
        return sorted(set(found))

    def liars(self, values, budget=20000):
        found, seen = [], {}
        stack = [(name, value, 0) for name, value in values]
        while stack and budget > 0:
            budget -= 1
            name, value, depth = stack.pop()
            kind = type(value)
            if id(kind) in _SAFE_TYPES or (
                    kind is _ndarray and value.dtype.kind != "O"):
                continue
            for cls in (kind, value) if isinstance(value, type) else (kind,):
                if id(cls) not in seen:
                    seen[id(cls)] = self.lying_methods(cls)
                if seen[id(cls)]:
                    what = "class" if cls is value else f"{cls.__name__} object"
                    methods = ", ".join(seen[id(cls)])
                    found.append(f"{name!r} holds a {what} defined in the notebook "
                                 f"with its own {methods}: comparisons with it cannot "
                                 "be trusted")
            if depth >= 4:
                continue
            if kind is list or kind is tuple or kind is set or kind is frozenset:
                stack += [(name, item, depth + 1) for item in list(value)[:256]]
            elif kind is dict:
                items = list(value.items())[:256]
                stack += [(name, item, depth + 1) for pair in items for item in pair]
            elif kind is _ndarray:
                stack += [(name, item, depth + 1) for item in value.ravel()[:256]]
        return list(dict.fromkeys(found))

    # -- files while autograding -------------------------------------------

    def protected(self, path):
        """Whether notebook code may not open ``path`` while being autograded."""
        try:
            real = _realpath(_fsdecode(path))
        except (TypeError, ValueError):
            return False
        base = real.rsplit(os.sep, 1)[-1].lower()
        if base.endswith(".ipynb") or base.startswith("gradebook"):
            return True
        if self.root is None or not _inside(real, self.root):
            return False
        if base.endswith((".db", ".sqlite", ".sqlite3")):
            return True
        for folder in ("solutions", "source", "submitted", "autograded", "feedback",
                       "release", "feedback_release", "exchange"):
            if _inside(real, _join(self.root, folder)):
                return not _inside(real, self.cwd)
        return False


# Types whose objects cannot hide a lying object (compared by id).
_SAFE_TYPES = frozenset(map(id, {
    type(None), bool, int, float, complex, str, bytes, range, slice,
    types.FunctionType, types.BuiltinFunctionType, types.MethodType,
    types.ModuleType, types.CodeType, np.random.Generator,
} | {t for t in vars(np).values() if isinstance(t, type) and issubclass(t, _generic)}))


def _lies(klass, method):
    """Whether ``method`` in ``klass`` was written by notebook code."""
    if isinstance(method, (staticmethod, classmethod)):
        method = method.__func__
    if isinstance(method, property):
        method = method.fget
    if isinstance(method, types.FunctionType):
        if _is_notebook_file(method.__code__.co_filename):
            return True
        if klass.__module__ != "__main__":
            return False
        # dataclass(eq=True) writes __eq__ from the fields: honest.
        return not ("__dataclass_fields__" in vars(klass)
                    and method.__code__.co_filename == "<string>")
    return klass.__module__ == "__main__" and method is not None


def _is_library_binding(value):
    if isinstance(value, types.ModuleType):
        return True
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return getattr(value, "__module__", None) not in (None, "__main__")
    return False


def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _course_root(start):
    """The nearest folder above ``start`` holding nbgrader_config.py, or None."""
    folder = start
    while True:
        if os.path.isfile(os.path.join(folder, "nbgrader_config.py")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _ipython_shell():
    ipython = _modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    return shell if hasattr(shell, "ast_transformers") else None


# What IPython runs around every cell, by the attribute that holds it: code
# there can rewrite or skip a test cell before the cell guard sees it.
_TRANSFORMER_LISTS = ("input_transformers_cleanup", "input_transformers_post",
                      "ast_transformers")
# Libraries whose own functions may add themselves to an event, and which
# events: matplotlib's inline backend draws figures after each cell.
_EVENT_LIBRARIES = {"post_execute": ("matplotlib", "matplotlib_inline")}


def _shell_hooks(shell):
    """What runs around each cell: the transformer lists and the event callbacks.

    Returns ``(lists, events)``: ``lists`` holds ``(name, list object, its
    items)`` for each of ``_TRANSFORMER_LISTS``; ``events`` is ``(the
    EventManager, its callbacks dict, {event: its callbacks})``, leaving out
    callbacks a plotting library registered itself (``_EVENT_LIBRARIES``).
    """
    lists = tuple((name, items, tuple(items)) for name, items in
                  ((name, getattr(shell, name)) for name in _TRANSFORMER_LISTS))
    manager = shell.events
    callbacks = manager.callbacks
    events = {name: tuple(cb for cb in list(functions)
                          if not _library_callback(name, cb))
              for name, functions in list(callbacks.items())}
    return lists, (manager, callbacks, events)


def _library_callback(event, callback):
    """Whether ``callback`` is a library's own function allowed on ``event``."""
    packages = _EVENT_LIBRARIES.get(event, ())
    if not isinstance(callback, types.FunctionType) or _defined_by_notebook(callback):
        return False
    top = str(getattr(callback, "__module__", "")).split(".")[0]
    package = _modules.get(top)
    folder = os.path.dirname(getattr(package, "__file__", None) or "") + os.sep
    return (top in packages and folder != os.sep
            and callback.__code__.co_filename.startswith(folder))


def _hook_changes(recorded, now):
    """What was added to, removed from or reordered in what runs around each cell."""
    (lists, events), (now_lists, now_events) = recorded, now
    found = []
    for (name, items, held), (_, now_items, now_held) in zip(lists, now_lists):
        if now_items is not items or len(now_held) != len(held) or any(
                map(_is_not, now_held, held)):
            found.append(f"IPython's {name} were changed: code added there can "
                         "rewrite or skip a cell before it runs")
        first = now_held[0] if now_held else None
        if name == "ast_transformers" and first is not held[0]:
            found.append("the cell guard no longer runs first in IPython's "
                         "ast_transformers")
    if now_events[0] is not events[0] or now_events[1] is not events[1]:
        found.append("IPython's event callbacks were replaced")
    for event in sorted(set(events[2]) | set(now_events[2])):
        held, now_held = events[2].get(event, ()), now_events[2].get(event, ())
        if len(now_held) != len(held) or any(map(_is_not, now_held, held)):
            found.append(f"a callback was added to or removed from IPython's "
                         f"{event!r} event: it can rewrite or skip a cell")
    return found


def _restore_hooks(shell, recorded):
    """Put back the recorded transformer lists and event callbacks, in place."""
    lists, (manager, callbacks, events) = recorded
    for name, items, held in lists:
        items[:] = held
        if name == "input_transformers_cleanup":
            shell.input_transformer_manager.cleanup_transforms = items
        else:
            setattr(shell, name, items)
    shell.events = manager
    manager.callbacks = callbacks
    for event, held in events.items():
        kept = [cb for cb in list(callbacks.get(event, ()))
                if _library_callback(event, cb) and cb not in held]
        callbacks[event] = list(held) + kept
    for event in [e for e in list(callbacks) if e not in events]:
        del callbacks[event]


class _CellGuard(ast.NodeTransformer):
    """Checks integrity before every notebook cell runs.

    The guard is the first of IPython's ast_transformers, so it sees the
    cell as the student wrote it. While autograding, a cell run after
    tampering is replaced by a failing ``assert``, so that it scores nothing
    and shows the marker; otherwise the problem is printed and the checks
    fail. A submission that removes the guard does not escape it: while
    autograding, the audit hook (which cannot be removed) also checks when
    a cell is compiled and when its code runs (:meth:`audit`).
    """

    busy = False

    @staticmethod
    def audit(event, args):
        """Check again when a notebook cell is compiled (``compile``) or run (``exec``).

        After tampering, what runs around the cells is put back (so the guard
        fails the cell when IPython transforms it), and the cell's code
        itself raises the tampering ``AssertionError`` before it runs.
        """
        if event == "compile":
            source, filename = args[0], args[1]
            if not isinstance(source, (str, bytes)):
                return
        else:
            code = args[0]
            if not isinstance(code, types.CodeType) or code.co_name != "<module>":
                return
            filename = code.co_filename
        shell = _integrity.shell
        if (_CellGuard.busy or shell is None or _integrity.module is None
                or not isinstance(filename, str) or not _is_notebook_file(filename)
                or shell.execution_count == _integrity.start_count):
            return  # not a cell, or the set-up cell itself
        _CellGuard.busy = True
        try:
            problems = _integrity.problems()
            if problems:
                _integrity.restore_shell()
        finally:
            _CellGuard.busy = False
        if problems and event == "exec":
            raise _Tampered(_tamper_text(problems))

    def visit(self, node):
        try:
            problems = _integrity.problems()
        except Exception as exc:  # never let IPython drop the guard
            problems = [f"the integrity check failed: {type(exc).__name__}: {exc}"]
        if not problems:
            return node
        text = _tamper_text(problems)
        if not _integrity.strict:
            print(text, file=sys.stderr)
            return node
        try:
            _integrity.restore_shell()
        except Exception:  # pragma: no cover
            pass
        failing = ast.Module(
            body=[ast.Assert(test=ast.Constant(False), msg=ast.Constant(text))],
            type_ignores=[],
        )
        return ast.fix_missing_locations(failing)


class _GuardedHook:
    cls = None


def _guard_displayhook(shell):
    """Drop values displayed from inside functions: nbgrader would grade them."""
    hook = shell.displayhook
    base = type(hook)

    def __call__(self, result=None):
        caller = _getframe(1)
        top = caller.f_back
        from_cell = (caller.f_code.co_name == "<module>" and top is not None
                     and top.f_code.co_name == "run_code")
        if result is not None and not from_cell:
            _integrity.events.append(
                "notebook code displayed a value while a cell ran (nbgrader "
                "would have read it as the cell's score)")
            return None
        return base.__call__(self, result)

    _GuardedHook.cls = type(base.__name__, (base,), {"__call__": __call__,
                                                     "__module__": base.__module__})
    hook.__class__ = _GuardedHook.cls
    _integrity.classes.append(
        (_GuardedHook.cls, _Recorded("displayhook", vars(_GuardedHook.cls),
                                     keep=_is_function)))


_FILE_EVENTS = frozenset({"open", "sqlite3.connect", "os.link", "os.rename",
                          "os.symlink", "shutil.copyfile", "shutil.copytree"})
_PROCESS_EVENTS = frozenset({"os.system", "subprocess.Popen", "os.exec",
                             "os.posix_spawn", "os.spawn"})
_SECRET_WORDS = (".ipynb", "gradebook", "solutions", "submitted", "autograded")


def _audit(event, args):
    """Refuse, while autograding, to read what holds hidden tests or grades."""
    if event in _FILE_EVENTS:
        paths = args[:2] if event != "open" and event != "sqlite3.connect" else args[:1]
        for path in paths:
            if (isinstance(path, (str, bytes, os.PathLike))
                    and _integrity.protected(path)):
                _blocked(f"notebook code tried to read {_fsdecode(path)!r} while the "
                         "tests ran")
    elif event == "compile" or event == "exec":
        _CellGuard.audit(event, args)
    elif event in _PROCESS_EVENTS:
        text = repr(args)
        if any(word in text for word in _SECRET_WORDS):
            _blocked(f"notebook code tried to run {text[:120]} while the tests ran")


def _blocked(problem):
    _integrity.events.append(problem)
    raise PermissionError(f"{TAMPER_MARKER}: {problem}")


_integrity = _Integrity()


# ---------------------------------------------------------------------------
# Reading an autograded notebook from outside
# ---------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ALLOWED_MAGICS = frozenset({"matplotlib", "time", "timeit", "precision", "pprint",
                             "who", "whos", "capture", "config_inline"})
_PROTECTED_MODULES = ("numpy", "torch", "builtins", "sys", "course", "IPython",
                      "ipykernel", "math", "random", "nbgrader", "sklearn", "scipy",
                      "operator", "functools", "types")
_SUSPICIOUS_ATTRIBUTES = {
    "_getframe": "inspects the call stack",
    "f_globals": "reaches into another frame's variables",
    "f_locals": "reaches into another frame's variables",
    "f_back": "walks the call stack",
    "f_builtins": "reaches into another frame's builtins",
    "currentframe": "inspects the call stack",
    "getouterframes": "inspects the call stack",
    "settrace": "installs a trace function",
    "setprofile": "installs a profile function",
    "addaudithook": "installs an audit hook",
    "__code__": "touches a function's code object",
    "__closure__": "touches a function's closure",
    "cell_contents": "touches a function's closure",
    "__globals__": "touches a function's globals",
    "__builtins__": "touches the builtins",
    "__subclasses__": "lists classes to patch them",
    "ast_transformers": "changes how IPython runs cells",
    "input_transformers_post": "changes how IPython runs cells",
    "input_transformers_cleanup": "changes how IPython runs cells",
    "input_transformer_manager": "changes how IPython runs cells",
    "showtraceback": "changes how errors are reported",
    "_showtraceback": "changes how errors are reported",
    "set_custom_exc": "changes how errors are reported",
    "custom_exceptions": "changes how errors are reported",
    "CustomTB": "changes how errors are reported",
    "InteractiveTB": "changes how errors are reported",
    "displayhook": "emits results that nbgrader reads as scores",
    "excepthook": "changes how errors are reported",
    "display_trap": "emits results that nbgrader reads as scores",
    "user_ns": "changes the notebook's namespace from outside",
    "user_global_ns": "changes the notebook's namespace from outside",
    "get_referrers": "searches the interpreter's objects",
    "get_referents": "searches the interpreter's objects",
    "get_objects": "searches the interpreter's objects",
    "get_ipython": "reaches into IPython",
}
_SUSPICIOUS_NAMES = {
    "exec": "runs code from a string", "eval": "runs code from a string",
    "compile": "compiles code from a string", "__import__": "imports dynamically",
    "globals": "writes notebook globals from inside a function",
    "vars": "reads or writes a namespace as a dict",
    "__builtins__": "touches the builtins", "__builtin__": "touches the builtins",
    "get_ipython": "reaches into IPython",
}
_SUSPICIOUS_IMPORTS = {
    "ctypes": "can rewrite memory", "sqlite3": "can read the gradebook",
    "importlib": "imports dynamically", "__main__": "reaches the notebook's module",
    "subprocess": "runs programs", "pty": "runs programs",
    "inspect": "inspects frames", "nbgrader": "uses nbgrader itself",
    "ipykernel": "reaches into the Jupyter kernel", "marshal": "loads code objects",
}
_SUSPICIOUS_STRINGS = (".ipynb", "gradebook", "hidden tests", "begin solution",
                       "nbgrader", "autograded", "solutions/", TAMPER_MARKER.lower())
_SHELL_CALLS = {"system", "popen", "spawnl", "spawnv", "spawnve", "spawnvp",
                "execv", "execve", "execl", "execvp", "posix_spawn", "posix_spawnp",
                "getoutput", "getstatusoutput"}


def find_tampering(autograded_notebook_path):
    """Signs of tampering in a notebook autograded by nbgrader: a list of findings.

    Contract (used by ``course grade`` to flag a submission for review):

    - ``autograded_notebook_path`` is a notebook written by ``nbgrader
      autograde`` (``autograded/<student>/<assignment>/<notebook>.ipynb``);
      it is only read.
    - Returns a list of short, human-readable strings, one per finding, in the
      order of the cells, each starting with where it was found (the cell's
      ``grade_id``, or ``cell <index>`` for cells without one), e.g.
      ``"test_sign: COURSE-GRADING-TAMPER: numpy.sign was replaced or deleted"``
      or ``"perceptron_update line 4: assigns to numpy.allclose"``. Identical
      findings from later cells are reported once.
    - ``[]`` means nothing was found. Any finding means "a person should look
      at this submission", not proof of cheating: the static rules also catch
      unusual but honest code (``exec``, a class with its own ``__eq__``).
    - Raises ``OSError`` if the file cannot be read and ``ValueError`` if it is
      not a notebook.

    What it looks for:

    1. The ``COURSE-GRADING-TAMPER:`` marker in any output (stream, error,
       display): written by ``course.grading`` when it caught tampering while
       the notebook ran.
    2. A graded cell that shows a result before an error: nbgrader would read
       that result as the cell's score.
    3. In the cells a student could edit (code cells that are not locked), code
       that tampers with the grading and cannot always be stopped while it
       runs: a code cell before the locked set-up cell; rebinding names the
       locked cells define or built-in names the tests use; assigning to
       attributes of numpy, torch, builtins, sys, course or IPython (including
       ``setattr``); frame, closure and code-object manipulation; dynamic code
       (``exec``, ``eval``, ``__import__``, ``importlib``); classes that answer
       comparisons or conversions themselves, or subclass ``numpy.ndarray``;
       reading notebooks or the gradebook; running programs or shell commands.
    """
    with open(autograded_notebook_path, encoding="utf-8") as f:
        text = f.read()
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError:
        notebook = None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError(f"{autograded_notebook_path} is not a notebook")
    cells = notebook["cells"]
    findings = []
    for index, cell in enumerate(cells):
        label = _cell_label(cell, index)
        findings += [f"{label}: {text}" for text in _output_findings(cell)]
    findings += _source_findings(cells)
    seen, unique = set(), []
    for finding in findings:
        key = finding.split(": ", 1)[-1]
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


def _nbgrader(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _cell_label(cell, index):
    return _nbgrader(cell).get("grade_id") or f"cell {index}"


def _text(value):
    return "".join(value) if isinstance(value, list) else str(value or "")


def _output_findings(cell):
    found, kinds = [], []
    for output in cell.get("outputs", []) or []:
        kind = output.get("output_type")
        stderr = kind == "stream" and output.get("name") == "stderr"
        kinds.append("stderr" if stderr else kind)
        parts = [_text(output.get("text"))]
        if kind == "error":
            parts += [str(output.get("ename", "")), str(output.get("evalue", ""))]
            parts += [_text(line) for line in output.get("traceback", [])]
        for value in (output.get("data") or {}).values():
            parts.append(_text(value))
        for line in _ANSI.sub("", "\n".join(parts)).splitlines():
            if TAMPER_MARKER + ":" in line:
                found.append(line[line.index(TAMPER_MARKER):].strip()[:300])
    meta = _nbgrader(cell)
    graded = meta.get("grade") and not meta.get("solution")
    if cell.get("cell_type") == "code" and graded:
        if "execute_result" in kinds and ("error" in kinds or "stderr" in kinds):
            found.append("a graded cell shows a result before its error; nbgrader "
                         "read that result as the cell's score")
    return found


def _python_source(source):
    """A cell's source as Python (IPython magics and shell escapes translated)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:
        return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line
                         for line in source.splitlines())


def _source_findings(cells):
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    locked = [(i, c) for i, c in code if _nbgrader(c).get("locked")]
    editable = [(i, c) for i, c in code if not _nbgrader(c).get("locked")]
    trees = {}
    for i, cell in code:
        try:
            trees[i] = ast.parse(_python_source(_text(cell.get("source"))))
        except SyntaxError:
            trees[i] = None  # a cell that does not compile cannot run
    protected, imports, assigned = set(), set(), set()
    aliases = {}
    for i, _ in code:
        for alias, module in _module_aliases(trees[i]).items():
            aliases.setdefault(alias, module)
    for i, _ in locked:
        if trees[i] is None:
            continue
        for node in trees[i].body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    name = (a.asname or a.name).split(".")[0]
                    protected.add(name)
                    imports.add((getattr(node, "module", None), a.name, name))
            elif isinstance(node, _DEFINITIONS):
                protected.add(node.name)
        assigned |= {n.id for n in ast.walk(trees[i]) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Store)}
    first_locked = locked[0][0] if locked else None
    found = []
    for i, cell in editable:
        if trees[i] is None or not trees[i].body:
            continue
        label = _cell_label(cell, i)
        if first_locked is not None and i < first_locked:
            found.append(f"{label}: a code cell runs before the locked set-up cell")
        scan = _SourceScan(protected | _CRITICAL_BUILTINS, imports,
                           assigned | protected | _CRITICAL_BUILTINS, aliases)
        scan.visit(trees[i])
        found += [f"{label} line {line}: {what}" for line, what in scan.found]
    return found


def _module_aliases(tree):
    aliases = {}
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    aliases[a.asname] = a.name
                else:
                    aliases[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


class _SourceScan(ast.NodeVisitor):
    """Finds tampering code in one editable cell (see find_tampering)."""

    def __init__(self, protected, locked_imports, test_names, aliases):
        self.protected = protected
        self.locked_imports = locked_imports
        self.test_names = test_names
        self.aliases = aliases
        self.found = []
        self.depth = 0  # > 0 inside a function or class
        self.allowed = set()

    def flag(self, node, what):
        self.found.append((getattr(node, "lineno", 0), what))

    # where a dotted expression starts: np.random.x -> "numpy.random.x"
    def dotted(self, node):
        parts = []
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Attribute):
                parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            root = self.aliases.get(node.id, node.id if node.id in (
                "__builtins__", "__builtin__") else None)
            if root is not None:
                return ".".join([root] + parts[::-1])
        return None

    def protected_target(self, node):
        name = self.dotted(node)
        if name is None:
            return None
        top = name.split(".")[0]
        if top in ("__builtins__", "__builtin__") or (
                top in _PROTECTED_MODULES and not name.startswith("torch.backends")):
            return name
        return None

    def check_target(self, target, verb):
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.check_target(element, verb)
        elif isinstance(target, ast.Starred):
            self.check_target(target.value, verb)
        elif isinstance(target, ast.Name):
            if self.depth == 0 and target.id in self.protected:
                self.flag(target, f"{verb} {target.id!r}, which the locked cells or "
                                  "the tests rely on")
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            name = self.protected_target(target)
            if name is not None:
                self.flag(target, f"{verb} {name}")
            elif isinstance(target, ast.Attribute) and target.attr in (
                    "__class__", "__module__", "__qualname__", "__dict__"):
                self.flag(target, f"{verb} an object's {target.attr}")

    def visit_Assign(self, node):
        for target in node.targets:
            self.check_target(target, "assigns to")
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self.check_target(node.target, "assigns to")
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self.check_target(node.target, "assigns to")
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self.check_target(target, "deletes")
        self.generic_visit(node)

    def visit_For(self, node):
        self.check_target(node.target, "assigns to")
        self.generic_visit(node)

    def visit_With(self, node):
        for item in node.items:
            if item.optional_vars is not None:
                self.check_target(item.optional_vars, "assigns to")
        self.generic_visit(node)

    def visit_Global(self, node):
        for name in node.names:
            if name in self.test_names:
                self.flag(node, f"declares {name!r} global in a function: the tests "
                                "use that name")
        self.generic_visit(node)

    def visit_Nonlocal(self, node):
        self.generic_visit(node)

    def visit_Import(self, node):
        for a in node.names:
            top = a.name.split(".")[0]
            if top in _SUSPICIOUS_IMPORTS:
                self.flag(node, f"imports {a.name}: {_SUSPICIOUS_IMPORTS[top]}")
            bound = (a.asname or top)
            if self.depth == 0 and bound in self.protected and (
                    None, a.name, bound) not in self.locked_imports and bound != top:
                self.flag(node, f"rebinds {bound!r} with an import")

    def visit_ImportFrom(self, node):
        module = node.module or ""
        top = module.split(".")[0]
        if top in _SUSPICIOUS_IMPORTS:
            self.flag(node, f"imports from {module}: {_SUSPICIOUS_IMPORTS[top]}")
        for a in node.names:
            bound = a.asname or a.name
            if a.name == "*":
                self.flag(node, f"imports * from {module}")
            elif self.depth == 0 and bound in self.protected and (
                    module, a.name, bound) not in self.locked_imports:
                self.flag(node, f"rebinds {bound!r} with an import from {module}")

    def visit_FunctionDef(self, node):
        if self.depth == 0 and node.name in self.protected:
            self.flag(node, f"redefines {node.name!r}, which the locked cells or "
                            "the tests rely on")
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        if self.depth == 0 and node.name in self.protected:
            self.flag(node, f"redefines {node.name!r}, which the tests rely on")
        for base in node.bases:
            name = self.dotted(base) or ""
            if name in ("numpy.ndarray", "numpy.generic", "torch.Tensor") or (
                    isinstance(base, ast.Name) and base.id in ("float", "int", "bool")):
                self.flag(node, f"class {node.name} subclasses "
                                f"{name or ast.unparse(base)}")
        lying = sorted(_LYING_METHODS & _defined_names(node.body))
        if lying:
            self.flag(node, f"class {node.name} defines {', '.join(lying)}: its "
                            "objects can answer comparisons or conversions themselves")
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_Lambda(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_Call(self, node):
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr in ("run_line_magic",
                                                              "run_cell_magic")
                and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name)
                and func.value.func.id == "get_ipython"):
            magic = node.args[0].value if node.args and isinstance(
                node.args[0], ast.Constant) else None
            if magic in _ALLOWED_MAGICS:
                self.allowed.add(id(func.value.func))
            else:
                self.flag(node, f"runs the IPython magic %{magic}")
                self.allowed.add(id(func.value.func))
        setter = isinstance(func, ast.Name) and func.id in ("setattr", "delattr")
        if setter and node.args:
            name = self.protected_target(node.args[0])
            if name is None and isinstance(node.args[0], ast.Name) and \
                    node.args[0].id in ("__builtins__",):
                name = node.args[0].id
            if name is not None:
                self.flag(node, f"calls {func.id} on {name}")
        if isinstance(func, ast.Name) and func.id == "type" and len(node.args) == 3:
            self.flag(node, "creates a class with type(name, bases, namespace)")
        if isinstance(func, ast.Attribute) and func.attr in _SHELL_CALLS:
            self.flag(node, f"runs a program ({func.attr})")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in _SUSPICIOUS_ATTRIBUTES:
            self.flag(node, f"uses .{node.attr}: {_SUSPICIOUS_ATTRIBUTES[node.attr]}")
        elif node.attr == "modules" and self.dotted(node) == "sys.modules":
            self.flag(node, "uses sys.modules: can replace course.grading")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in _SUSPICIOUS_NAMES and id(node) not in self.allowed:
            self.flag(node, f"uses {node.id}: {_SUSPICIOUS_NAMES[node.id]}")

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            low = node.value.lower()
            for word in _SUSPICIOUS_STRINGS:
                if word in low:
                    self.flag(node, f"mentions {word!r}")
                    break


def _defined_names(body):
    names = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


# Last: record this module as it is now, then install the guards.
_integrity.start(_modules[__name__])

"""Is a surviving mutant a different program at all?

A mutant the hidden tests did not catch is either a gap in the tests or a
change that computes the same thing (``x.T @ y`` where ``x`` is a vector,
``mistakes >= 1`` for ``mistakes != 0`` on counts). This module tells them
apart by running: it executes the solution notebook once, records the
arguments its cells pass to every function of the answer cells, then calls
the solution's function and the mutant's on those arguments and on random
variations of them (float arrays jittered, integer arrays shuffled, float
numbers scaled; the same seeds for both). A mutant whose results, and whose
changes to its arguments, equal the solution's on every trial is reported as
*probably equivalent*; the first difference, exception or time-out makes it
a real survivor.

It runs in its own process (``python -m course.mutants.equivalence IN OUT``,
from :func:`check`), because a mutant may loop for ever; the solution is the
instructor's own code, so no sandbox.
"""

import ast
import copy
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np

from course.grader.answers import BEGIN, END, nbgrader_metadata

MAX_CALLS = 8  # recorded calls kept per function: the first that differ
MIN_TRIALS = 3  # trials that must agree before a mutant is called equivalent
RTOL, ATOL = 1e-9, 1e-12


def check(notebook, mutants, seconds_each=10.0, trials=12, cwd=None):
    """{mutant key: {"equivalent": bool, "trials": n, "why": text}} in a subprocess.

    ``mutants``: {key: (grade_id, function, mutated answer source)} of one
    source notebook. The whole check is bounded by the solution's own run
    plus ``seconds_each`` per mutant (and a margin).
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="course-equivalence-") as tmp:
        job = Path(tmp) / "job.json"
        out = Path(tmp) / "out.json"
        job.write_text(json.dumps({
            "notebook": str(Path(notebook).resolve()), "seconds_each": seconds_each,
            "trials": trials,
            "mutants": {key: list(value) for key, value in mutants.items()}}))
        env = {**os.environ, "MPLBACKEND": "Agg"}
        limit = 1800 + len(mutants) * (seconds_each * 3 + 5)
        try:
            subprocess.run([sys.executable, "-m", "course.mutants.equivalence", str(job),
                            str(out)], cwd=cwd or Path(notebook).parent, env=env,
                           timeout=limit, check=False, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        except subprocess.TimeoutExpired:
            pass
        results = json.loads(out.read_text()) if out.exists() else {}
    for key in mutants:
        results.setdefault(key, {"equivalent": False, "trials": 0,
                                 "why": "the equivalence check did not finish"})
    return results


# ---------------------------------------------------------------------------
# the notebook, cell by cell


def _cells(notebook):
    """(kind, grade_id, code) of each code cell: setup, answer, test or other."""
    nb = nbformat.read(notebook, as_version=4)
    cells, seen_answer = [], False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = nbgrader_metadata(cell)
        code = "\n".join(line for line in cell.source.split("\n")
                         if BEGIN not in line and END not in line)
        code = _python(code)
        if meta.get("solution"):
            kind, seen_answer = "answer", True
        elif meta.get("grade"):
            kind = "test"
        else:
            kind = "other" if seen_answer else "setup"
        cells.append((kind, meta.get("grade_id"), code))
    return cells


def _python(code):
    """Cell code as plain Python (IPython's magics turned into calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return code
    return TransformerManager().transform_cell(code)


DEFINITIONS = (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _statements(code):
    try:
        return ast.parse(code).body
    except SyntaxError:
        return []


def _run(statement, namespace):
    exec(compile(ast.Module([statement], []), "<cell>", "exec"), namespace)


# ---------------------------------------------------------------------------
# recording the calls the notebook makes


def _shape_of(value):
    """What tells calls apart: array shapes and dtypes, small values as they are."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, str(value.dtype))
    if type(value) in (list, tuple):
        return (type(value).__name__, tuple(_shape_of(v) for v in value[:8]), len(value))
    if type(value) is dict:
        return tuple(sorted((k, _shape_of(v)) for k, v in value.items()))
    if type(value) in (int, float, bool, str) or value is None:
        return value
    return type(value).__name__


class _Recorder:
    """Keeps the first calls of each answer function made by the notebook's cells.

    Only calls from the cells themselves count (not one answer function
    calling another: those are compared through the outer function), and
    only calls that differ in shapes or small values, so that a test's loop
    over one kind of input does not crowd out the others.
    """

    def __init__(self):
        self.calls = {}  # name -> [(args, kwargs)]
        self.keys = {}
        self.depth = 0
        self.originals = {}  # name -> function; "Class.method" -> function

    def wrap(self, name, function):
        self.originals[name] = function

        def recorded(*args, **kwargs):
            if self.depth == 0:
                self.keep(name, args, kwargs)
            self.depth += 1
            try:
                return function(*args, **kwargs)
            finally:
                self.depth -= 1

        recorded.__wrapped__ = function
        return recorded

    def keep(self, name, args, kwargs):
        kept, keys = self.calls.setdefault(name, []), self.keys.setdefault(name, set())
        key = repr((_shape_of(args[1:] if "." in name else args), _shape_of(kwargs)))
        if len(kept) >= MAX_CALLS or key in keys:
            return
        try:
            kept.append((copy.deepcopy(args), copy.deepcopy(kwargs)))
            keys.add(key)
        except Exception:  # noqa: BLE001 (an argument that cannot be copied)
            pass

    def install(self, statement, namespace):
        """Wrap what ``statement`` (just run) defined in ``namespace``."""
        if isinstance(statement, ast.FunctionDef):
            namespace[statement.name] = self.wrap(statement.name, namespace[statement.name])
        elif isinstance(statement, ast.ClassDef):
            cls = namespace[statement.name]
            for item in statement.body:
                if isinstance(item, ast.FunctionDef) and isinstance(
                        cls.__dict__.get(item.name), type(lambda: 0)):
                    key = f"{statement.name}.{item.name}"
                    setattr(cls, item.name, self.wrap(key, cls.__dict__[item.name]))

    def uninstall(self, namespace):
        for key, function in self.originals.items():
            if "." in key:
                cls, method = key.split(".", 1)
                setattr(namespace[cls], method, function)
            else:
                namespace[key] = function


def _record(cells):
    """The namespace after the setup cells, and the recorded calls."""
    namespace = {"__name__": "__main__"}
    recorder, setup = _Recorder(), None
    for kind, _, code in cells:
        if kind != "setup" and setup is None:
            setup = dict(namespace)
        for statement in _statements(code):
            try:
                _run(statement, namespace)
            except Exception:  # noqa: BLE001 (a failing test cell: record what ran)
                break
            if kind == "answer":
                recorder.install(statement, namespace)
    recorder.uninstall(namespace)
    return (setup if setup is not None else dict(namespace)), namespace, recorder.calls


def _definitions(cells, setup, replace=None):
    """A namespace with the defs of the answer and other cells (one replaced)."""
    namespace = dict(setup)
    for kind, grade_id, code in cells:
        if kind not in ("answer", "other"):
            continue
        if replace is not None and grade_id == replace[0]:
            code = _python(replace[1])
        for statement in _statements(code):
            if isinstance(statement, DEFINITIONS) or _plain_assignment(statement):
                try:
                    _run(statement, namespace)
                except NameError:  # `w = W1` where W1 came from a training run
                    pass
    return namespace


def _plain_assignment(statement):
    """``NAME = <value without calls>``: a table of the answer functions, a constant.

    Rebound in the mutant's namespace (a dict of activation functions must
    hold the mutant's); assignments that call something (training runs) are not.
    """
    def calls(node):
        if isinstance(node, ast.Lambda):
            return False  # called later, if at all
        if isinstance(node, (ast.Call, ast.Await, ast.Yield)):
            return True
        return any(calls(child) for child in ast.iter_child_nodes(node))

    return isinstance(statement, (ast.Assign, ast.AnnAssign)) and not calls(statement)


# ---------------------------------------------------------------------------
# comparing the solution's function with the mutant's


def _jitter(value, rng):
    """A random variation of an argument of the same kind and shape."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and value.size:
            scale = float(np.std(value)) or 1.0
            return (value + rng.normal(0, 0.5 * scale, value.shape)).astype(value.dtype)
        if value.dtype.kind in "iub" and value.size:
            flat = value.reshape(-1).copy()
            rng.shuffle(flat)
            return flat.reshape(value.shape)
        return value.copy()
    if type(value) is float:
        if value == 0.0:
            return float(rng.normal(0, 0.5))
        return value * float(rng.uniform(0.5, 1.5))
    if isinstance(value, np.random.Generator):
        return np.random.default_rng(int(rng.integers(2**31)))
    if type(value) in (list, tuple):
        return type(value)(_jitter(item, rng) for item in value)
    if type(value) is dict:
        return {key: _jitter(item, rng) for key, item in value.items()}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor) and value.is_floating_point():
        with torch.no_grad():
            noise = torch.from_numpy(rng.normal(0, 0.5, tuple(value.shape))).to(value.dtype)
            return (value + noise * (float(value.std()) if value.numel() > 1 else 1.0)
                    ).requires_grad_(value.requires_grad)
    return copy.deepcopy(value)


def _defaults(function, args, kwargs):
    """The parameters a call left at their defaults: numbers among them vary too."""
    import inspect

    try:
        bound = inspect.signature(function).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {}
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if name not in bound.arguments and type(p.default) is float}


def _same(a, b, depth=0):
    """Whether two results (or two argument states) are the same."""
    if depth > 20:
        return True
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and _same(
            a.detach().cpu().numpy(), b.detach().cpu().numpy(), depth + 1)
    if torch is not None and isinstance(a, torch.nn.Module) and isinstance(b, torch.nn.Module):
        return _same(dict(a.state_dict()), dict(b.state_dict()), depth + 1) and \
            type(a).__name__ == type(b).__name__
    if type(a) is not type(b):
        return (type(a).__name__ == type(b).__name__ and hasattr(a, "__dict__")
                and _same(vars(a), vars(b), depth + 1))
    if isinstance(a, np.ndarray) or isinstance(a, np.generic):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
            return False
        if a.dtype.kind in "fc":
            # float32 for float32 input where the solution gives float64: no
            # contract asks for more than floats; compare at the coarser precision.
            rtol = RTOL if a.dtype == b.dtype else 10 * float(np.finfo(
                min(a.dtype, b.dtype, key=lambda d: d.itemsize)).eps)
            return bool(np.allclose(a, b, rtol=rtol, atol=ATOL, equal_nan=True))
        if a.dtype != b.dtype:
            return False
        return bool(np.array_equal(a, b))
    if isinstance(a, float):
        return a == b or abs(a - b) <= ATOL + RTOL * abs(b) or (a != a and b != b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, depth + 1) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], depth + 1) for k in a)
    if isinstance(a, np.random.Generator):
        return a.bit_generator.state == b.bit_generator.state
    if callable(a) and not hasattr(a, "__dict__"):
        return True  # a function: nothing to compare
    if hasattr(a, "__dict__") and not isinstance(a, type):
        return _same(vars(a), vars(b), depth + 1)
    try:
        if type(a).__eq__ is not object.__eq__:
            return bool(a == b)
    except Exception:  # noqa: BLE001
        return False
    # No equality of its own and no __dict__ (numpy's RandomState in a
    # scikit-learn model): the same state pickles the same.
    import pickle

    try:
        return pickle.dumps(a) == pickle.dumps(b)
    except Exception:  # noqa: BLE001
        return False


def _seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


class _TimeOut(Exception):
    pass


def _alarm(*_):
    raise _TimeOut()


def _call(function, args, kwargs, seed, limit):
    """(result, arguments afterwards, None) or (None, None, what went wrong)."""
    args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    _seed(seed)
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, max(limit, 0.5))
    try:
        result = function(*args, **kwargs)
        return result, (args, kwargs), None
    except _TimeOut:
        return None, None, f"ran past {limit:.0f} s"
    except BaseException as exc:  # noqa: BLE001 (the mutant's own failure)
        return None, None, f"{type(exc).__name__}: {str(exc)[:120]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _as_mutant(args, solution_ns, mutant_ns):
    """Arguments with instances of the solution's answer classes moved to the mutant's."""
    moved = []
    for value in args:
        cls = type(value)
        if solution_ns.get(cls.__name__) is cls \
                and isinstance(mutant_ns.get(cls.__name__), type):
            value = copy.deepcopy(value)
            value.__class__ = mutant_ns[cls.__name__]
        moved.append(value)
    return tuple(moved)


def _function(namespace, key):
    if "." in key:
        cls, method = key.split(".", 1)
        return getattr(namespace.get(cls), method, None)
    return namespace.get(key)


def compare(key, calls, solution_ns, mutant_ns, seconds, trials):
    """{"equivalent", "trials", "why"} for function ``key`` of one mutant."""
    original, mutated = _function(solution_ns, key), _function(mutant_ns, key)
    if original is None or mutated is None:
        return {"equivalent": False, "trials": 0, "why": f"{key} is not defined"}
    if not calls:
        return {"equivalent": False, "trials": 0,
                "why": f"the notebook never calls {key}: nothing to compare on"}
    start, agreed = time.perf_counter(), 0
    rng = np.random.default_rng(12345)
    for trial in range(trials):
        for args, kwargs in calls:
            left = seconds - (time.perf_counter() - start)
            if left <= 0:
                break
            if trial:
                kwargs = {**_defaults(original, args, kwargs), **kwargs}
                args, kwargs = _jitter(args, rng), _jitter(kwargs, rng)
            began = time.perf_counter()
            want, want_state, failed = _call(original, args, kwargs, trial, left)
            if failed:
                continue  # the solution itself refuses this variation
            limit = max(3 * (time.perf_counter() - began), 2.0)
            m_args = _as_mutant(args, solution_ns, mutant_ns)
            got, got_state, failed = _call(mutated, m_args, kwargs, trial, limit)
            if failed:
                return {"equivalent": False, "trials": agreed,
                        "why": f"the mutant fails where the solution does not: {failed}"}
            if not _same(want, got):
                return {"equivalent": False, "trials": agreed,
                        "why": "a different result on the same arguments"}
            if not _same(want_state, got_state):
                return {"equivalent": False, "trials": agreed,
                        "why": "changes its arguments differently"}
            agreed += 1
    if agreed < MIN_TRIALS:
        return {"equivalent": False, "trials": agreed,
                "why": f"only {agreed} trials ran in {seconds:.0f} s"}
    return {"equivalent": True, "trials": agreed,
            "why": f"the same results on {agreed} calls"}


def main(job_path, out_path):
    job = json.loads(Path(job_path).read_text())
    cells = _cells(job["notebook"])
    setup, solution_ns, calls = _record(cells)
    results = {}
    for key, (grade_id, function, source) in job["mutants"].items():
        try:
            mutant_ns = _definitions(cells, setup, replace=(grade_id, source))
        except Exception as exc:  # noqa: BLE001
            results[key] = {"equivalent": False, "trials": 0,
                            "why": f"the mutant does not run: {type(exc).__name__}"}
            continue
        # A method is compared as itself; a function nested in a graded
        # function through the graded function.
        top = function.split(".")[0]
        name = function if isinstance(solution_ns.get(top), type) else top
        results[key] = compare(name, calls.get(name, []), solution_ns, mutant_ns,
                               float(job["seconds_each"]), int(job["trials"]))
        Path(out_path).write_text(json.dumps(results))
    Path(out_path).write_text(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""The values checks compare, and the comparisons themselves: pure code.

Used on both sides of grading, so that a student's own run of a test cell and
the grader's verdict say the same thing:

- in the student's kernel, :mod:`course.checks` turns what a function
  returned into plain data with :func:`encode` (refusing objects that are not
  plain numbers, arrays, strings, lists, tuples or dicts of them), and, in a
  student's own session, compares at once with :func:`compare`;
- in the grader's process, :mod:`course.grader.verdicts` rebuilds the values
  with :func:`decode` (plain JSON in, numpy arrays out: nothing is
  executed or unpickled) and compares them with :func:`compare` against
  the reference values, which never exist in the student's kernel.

A check is one of the ``KINDS`` with a ``spec`` (a dict):

=========== ================================================================
kind        spec
=========== ================================================================
array       name, expected, atol, rtol, context: same shape, values close
scalar      the same, for one number
shape       name, shape, context: exactly that shape
type        name, type, context: the documented kind of value (``TYPES``)
equal       name, expected, context: the same plain value (lists and tuples
            alike, numbers by value)
at_least    name, bound, context: one number >= bound
at_most     name, bound, context: one number <= bound
true        message: the value is ``True``
unchanged   name, before: an input array left as it was
computed    name, function, inputs, and expected or bound(s): a quantity
            computed here from the student's value by one of ``FUNCTIONS``
            (an accuracy from predictions, a network's outputs from its
            weights), compared like ``array``, or with ``at_least`` /
            ``at_most``
=========== ================================================================

Derived quantities are computed by the grader from the student's plain
values, never by test code in the student's kernel, where numpy itself could
have been patched to lie.
"""

import base64
import math

import numpy as np

KINDS = ("array", "scalar", "shape", "type", "equal", "at_least", "at_most", "true",
         "unchanged", "computed")
MAX_DEPTH = 32
MAX_BYTES = 64 * 2**20      # one value, encoded
MAX_TEXT = 10_000           # characters of a string value
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64", "float16", "float32", "float64")
DEFAULT_ATOL, DEFAULT_RTOL = 1e-6, 1e-5


class Refused:
    """A value that could not be recorded; ``why`` says what it was."""

    def __init__(self, why):
        self.why = str(why)[:300]

    def __repr__(self):
        return f"<not a plain value: {self.why}>"


# ---------------------------------------------------------------------------
# encoding (in the kernel) and decoding (anywhere)
# ---------------------------------------------------------------------------

def encode(value):
    """``value`` as JSON-able plain data; TypeError for anything else.

    Types are matched exactly (``type(x) is float``), never by ``isinstance``
    or by asking the object: a class cannot pass for a number.
    """
    budget = [MAX_BYTES]
    return _encode(value, 0, budget)


def _encode(value, depth, budget):
    kind = type(value)
    if depth > MAX_DEPTH:
        raise TypeError("a value nested too deeply")
    if value is None:
        return {"t": "none"}
    if kind is bool:
        return {"t": "bool", "v": value}
    if kind is int:
        return {"t": "int", "v": str(value)[:400]}
    if kind is float:
        return {"t": "float", "v": repr(value)}
    if kind is str:
        return {"t": "str", "v": value[:MAX_TEXT]}
    if kind is np.ndarray or _is_numpy_scalar(kind):
        return _encode_array(np.asarray(value), depth, budget)
    if kind is list or kind is tuple or kind is range:
        _spend(budget, 16 * len(value))
        return {"t": "tuple" if kind is tuple else "list",
                "v": [_encode(item, depth + 1, budget) for item in value]}
    if kind is dict:
        _spend(budget, 16 * len(value))
        if not all(type(key) is str for key in value):
            raise TypeError("a dict whose keys are not all strings")
        return {"t": "dict",
                "v": {key: _encode(item, depth + 1, budget) for key, item in value.items()}}
    tensor = _tensor_base(kind)
    if tensor is not None:
        plain = tensor.cpu(tensor.detach(value))
        if tensor.is_complex(plain):
            raise TypeError("a complex tensor")
        return _encode_array(np.array(tensor.numpy(plain), copy=True), depth, budget)
    raise TypeError(f"a {kind.__name__} object, not numbers")


def _is_numpy_scalar(kind):
    return kind in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                    np.uint16, np.uint32, np.uint64, np.float16, np.float32,
                    np.float64, np.longdouble)


def _tensor_base(kind):
    """torch's C tensor base for a plain Tensor or Parameter type, else None."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return None
    plain = (getattr(torch, "Tensor", None),
             getattr(getattr(torch, "nn", None), "Parameter", None))
    if kind in plain:
        return torch._C.TensorBase
    return None


def _spend(budget, size):
    budget[0] -= size
    if budget[0] < 0:
        raise TypeError(f"a value larger than {MAX_BYTES // 2**20} MiB")


def _encode_array(array, depth, budget):
    if array.dtype.kind == "O":
        return _encode(array.tolist(), depth + 1, budget)
    if array.dtype == np.longdouble and array.dtype != np.float64:
        array = array.astype(np.float64)
    if str(array.dtype) not in DTYPES:
        raise TypeError(f"an array of dtype {array.dtype}")
    _spend(budget, array.nbytes)
    data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"))
    return {"t": "array", "dtype": str(array.dtype), "shape": list(array.shape),
            "b64": base64.b64encode(data.tobytes()).decode("ascii")}


MAX_ITEMS = 1_000_000  # list items and dict entries in one decoded value


def decode(data, depth=0):
    """Plain data from :func:`encode` back as values; anything malformed or
    too large is a :class:`Refused`. Safe on untrusted input: only JSON types
    are read, and at most ``MAX_BYTES`` of array data and ``MAX_ITEMS``
    items."""
    try:
        return _decode(data, depth, [MAX_BYTES, MAX_ITEMS])
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError,
            RecursionError, MemoryError) as exc:
        return Refused(f"malformed record ({type(exc).__name__}: {str(exc)[:100]})")


def _decode(data, depth, budget):
    if depth > MAX_DEPTH or not isinstance(data, dict):
        raise ValueError("not a record")
    tag = data["t"]
    if tag == "none":
        return None
    if tag == "bool":
        if type(data["v"]) is not bool:
            raise ValueError("bad bool")
        return data["v"]
    if tag == "int":
        return int(str(data["v"])[:400])  # a number that large fails its check
    if tag == "float":
        return float(str(data["v"])[:64])
    if tag == "str":
        return str(data["v"])[:MAX_TEXT]
    if tag in ("list", "tuple", "dict"):
        budget[1] -= len(data["v"])
        if budget[1] < 0:
            raise ValueError(f"more than {MAX_ITEMS} items")
    if tag in ("list", "tuple"):
        items = [_decode(item, depth + 1, budget) for item in list(data["v"])]
        return tuple(items) if tag == "tuple" else items
    if tag == "dict":
        return {str(k): _decode(v, depth + 1, budget) for k, v in dict(data["v"]).items()}
    if tag == "array":
        dtype = str(data["dtype"])
        if dtype not in DTYPES:
            raise ValueError(f"dtype {dtype}")
        shape = tuple(int(n) for n in data["shape"])
        if any(n < 0 for n in shape) or len(shape) > 32:
            raise ValueError("bad shape")
        text = str(data["b64"])
        budget[0] -= len(text) * 3 // 4
        if budget[0] < 0:
            raise ValueError(f"more than {MAX_BYTES // 2**20} MiB of arrays")
        raw = base64.b64decode(text, validate=True)
        array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
        if array.size != math.prod(shape):
            raise ValueError("size does not match shape")
        return array.reshape(shape).astype(dtype)
    if tag == "refused":
        return Refused(data.get("why", "refused"))
    raise ValueError(f"unknown tag {tag!r}")


def plain(value):
    """``value`` as the grader would see it: encoded and decoded again."""
    try:
        return decode(encode(value))
    except TypeError as exc:
        return Refused(exc)


# ---------------------------------------------------------------------------
# comparisons
# ---------------------------------------------------------------------------

def _fmt(value, limit=200):
    if type(value) is np.ndarray:
        text = np.array2string(value, precision=6, separator=", ", threshold=20)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(context):
    return f" (for {context})" if context else ""


def numeric(value):
    """A decoded value as a float64 array; TypeError if it is not numbers."""
    if type(value) is bool or type(value) is int or type(value) is float:
        return np.array(value, dtype=np.float64)
    if type(value) is np.ndarray:
        if value.dtype.kind in "biuf":
            return value.astype(np.float64)
        raise TypeError(f"an array of dtype {value.dtype}")
    if type(value) in (list, tuple):
        items = [numeric(item) for item in value]
        try:
            return np.array(items, dtype=np.float64)
        except ValueError:
            raise TypeError("a ragged list (its items have different shapes)") from None
    if type(value) is Refused:
        raise TypeError(value.why)
    raise TypeError(f"a {type(value).__name__}")


def _as_numbers(value, spec):
    """(array, None) or (None, message) for a student's value."""
    name, context = spec.get("name"), spec.get("context")
    if value is None:
        return None, f"{name}{_where(context)} returned None; did you forget `return`?"
    try:
        return numeric(value), None
    except TypeError as exc:
        return None, (f"{name}{_where(context)} should return numbers (an array or "
                      f"a float), got {exc}")


def compare(kind, actual, spec):
    """None if the decoded ``actual`` passes check ``kind``; else the message."""
    if kind not in KINDS:
        raise ValueError(f"unknown check kind {kind!r}")
    return globals()[f"_compare_{kind}"](actual, spec)


def _compare_array(actual, spec):
    got, problem = _as_numbers(actual, spec)
    if problem:
        return problem
    want = numeric(spec["expected"])
    name, where = spec.get("name"), _where(spec.get("context"))
    atol = float(spec.get("atol", DEFAULT_ATOL))
    rtol = float(spec.get("rtol", DEFAULT_RTOL))
    if got.shape != want.shape:
        return f"{name}{where} should have shape {want.shape}, got shape {got.shape}: {_fmt(got)}"
    finite = np.isfinite(got)
    if not finite.all() and np.isfinite(want).all():
        bad = tuple(int(i) for i in np.argwhere(~finite)[0])
        return (f"{name}{where} contains {float(got[bad])} at index {bad}; every value "
                "should be finite (look for overflow in exp or a division by zero)")
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(got - want) <= atol + rtol * np.abs(want)
        close |= got == want  # equal infinities
    close &= ~np.isnan(got)
    if close.all():
        return None
    bad = tuple(int(i) for i in np.argwhere(~close)[0])
    count = int((~close).sum())
    at = f" at index {bad}" if got.ndim else ""
    return (f"{name}{where} is wrong{at}: expected {float(want[bad]):.6g}, "
            f"got {float(got[bad]):.6g} ({count} of {got.size} values differ).\n"
            f"expected: {_fmt(want)}\ngot:      {_fmt(got)}")


def _compare_scalar(actual, spec):
    got, problem = _as_numbers(actual, spec)
    if problem:
        return problem
    if got.size != 1:
        return (f"{spec.get('name')}{_where(spec.get('context'))} should be a single "
                f"number, got shape {got.shape}")
    return _compare_array(got.reshape(()), spec)


def _compare_shape(actual, spec):
    got, problem = _as_numbers(actual, spec)
    if problem:
        return problem
    shape = tuple(int(n) for n in spec["shape"])
    if got.shape != shape:
        return (f"{spec.get('name')}{_where(spec.get('context'))} should have shape "
                f"{shape}, got shape {got.shape}")
    return None


def _is_array(value, kinds):
    return type(value) is np.ndarray and value.ndim > 0 and value.dtype.kind in kinds


def _is_number(value, kinds, plain_types):
    """A Python number of ``plain_types`` or a numpy scalar (0-d) of ``kinds``."""
    if type(value) in plain_types:
        return True
    return type(value) is np.ndarray and value.ndim == 0 and value.dtype.kind in kinds


# type name -> (test on a decoded value, how a message names it)
TYPES = {
    "number": (lambda v: _is_number(v, "iuf", (int, float)), "a single number"),
    "int": (lambda v: _is_number(v, "iu", (int,)), "an integer"),
    "float": (lambda v: _is_number(v, "f", (float,)), "a float"),
    "bool": (lambda v: _is_number(v, "b", (bool,)), "True or False"),
    "float array": (lambda v: _is_array(v, "f"), "a numpy array of floats"),
    "int array": (lambda v: _is_array(v, "iu"), "a numpy array of integers"),
    "bool array": (lambda v: _is_array(v, "b"), "a numpy array of booleans"),
    "list": (lambda v: type(v) is list, "a list"),
    "tuple": (lambda v: type(v) is tuple, "a tuple"),
}


def _describe(value):
    """How a message names the kind of a decoded value."""
    if type(value) is np.ndarray:
        if value.ndim == 0:
            return f"a numpy scalar of dtype {value.dtype}"
        return f"a numpy array of dtype {value.dtype} and shape {value.shape}"
    if type(value) is Refused:
        return value.why
    return f"a {type(value).__name__}"


def _compare_type(actual, spec):
    test, words = TYPES[spec["type"]]
    if test(actual):
        return None
    return (f"{spec.get('name')}{_where(spec.get('context'))} should be {words}, "
            f"got {_describe(actual)}")


def _normal(value):
    """Lists and tuples alike, arrays as lists, for :func:`_compare_equal`."""
    if type(value) is np.ndarray:
        return _normal(value.tolist())
    if type(value) in (list, tuple):
        return [_normal(item) for item in value]
    if type(value) is dict:
        return {key: _normal(item) for key, item in value.items()}
    return value


def _compare_equal(actual, spec):
    name, where = spec.get("name"), _where(spec.get("context"))
    if type(actual) is Refused:
        return f"{name}{where} should be {_fmt(spec['expected'])}, got {actual.why}"
    if _normal(actual) == _normal(spec["expected"]):
        return None
    return f"{name}{where} should be {_fmt(spec['expected'])}, got {_fmt(actual)}"


def _bound(actual, spec, holds, words):
    got, problem = _as_numbers(actual, spec)
    if problem:
        return problem
    name, where = spec.get("name"), _where(spec.get("context"))
    if got.size != 1:
        return f"{name}{where} should be a single number, got shape {got.shape}"
    value, bound = float(got.reshape(())), float(spec["bound"])
    if holds(value, bound):
        return None
    return f"{name}{where} should be {words} {bound:.6g}, got {value:.6g}"


def _compare_at_least(actual, spec):
    return _bound(actual, spec, lambda v, b: v >= b, "at least")


def _compare_at_most(actual, spec):
    return _bound(actual, spec, lambda v, b: v <= b, "at most")


def _compare_true(actual, spec):
    if actual is True or (type(actual) is np.ndarray and actual.shape == ()
                          and actual.dtype == bool and bool(actual)):
        return None
    return spec.get("message") or "a check failed"


def _compare_unchanged(actual, spec):
    old = numeric(spec["before"])
    got, problem = _as_numbers(actual, spec)
    if problem is None and old.shape == got.shape and (
            (old == got) | (np.isnan(old) & np.isnan(got))).all():
        return None
    return (f"{spec.get('name')} changed its input array in place; work on a copy "
            "instead (for example `w = w + ...` rather than `w += ...`)")


# ---------------------------------------------------------------------------
# quantities the grader computes from a student's values
# ---------------------------------------------------------------------------

def _labels(scores):
    scores = numeric(scores)
    return scores.argmax(axis=1) if scores.ndim == 2 else scores


def _accuracy(value, labels):
    """Fraction right: ``value`` is (N,) labels or (N, C) scores; ``labels`` (N,)."""
    predicted, labels = _labels(value), numeric(labels)
    if predicted.shape != labels.shape:
        raise TypeError(f"predictions of shape {predicted.shape} for "
                        f"{labels.shape[0]} labels")
    return float((predicted == labels).mean())


def _mlp_scores(params, X):
    """Scores of a ReLU MLP given as {"W1": (D, H), "b1": (H,), ...}: (N, C)."""
    if type(params) is not dict:
        raise TypeError("parameters that are not a dict")
    h = numeric(X)
    count = sum(1 for key in params if key.startswith("W"))
    for layer in range(1, count + 1):
        W, b = _matrix(params[f"W{layer}"], h.shape[1]), numeric(params[f"b{layer}"])
        if b.shape != (W.shape[1],):
            raise TypeError(f"b{layer} of shape {b.shape} for W{layer} of shape {W.shape}")
        h = h @ W + b
        if layer < count:
            h = np.maximum(h, 0.0)
    return h


def _matrix(value, rows):
    """A student's weight matrix: 2-D, ``rows`` rows, of a size the grader can
    multiply (never broadcast into something larger than the inputs)."""
    W = numeric(value)
    if W.ndim != 2 or W.shape[0] != rows or W.size > 10**7:
        raise TypeError(f"a weight matrix of shape {W.shape} where ({rows}, H) fits")
    return W


def _mlp_accuracy(params, inputs):
    X, y = inputs
    return _accuracy(_mlp_scores(params, X), y)


def _relu_network(weights, X):
    """Outputs (N,) of relu(X @ W + c) @ w + b for ``weights`` = (W, c, w, b)."""
    W, c, w, b = weights
    X = numeric(X)
    W = _matrix(W, X.shape[1])
    c, w, b = numeric(c).ravel(), numeric(w).ravel(), numeric(b).ravel()
    if c.shape != (W.shape[1],) or w.shape != (W.shape[1],) or b.shape != (1,):
        raise TypeError(f"c {c.shape}, w {w.shape} and b {b.shape} do not fit W {W.shape}")
    return np.maximum(X @ W + c, 0.0) @ w + b[0]


def _rounded_relu_network(weights, X):
    return np.rint(_relu_network(weights, X))


def _fell(sequence, _inputs=None):
    """1.0 if the last value is below the first, else 0.0."""
    values = numeric(sequence).ravel()
    return float(values.size >= 2 and values[-1] < values[0])


def _squares_ratio(pair, _inputs=None):
    """Sum of squares of the second list of arrays over that of the first."""
    first, second = (sum(float((numeric(a) ** 2).sum()) for a in part) for part in pair)
    if not first > 0:  # an infinite ratio would pass any lower bound
        raise TypeError("the first arrays are all zero (or empty): no ratio to take")
    return second / first


def _change_ratio(pair, _inputs=None):
    """|B - A|^2 / |A|^2 for ``pair`` = (arrays A, arrays B), matching shapes.

    How far a second set of weights is from a first, computed here from both:
    the difference is never taken in the student's kernel.
    """
    first, second = ([numeric(a) for a in part] for part in pair)
    if len(first) != len(second) or any(a.shape != b.shape for a, b in zip(first, second)):
        raise TypeError("two lists of arrays of different shapes")
    base = sum(float((a ** 2).sum()) for a in first)
    if not base > 0:  # an infinite ratio would pass any lower bound
        raise TypeError("the first arrays are all zero (or empty): no ratio to take")
    change = sum(float(((b - a) ** 2).sum()) for a, b in zip(first, second))
    return change / base


def _mlp_forward_gap(value, X):
    """How far scores are from the ReLU MLP of the given layers, at ``X``.

    ``value`` = (scores (N, C), [W1, W2, ...], [b1, b2, ...]): the scores a
    student's model gave and its own weights and biases. Returns the largest
    difference relative to the scale of the scores the grader computes.
    """
    scores, weights, biases = value
    params = {}
    for layer, (W, b) in enumerate(zip(weights, biases), start=1):
        params[f"W{layer}"], params[f"b{layer}"] = W, b
    if len(weights) != len(biases) or not weights:
        raise TypeError(f"{len(weights)} weight matrices and {len(biases)} bias vectors")
    want = _mlp_scores(params, X)
    got = numeric(scores)
    if got.shape != want.shape:
        raise TypeError(f"scores of shape {got.shape} where {want.shape} was expected")
    return float(np.abs(got - want).max() / (1.0 + np.abs(want).max()))


def _gap_to_accuracy(value, labels):
    """|reported accuracy - the accuracy of the predictions or scores|."""
    reported, predictions = value
    return abs(float(numeric(reported).reshape(())) - _accuracy(predictions, labels))


def _gap_to_parameter_count(value, _inputs=None):
    """|reported number of parameters - the number in the given arrays|."""
    reported, arrays = value
    return abs(float(numeric(reported).reshape(())) - sum(numeric(a).size for a in arrays))


def _gap_to_hidden_layers(value, _inputs=None):
    """|reported hidden layers - (number of weight matrices - 1)|."""
    reported, weights = value
    return abs(float(numeric(reported).reshape(())) - (len(weights) - 1))


def _chained_shapes(matrices, _inputs=None):
    """1.0 if the matrices chain (784, w), (w, w), ..., (w, 10) with one width w."""
    shapes = [numeric(m).shape for m in matrices]
    if not shapes or any(len(s) != 2 for s in shapes):
        return 0.0
    chained = (shapes[0][0] == 784 and shapes[-1][1] == 10
               and all(a[1] == b[0] for a, b in zip(shapes[:-1], shapes[1:]))
               and len({s[1] for s in shapes[:-1]}) <= 1)
    return float(chained)


# ps5_mnist: training on the test images, momentum checked by its effect,
# timings that belong to their rows.

def _single(value, what):
    """One number from a decoded value; TypeError if it is not one."""
    number = numeric(value)
    if number.size != 1:
        raise TypeError(f"{what} of shape {number.shape}, not one number")
    return float(number.reshape(()))


def _clipped_losses(scores, labels, probabilities):
    """Per image min(-log p(its label), log C): the cross-entropy, capped at chance.

    ``scores``: (N, C) scores (softmax gives p) or, with ``probabilities``, (N, C)
    probabilities; ``labels``: (N,) integers in 0..C-1. Returns (N,) losses.
    """
    scores, labels = numeric(scores), numeric(labels)
    if scores.ndim != 2 or labels.shape != (scores.shape[0],) or not len(labels):
        raise TypeError(f"scores of shape {scores.shape} for {labels.shape[0]} labels")
    if not np.isfinite(scores).all():
        raise TypeError("scores that are not all finite")
    cap = math.log(scores.shape[1])
    rows, labels = np.arange(len(labels)), labels.astype(int)
    if probabilities:
        return -np.log(np.clip(scores[rows, labels], math.exp(-cap), None))
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted[rows, labels] - np.log(np.exp(shifted).sum(axis=1))
    return np.minimum(-log_p, cap)


def _held_out_loss_ratio(value, labels, probabilities=False):
    """How much worse a model does on images it cannot have seen than on the visible ones.

    ``value`` = (scores on the visible images (N, C), scores on the held-out images
    (M, C)) (probabilities with ``probabilities``); ``labels`` = ((N,), (M,)).
    Returns mean capped cross-entropy (:func:`_clipped_losses`) on the held-out
    images over that on the visible ones: about 1 for a model trained on neither
    set; well above 1 for one trained on the visible images, whose hard images it
    has learned (capping at chance keeps a few hopeless images from ruling the mean).
    """
    visible, held = value
    labels_visible, labels_held = labels
    mean_visible = float(_clipped_losses(visible, labels_visible, probabilities).mean())
    mean_held = float(_clipped_losses(held, labels_held, probabilities).mean())
    return mean_held / mean_visible if mean_visible > 0 else float("inf")


def _abs_difference(pair, _inputs=None):
    """|a - b| for ``pair`` = (a, b), two single numbers (a reported value, a measured one)."""
    a, b = pair
    return abs(_single(a, "a value") - _single(b, "a value"))


def _time_share(value, _inputs=None):
    """sum(parts) / total for ``value`` = ([t1, t2, ...], total): seconds measured
    inside a call over the seconds of the whole call (at most 1 if they are)."""
    parts, total = value
    if type(parts) not in (list, tuple) or not parts:
        raise TypeError("the parts are not a non-empty list of numbers")
    total = _single(total, "the total")
    if not total > 0:
        raise TypeError(f"a total of {total} seconds")
    return sum(_single(part, "a time") for part in parts) / total


def _arrays_gap(pair, _inputs=None):
    """How far two lists of arrays are apart: ``pair`` = ([A1, A2, ...], [B1, B2, ...]),
    arrays of matching shapes. Returns max over i of max |Ai - Bi| / (1 + max |Bi|);
    TypeError if the lists or shapes do not match."""
    first, second = pair
    if type(first) not in (list, tuple) or type(second) not in (list, tuple):
        raise TypeError("values that are not lists of arrays")
    if len(first) != len(second) or not first:
        raise TypeError(f"{len(first)} arrays against {len(second)}")
    gap = 0.0
    for i, (a, b) in enumerate(zip(first, second)):
        a, b = numeric(a), numeric(b)
        if a.shape != b.shape:
            raise TypeError(f"array {i} has shape {a.shape} where {b.shape} was expected")
        if not a.size:  # nothing to compare would be a gap of 0
            raise TypeError(f"array {i} is empty")
        with np.errstate(invalid="ignore", over="ignore"):
            here = float(np.abs(a - b).max() / (1.0 + np.abs(b).max()))
        gap = max(gap, here if np.isfinite(here) else float("inf"))
    return gap


FUNCTIONS = {
    "accuracy": _accuracy,
    "mlp_accuracy": _mlp_accuracy,
    "relu_network": _relu_network,
    "mlp_forward_gap": _mlp_forward_gap,
    "gap_to_accuracy": _gap_to_accuracy,
    "gap_to_parameter_count": _gap_to_parameter_count,
    "gap_to_hidden_layers": _gap_to_hidden_layers,
    "rounded_relu_network": _rounded_relu_network,
    "fell": lambda value, _inputs=None: _fell(value),
    "squares_ratio": lambda value, _inputs=None: _squares_ratio(value),
    "change_ratio": lambda value, _inputs=None: _change_ratio(value),
    "chained_shapes": lambda value, _inputs=None: _chained_shapes(value),
    "held_out_loss_ratio": _held_out_loss_ratio,
    "held_out_loss_ratio_from_probabilities":
        lambda value, labels: _held_out_loss_ratio(value, labels, probabilities=True),
    "abs_difference": _abs_difference,
    "time_share": _time_share,
    "arrays_gap": _arrays_gap,
}


def computed(actual, spec):
    """The quantity of a ``computed`` check, or a message if it cannot be had."""
    function = FUNCTIONS[spec["function"]]
    if actual is None:
        return None, (f"{spec.get('name')}{_where(spec.get('context'))} returned None; "
                      "did you forget `return`?")
    try:
        return function(actual, spec.get("inputs")), None
    except Exception as exc:  # the student's value is the cause: a failed check
        return None, (f"{spec.get('name')}{_where(spec.get('context'))} could not be "
                      f"used: {type(exc).__name__}: {str(exc)[:200]}")


def _compare_computed(actual, spec):
    value, problem = computed(actual, spec)
    if problem:
        return problem
    if spec.get("expected") is not None:
        return _compare_array(value, spec)
    if spec.get("at_least") is not None:
        return _bound(value, {**spec, "bound": spec["at_least"]},
                      lambda v, b: v >= b, "at least")
    if spec.get("at_most") is not None:
        return _bound(value, {**spec, "bound": spec["at_most"]},
                      lambda v, b: v <= b, "at most")
    raise ValueError("a computed check needs expected, at_least or at_most")

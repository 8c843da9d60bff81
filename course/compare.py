"""The slides' homework as one call: MNIST with scikit-learn, PyTorch and numpy.

``run_comparison()`` trains on the real MNIST training set and measures on the
real test set, side by side:

- multi-layer perceptrons (MLPs, 多层感知机) with 1, 2, 3 and 4 hidden layers
  of the same width, in three families: scikit-learn's ``MLPClassifier``
  (``"sklearn"``), PyTorch (``"torch"``) and the from-scratch numpy network of
  ``course.nn`` (``"numpy"``);
- a convolutional network (卷积神经网络), LeNet-5 as built by
  ``course.models.lenet5("modern")`` (family ``"cnn"``).

It prints and returns one table with the columns ``COLUMNS`` (model, family,
hidden layers, parameters, epochs, training seconds, seconds per epoch, test
accuracy), writes it into ``out_dir`` as ``results.csv`` and ``results.md``,
and draws four figures there: ``accuracy_vs_depth.png``,
``training_curves.png``, ``confusion_matrix.png`` (best model) and
``misclassified.png`` (digits the best model gets wrong)::

    from course.compare import run_comparison
    comparison = run_comparison(quick=True)   # a subset, 2 epochs: < 1 minute
    comparison.best().test_accuracy

The same from the shell: ``python -m course.compare --quick`` (``--help`` for
the options); the ``course`` command mounts the same options through
``add_arguments(parser)`` and ``run_from_args(args)``.

A fair race. Every model sees float32 inputs in [0, 1] (``(N, 784)`` rows,
``(N, 1, 28, 28)`` images for the CNN). The numpy and PyTorch networks share
everything but the library: architecture, He initial weights (drawn by each
library), batch size, the order of the mini-batches (one numpy
permutation per epoch), SGD with momentum and the same cosine learning-rate
schedule (decayed per step to 0). scikit-learn trains the same
architecture with the same batch size and its default solver (Adam), one
``partial_fit`` per epoch. Seeds are fixed, so a second run gives the same
numbers up to floating-point noise from multi-threaded BLAS.

Timing. ``train_seconds`` is the wall time of the training epochs alone
(test-set evaluation after each epoch is not counted); ``seconds_per_epoch``
is its mean. The run uses one BLAS and PyTorch thread unless told
otherwise (``num_threads``). On a shared machine these numbers are only as
steady as the machine: report the load average next to them.

Shapes: N samples, D = 784 input pixels, H hidden units (``width``),
C = 10 classes. Numpy weights are ``(D, M)`` with ``out = x @ W + b``, as
everywhere in ``course.nn``.
"""

import argparse
import csv
import io
import math
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from course import data as course_data
from course import models as course_models
from course import nn as scratch

__all__ = [
    "CNN_FAMILY",
    "COLUMNS",
    "FAMILIES",
    "FULL",
    "QUICK",
    "Comparison",
    "Result",
    "Settings",
    "add_arguments",
    "build_cnn",
    "build_mlp",
    "count_hidden_layers",
    "count_parameters",
    "default_device",
    "main",
    "mlp_sizes",
    "numpy_train_step",
    "run_comparison",
    "run_from_args",
    "train_model",
]

FAMILIES = ("sklearn", "torch", "numpy")  # the MLP families of the depth sweep
CNN_FAMILY = "cnn"
COLUMNS = (
    "model",
    "family",
    "hidden_layers",
    "parameters",
    "epochs",
    "train_seconds",
    "seconds_per_epoch",
    "test_accuracy",
)
NUM_INPUTS, NUM_CLASSES = 28 * 28, 10
_FAMILY_NAMES = {
    "sklearn": "scikit-learn",
    "torch": "PyTorch",
    "numpy": "numpy (course.nn)",
    CNN_FAMILY: "PyTorch CNN",
}


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Hyper-parameters of one comparison (see ``FULL`` and ``QUICK``).

    width: hidden units per hidden layer, the same for every MLP.
    num_epochs: passes over the training set, for every model.
    num_train, num_test: the first N images of each split (None: all of it).
    batch_size: for every network.
    lr, momentum: SGD for the numpy and PyTorch MLPs; the learning rate
        follows lr * (1 + cos(pi t / T)) / 2 over the T steps of training.
    cnn_lr: the same schedule's starting rate for LeNet-5.
    sklearn_lr: Adam's learning rate for ``MLPClassifier``.
    """

    width: int = 512
    num_epochs: int = 8
    num_train: int = None
    num_test: int = None
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    cnn_lr: float = 0.05
    sklearn_lr: float = 1e-3


FULL = Settings()
QUICK = Settings(width=128, num_epochs=2, num_train=5000, num_test=2000, batch_size=64,
                 lr=0.1, cnn_lr=0.1)  # smaller batches, larger steps: 2 short epochs


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_family(family):
    if family not in FAMILIES:
        raise ValueError(
            f"unknown MLP family {family!r}; choose one of {', '.join(FAMILIES)}"
        )
    return family


def _check_depths(depths):
    try:
        depths = tuple(depths)
    except TypeError:
        raise ValueError(f"depths must be a list of positive integers, got {depths!r}")
    if not depths:
        raise ValueError("depths is empty: give at least one number of hidden layers")
    for depth in depths:
        if (isinstance(depth, bool) or not isinstance(depth, (int, np.integer))
                or depth < 1):
            raise ValueError(
                f"every depth (number of hidden layers) must be an integer >= 1, "
                f"got {depth!r} in {depths!r}"
            )
    if len(set(depths)) != len(depths):
        raise ValueError(f"depths must not repeat, got {depths!r}")
    return tuple(int(d) for d in depths)


def default_device():
    """``"cuda"`` when PyTorch sees a GPU, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def mlp_sizes(depth, width, num_inputs=NUM_INPUTS, num_classes=NUM_CLASSES):
    """Layer sizes [D, H, ..., H, C] of an MLP with ``depth`` hidden layers."""
    depth = _check_positive_int("depth (the number of hidden layers)", depth)
    width = _check_positive_int("width", width)
    return [num_inputs] + [width] * depth + [num_classes]


def build_mlp(family, depth, width, *, seed=0, settings=FULL):
    """An untrained MLP with ``depth`` hidden layers of ``width`` ReLU units.

    family: ``"numpy"`` -> ``course.nn.Sequential(Linear, ReLU, ..., Linear)``
        (float32);
        ``"torch"`` -> ``torch.nn.Sequential(Linear, ReLU, ..., Linear)``;
        both with He initialisation W ~ N(0, 2 / D), b = 0;
        ``"sklearn"`` -> ``sklearn.neural_network.MLPClassifier`` (Adam at
        ``settings.sklearn_lr``, ``settings.batch_size``; its own
        initialisation).
    Input (N, 784), output (N, 10) scores (scikit-learn: labels via predict).
    Raises ``ValueError`` for an unknown family or a depth or width below 1.
    """
    _check_family(family)
    sizes = mlp_sizes(depth, width)
    if family == "numpy":
        rng = np.random.default_rng(seed)
        layers = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(scratch.Linear(d_in, d_out, rng=rng, dtype=np.float32))
            if i < len(sizes) - 2:
                layers.append(scratch.ReLU())
        return scratch.Sequential(*layers)
    if family == "torch":
        torch.manual_seed(seed)
        layers = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = nn.Linear(d_in, d_out)
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")  # N(0, 2 / D)
            nn.init.zeros_(linear.bias)
            layers.append(linear)
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=tuple(sizes[1:-1]),
        activation="relu",
        solver="adam",
        learning_rate_init=settings.sklearn_lr,
        batch_size=settings.batch_size,
        random_state=seed,
        shuffle=True,
    )


def build_cnn(seed=0):
    """LeNet-5 (``course.models.lenet5("modern")``): (N, 1, 28, 28) -> (N, 10)."""
    torch.manual_seed(seed)
    return course_models.lenet5("modern")


def _is_sklearn(model):
    return type(model).__module__.startswith("sklearn.")


def count_hidden_layers(model):
    """Hidden layers of a model built here: layers with weights, minus the output.

    numpy ``Sequential`` and PyTorch modules: the number of ``Linear`` (and
    ``Conv2d``) layers minus one, so LeNet-5 (two convolutions, three fully
    connected layers) has 4; ``MLPClassifier``: ``len(hidden_layer_sizes)``.
    """
    if _is_sklearn(model):
        sizes = model.hidden_layer_sizes
        return len(sizes) if np.iterable(sizes) else 1
    if isinstance(model, nn.Module):
        weighted = (nn.Linear, nn.Conv2d)
        return sum(isinstance(m, weighted) for m in model.modules()) - 1
    if isinstance(model, scratch.Sequential):
        return sum(isinstance(layer, scratch.Linear) for layer in model.layers) - 1
    raise TypeError(f"cannot count the layers of a {type(model).__name__}")


def count_parameters(model):
    """Trainable scalars: weights and biases of every layer.

    An ``MLPClassifier`` that has not been fitted yet is counted from its
    layer sizes, with 784 inputs and 10 classes.
    """
    if _is_sklearn(model):
        if hasattr(model, "coefs_"):
            return int(sum(a.size for a in model.coefs_ + model.intercepts_))
        hidden = model.hidden_layer_sizes
        hidden = list(hidden) if np.iterable(hidden) else [hidden]
        sizes = [NUM_INPUTS, *hidden, NUM_CLASSES]
        return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    if isinstance(model, nn.Module):
        return course_models.count_parameters(model)
    if isinstance(model, scratch.Module):
        return int(sum(p.size for p in model.params().values()))
    raise TypeError(f"cannot count the parameters of a {type(model).__name__}")


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


@dataclass
class Result:
    """One row of the table, plus what the figures need.

    history: per-epoch lists ``train_loss``, ``train_acc`` (averaged over
        the epoch's batches; scikit-learn reports no training accuracy, NaN,
        and its loss includes its L2 penalty, ``alpha`` = 1e-4) and
        ``test_acc`` (after the epoch).
    predictions: (N_test,) labels the trained model gives the test images.
    """

    model: str
    family: str
    hidden_layers: int
    parameters: int
    epochs: int
    train_seconds: float
    seconds_per_epoch: float
    test_accuracy: float
    history: dict = field(default_factory=dict, repr=False)
    predictions: np.ndarray = field(default=None, repr=False)
    epoch_seconds: list = field(default_factory=list, repr=False)

    def row(self):
        """The table's columns as a dict."""
        return {name: getattr(self, name) for name in COLUMNS}


def _cosine(lr, step, total_steps):
    """lr * (1 + cos(pi step / total)) / 2: from lr at step 0 down towards 0."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * step / max(total_steps, 1)))


def _new_history():
    return {"train_loss": [], "train_acc": [], "test_acc": []}


def _linears(model):
    layers = model.layers if isinstance(model, scratch.Sequential) else [model]
    kinds = {type(layer) for layer in layers} - {scratch.Linear, scratch.ReLU}
    if kinds:
        names = ", ".join(sorted(k.__name__ for k in kinds))
        raise TypeError(
            f"the fast numpy step handles Linear and ReLU layers only, not {names}")
    linears = [layer for layer in layers if isinstance(layer, scratch.Linear)]
    for i, layer in enumerate(layers):
        expect_linear = i % 2 == 0
        if isinstance(layer, scratch.Linear) != expect_linear:
            raise TypeError(
                "the fast numpy step expects Linear, ReLU, Linear, ... , Linear")
    return linears


def numpy_train_step(model, X, y, optimizer):
    """One SGD step of a ``course.nn`` MLP (Linear, ReLU, ..., Linear); returns
    ``(loss, logits)``.

    The same gradients as ``model.forward``, ``softmax_cross_entropy`` and
    ``model.backward`` (a test checks this), computed with less memory
    traffic: ReLU in place, the ReLU mask read from its output, and no input
    gradient for the first layer (nothing upstream needs it). The gradients
    land in each layer's ``dW``/``db``, where ``optimizer`` (a
    ``course.nn.SGD``) finds them. X: (N, D) float32, y: (N,) labels.
    """
    linears = _linears(model)
    last = len(linears) - 1
    acts = [X]
    for i, layer in enumerate(linears):
        z = acts[-1] @ layer.W
        z += layer.b
        if i < last:
            np.maximum(z, 0, out=z)
        acts.append(z)
    loss, dout = scratch.softmax_cross_entropy(acts[-1], y)
    for i in range(last, -1, -1):
        layer = linears[i]
        layer.dW = acts[i].T @ dout
        layer.db = dout.sum(axis=0)
        if i > 0:
            dout = dout @ layer.W.T
            np.multiply(dout, acts[i] > 0, out=dout)
    optimizer.step()
    return loss, acts[-1]


def train_step(model, X, y, optimizer, fast=True):
    """One SGD step of a ``course.nn`` classifier; returns ``(loss, logits)``.

    fast=True: ``numpy_train_step`` (an MLP of Linear and ReLU layers only;
    a test proves it makes the same update); fast=False:
    ``course.nn.train_step``, the one step of ``course.nn.fit``, for any
    ``course.nn`` model.
    """
    if fast:
        return numpy_train_step(model, X, y, optimizer)
    return scratch.train_step(model, X, y, optimizer)


def _train_numpy(model, data, settings, num_epochs, seed, bar, fast=True):
    X, y, X_test, y_test = data
    rng = np.random.default_rng(seed)
    optimizer = scratch.SGD(model, settings.lr, momentum=settings.momentum)
    history, times = _new_history(), []
    B, N = settings.batch_size, len(X)
    total, step = num_epochs * -(-N // B), 0
    model.train()
    for _ in range(num_epochs):
        start = time.perf_counter()
        loss_sum, correct = 0.0, 0
        for X_batch, y_batch in scratch.batches(X, y, B, rng):
            optimizer.lr = _cosine(settings.lr, step, total)
            loss, logits = train_step(model, X_batch, y_batch, optimizer, fast)
            loss_sum += loss * len(X_batch)
            correct += int((logits.argmax(axis=1) == y_batch).sum())
            step += 1
            bar.update()
        times.append(time.perf_counter() - start)
        history["train_loss"].append(loss_sum / N)
        history["train_acc"].append(correct / N)
        predictions = scratch.predict(model, X_test)
        history["test_acc"].append(float((predictions == y_test).mean()))
        bar.set_postfix(loss=f"{history['train_loss'][-1]:.4f}",
                        test_acc=f"{history['test_acc'][-1]:.4f}")
    return history, times, predictions


def _torch_predict(model, X, device, batch_size=2000):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            out.append(model(X[i : i + batch_size]).argmax(dim=1))
    return torch.cat(out).cpu().numpy()


def _train_torch(model, data, settings, num_epochs, seed, bar, lr, device, image):
    X, y, X_test, y_test = data
    shape = (-1, 1, 28, 28) if image else (-1, NUM_INPUTS)
    Xt = torch.from_numpy(X).reshape(shape).to(device)
    yt = torch.from_numpy(y).to(device)
    Xt_test = torch.from_numpy(X_test).reshape(shape).to(device)
    model.to(device)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=settings.momentum)
    history, times = _new_history(), []
    B, N = settings.batch_size, len(X)
    total, step = num_epochs * -(-N // B), 0
    for _ in range(num_epochs):
        model.train()
        if device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        order = torch.from_numpy(rng.permutation(N)).to(device)
        for first in range(0, N, B):
            idx = order[first : first + B]
            X_batch, y_batch = Xt[idx], yt[idx]
            for group in optimizer.param_groups:
                group["lr"] = _cosine(lr, step, total)
            logits = model(X_batch)
            loss = F.cross_entropy(logits, y_batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(idx)
                correct += (logits.argmax(dim=1) == y_batch).sum()
            step += 1
            bar.update()
        if device != "cpu":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        history["train_loss"].append(float(loss_sum) / N)
        history["train_acc"].append(int(correct) / N)
        predictions = _torch_predict(model, Xt_test, device)
        history["test_acc"].append(float((predictions == y_test).mean()))
        bar.set_postfix(loss=f"{history['train_loss'][-1]:.4f}",
                        test_acc=f"{history['test_acc'][-1]:.4f}")
    return history, times, predictions


def _train_sklearn(model, data, num_epochs, bar):
    from sklearn.exceptions import ConvergenceWarning

    X, y, X_test, y_test = data
    classes = np.arange(NUM_CLASSES)
    history, times = _new_history(), []
    for _ in range(num_epochs):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X, y, classes=classes)
        times.append(time.perf_counter() - start)
        history["train_loss"].append(float(model.loss_curve_[-1]))
        history["train_acc"].append(float("nan"))  # sklearn does not report it
        predictions = model.predict(X_test)
        history["test_acc"].append(float((predictions == y_test).mean()))
        bar.update()
        bar.set_postfix(loss=f"{history['train_loss'][-1]:.4f}",
                        test_acc=f"{history['test_acc'][-1]:.4f}")
    return history, times, predictions


def _model_name(family, depth, width):
    if family == CNN_FAMILY:
        return "LeNet-5 CNN (PyTorch)"
    return f"{family} MLP " + "-".join(map(str, mlp_sizes(depth, width)))


def train_model(
    family,
    data,
    *,
    depth=None,
    settings=FULL,
    num_epochs=None,
    seed=0,
    device=None,
    progress=True,
    fast=True,
):
    """Build one model, train it, measure it on the test set; returns a ``Result``.

    family: one of ``FAMILIES`` (an MLP with ``depth`` hidden layers of
        ``settings.width`` units) or ``"cnn"`` (LeNet-5).
    data: ``(X_train, y_train, X_test, y_test)``: float32 (N, 784) rows in
        [0, 1] and int64 labels.
    num_epochs: default ``settings.num_epochs``. device: for PyTorch
        (default: ``default_device()``). fast: numpy steps by
        ``numpy_train_step`` (True) or by ``course.nn``'s layer-by-layer
        ``forward``/``backward`` (False); the gradients are the same.
    """
    num_epochs = _check_positive_int("epochs", settings.num_epochs if num_epochs is None
                                     else num_epochs)
    device = default_device() if device is None else str(device)
    if family == CNN_FAMILY:
        model, depth = build_cnn(seed), None
    else:
        model = build_mlp(family, depth, settings.width, seed=seed, settings=settings)
    name = _model_name(family, depth, settings.width)
    N = len(data[0])
    if family == "sklearn":
        steps, unit = num_epochs, "epoch"
    else:
        steps, unit = num_epochs * -(-N // settings.batch_size), "batch"
    bar = tqdm(total=steps, desc=name, unit=unit, disable=not progress, leave=False)
    with bar:
        if family == "numpy":
            history, times, predictions = _train_numpy(
                model, data, settings, num_epochs, seed, bar, fast=fast)
        elif family == "sklearn":
            history, times, predictions = _train_sklearn(model, data, num_epochs, bar)
        else:
            lr = settings.cnn_lr if family == CNN_FAMILY else settings.lr
            history, times, predictions = _train_torch(
                model, data, settings, num_epochs, seed, bar, lr, device,
                image=family == CNN_FAMILY)
    seconds = float(sum(times))
    return Result(
        model=name,
        family=family,
        hidden_layers=count_hidden_layers(model),
        parameters=count_parameters(model),
        epochs=num_epochs,
        train_seconds=seconds,
        seconds_per_epoch=seconds / num_epochs,
        test_accuracy=float((predictions == data[3]).mean()),
        history=history,
        predictions=np.asarray(predictions),
        epoch_seconds=times,
    )


# ---------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------


def _format_value(name, value):
    if name == "test_accuracy":
        return f"{100 * value:.2f}%"
    if name in ("train_seconds", "seconds_per_epoch"):
        return f"{value:.2f}"
    if name == "parameters":
        return f"{value:,}"
    return str(value)


@dataclass
class Comparison:
    """What ``run_comparison`` measured: one ``Result`` per model, and the files.

    ``str(comparison)`` is the table; ``table("markdown")`` and
    ``table("csv")`` give it in the other two forms; ``rows()`` as dicts.
    """

    results: list
    settings: Settings
    device: str
    depths: tuple
    num_train: int
    num_test: int
    y_test: np.ndarray = field(repr=False)
    X_test: np.ndarray = field(repr=False)
    files: dict = field(default_factory=dict)

    def rows(self):
        """One dict per model, keys ``COLUMNS``."""
        return [r.row() for r in self.results]

    def best(self):
        """The ``Result`` with the highest test accuracy (the first on ties)."""
        return max(self.results, key=lambda r: r.test_accuracy)

    def result(self, family, depth=None):
        """The ``Result`` of one MLP family at one depth, or of ``"cnn"``."""
        for r in self.results:
            if r.family == family and (depth is None or r.hidden_layers == depth):
                return r
        raise KeyError(f"no result for family {family!r} with depth {depth!r}")

    def table(self, fmt="text"):
        """The table as ``"text"`` (aligned columns), ``"markdown"`` or ``"csv"``."""
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(COLUMNS)
            for row in self.rows():
                writer.writerow(f"{row[n]:.6g}" if isinstance(row[n], float)
                                else str(row[n]) for n in COLUMNS)
            return out.getvalue()
        cells = [[_format_value(n, row[n]) for n in COLUMNS] for row in self.rows()]
        if fmt == "markdown":
            right = {"hidden_layers", "parameters", "epochs", "train_seconds",
                     "seconds_per_epoch", "test_accuracy"}
            head = "| " + " | ".join(COLUMNS) + " |"
            rule = "|" + "|".join("---:" if n in right else "---"
                                  for n in COLUMNS) + "|"
            body = ["| " + " | ".join(row) + " |" for row in cells]
            return "\n".join([head, rule, *body]) + "\n"
        if fmt != "text":
            raise ValueError(f"fmt must be 'text', 'markdown' or 'csv', got {fmt!r}")
        widths = [max(len(n), *(len(row[i]) for row in cells))
                  for i, n in enumerate(COLUMNS)]
        lines = ["  ".join(n.ljust(w) for n, w in zip(COLUMNS, widths))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(row, widths)))
                  for row in cells]
        return "\n".join(lines)

    def __str__(self):
        return self.table("text")


def _resolve_settings(quick, width, epochs, subset):
    settings = QUICK if quick else FULL
    if width is not None:
        settings = replace(settings, width=_check_positive_int("width", width))
    if epochs is not None:
        settings = replace(settings, num_epochs=_check_positive_int("epochs", epochs))
    if subset is not None:
        if isinstance(subset, (tuple, list)):
            if len(subset) != 2:
                raise ValueError(
                    f"subset must be N_train or (N_train, N_test), got {subset!r}")
            n_train, n_test = subset
        else:
            n_train, n_test = subset, settings.num_test
        n_train = _check_positive_int("subset (training images)", n_train)
        if n_test is not None:
            n_test = _check_positive_int("subset (test images)", n_test)
        settings = replace(settings, num_train=n_train, num_test=n_test)
    return settings


def _load(settings, data_dir):
    X, y = course_data.load_mnist("train", data_dir, flatten=True, normalize=True)
    X_test, y_test = course_data.load_mnist("test", data_dir, flatten=True,
                                            normalize=True)
    for name, n, available in (("training", settings.num_train, len(X)),
                               ("test", settings.num_test, len(X_test))):
        if n is not None and n > available:
            raise ValueError(f"asked for {n} {name} images, MNIST has {available}")
    X, y = X[: settings.num_train], y[: settings.num_train]
    X_test, y_test = X_test[: settings.num_test], y_test[: settings.num_test]
    return (np.ascontiguousarray(X, dtype=np.float32), y.astype(np.int64),
            np.ascontiguousarray(X_test, dtype=np.float32), y_test.astype(np.int64))


def _limit_threads(num_threads):
    """A context that runs BLAS and PyTorch on ``num_threads`` threads (None: as is)."""
    from contextlib import ExitStack

    stack = ExitStack()
    if num_threads is None:
        return stack
    num_threads = _check_positive_int("num_threads", num_threads)
    from threadpoolctl import threadpool_limits

    stack.enter_context(threadpool_limits(limits=num_threads))
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    stack.callback(torch.set_num_threads, previous)
    return stack


def run_comparison(
    quick=False,
    depths=(1, 2, 3, 4),
    width=None,
    epochs=None,
    subset=None,
    out_dir="results/compare",
    seed=0,
    progress=True,
    *,
    families=FAMILIES,
    cnn=True,
    device=None,
    data_dir=None,
    num_threads=1,
    fast=True,
):
    """Train and test every model of the comparison; print and return the table.

    quick: ``QUICK`` settings (first 5,000 training and 2,000 test images,
        width 128, 2 epochs, batches of 64: under a minute on 2 cores)
        instead of ``FULL`` (all 70,000 images, width 512, 8 epochs, batches
        of 128).
    depths: numbers of hidden layers for the sweep, each >= 1.
    width, epochs: override the settings' hidden units and epochs.
    subset: override the images used: ``N_train`` or ``(N_train, N_test)``
        (the first ones of each split; ``N_test`` None means all 10,000).
    out_dir: where ``results.csv``, ``results.md`` and the PNG figures go
        (created if missing); None writes nothing.
    seed: for every model's initial weights and batch order.
    progress: tqdm bars while training and a line per finished model.
    families: the MLP families to run (default all of ``FAMILIES``);
    cnn: include LeNet-5. device: PyTorch device (default: cuda if
    available, else cpu). data_dir: MNIST folder (default: as
    ``course.data.load_mnist``). num_threads: BLAS and PyTorch threads
    during the run (default 1; None leaves the libraries' own choice): the
    matrix products here are small enough that a second thread gains
    little, and on a busy machine threads that wait for each other make
    training several times slower (LeNet-5: 10x measured on a loaded 2-core
    machine). fast: see ``train_model``.

    Returns a ``Comparison``; raises ``ValueError`` on bad arguments and
    ``course.data.DatasetError`` when MNIST is missing.
    """
    depths = _check_depths(depths)
    families = tuple(_check_family(f) for f in families)
    settings = _resolve_settings(quick, width, epochs, subset)
    if num_threads is not None:
        _check_positive_int("num_threads", num_threads)
    device = default_device() if device is None else str(device)
    X, y, X_test, y_test = _load(settings, data_dir)
    data = (X, y, X_test, y_test)
    jobs = [(family, depth) for family in families for depth in depths]
    if cnn:
        jobs.append((CNN_FAMILY, None))
    if progress:
        print(f"MNIST comparison: {len(X):,} training and {len(X_test):,} test images, "
              f"{len(jobs)} models, {settings.num_epochs} epochs each, device {device}")
    results = []
    with _limit_threads(num_threads):
        for family, depth in jobs:
            result = train_model(family, data, depth=depth, settings=settings,
                                 seed=seed, device=device, progress=progress, fast=fast)
            results.append(result)
            if progress:
                tqdm.write(f"  {result.model}: {100 * result.test_accuracy:.2f}% test "
                           f"accuracy, {result.train_seconds:.1f} s")
    comparison = Comparison(results, settings, device, depths, len(X), len(X_test),
                            y_test, X_test)
    if out_dir is not None:
        comparison.files = write_outputs(comparison, out_dir)
    print(comparison.table())
    if comparison.files:
        print(f"written to {Path(out_dir)}: " + ", ".join(sorted(
            p.name for p in comparison.files.values())))
    return comparison


# ---------------------------------------------------------------------------
# Files and figures
# ---------------------------------------------------------------------------


def write_outputs(comparison, out_dir):
    """Write the table (CSV, Markdown) and the four figures; returns name -> Path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"csv": out / "results.csv", "markdown": out / "results.md"}
    files["csv"].write_text(comparison.table("csv"), encoding="utf-8")
    s = comparison.settings
    files["markdown"].write_text(
        f"# MNIST comparison\n\n{comparison.num_train:,} training images, "
        f"{comparison.num_test:,} test images; hidden width {s.width}, "
        f"batch size {s.batch_size}, device {comparison.device}.\n\n"
        + comparison.table("markdown"),
        encoding="utf-8",
    )
    for name, draw in (("accuracy_vs_depth", plot_accuracy_vs_depth),
                       ("training_curves", plot_curves),
                       ("confusion_matrix", plot_confusion_matrix),
                       ("misclassified", plot_misclassified)):
        fig = draw(comparison)
        files[name] = out / f"{name}.png"
        fig.savefig(files[name], dpi=110, bbox_inches="tight")
    return files


def _figure(**kwargs):
    from matplotlib.figure import Figure  # no pyplot: nothing global, no display

    return Figure(**kwargs)


def plot_accuracy_vs_depth(comparison):
    """Test accuracy against the number of hidden layers, one line per family."""
    fig = _figure(figsize=(6, 4))
    ax = fig.subplots()
    for family in FAMILIES:
        rows = sorted((r.hidden_layers, r.test_accuracy) for r in comparison.results
                      if r.family == family)
        if rows:
            depth, acc = zip(*rows)
            ax.plot(depth, [100 * a for a in acc], marker="o",
                    label=_FAMILY_NAMES[family])
    for r in comparison.results:
        if r.family == CNN_FAMILY:
            ax.axhline(100 * r.test_accuracy, color="grey", linestyle="--",
                       label=f"LeNet-5 CNN ({100 * r.test_accuracy:.2f}%)")
    ax.set_xticks(list(comparison.depths))
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"MNIST: accuracy vs depth (width {comparison.settings.width})")
    ax.legend(loc="lower right")
    return fig


def _curve_models(comparison):
    """One MLP per family (the depth closest to 2) and the CNN."""
    chosen = []
    for family in FAMILIES:
        rows = [r for r in comparison.results if r.family == family]
        if rows:
            chosen.append(min(rows, key=lambda r: (abs(r.hidden_layers - 2),
                                                   r.hidden_layers)))
    chosen += [r for r in comparison.results if r.family == CNN_FAMILY]
    return chosen


def plot_curves(comparison):
    """Training loss and test accuracy per epoch, one line per model."""
    from matplotlib.ticker import MaxNLocator

    fig = _figure(figsize=(11, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for r in _curve_models(comparison):
        epochs = np.arange(1, r.epochs + 1)
        marker = "o" if r.epochs <= 30 else None
        ax_loss.plot(epochs, r.history["train_loss"], marker=marker, label=r.model)
        ax_acc.plot(epochs, [100 * a for a in r.history["test_acc"]], marker=marker,
                    label=r.model)
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)", yscale="log",
                title="training loss per epoch")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)",
               title="test accuracy per epoch")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    return fig


def confusion_matrix(y_true, y_pred, num_classes=NUM_CLASSES):
    """counts[i, j] = how many images of class i were predicted as j; (C, C) int."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def plot_confusion_matrix(comparison):
    """The best model's confusion matrix, counts written in the cells."""
    best = comparison.best()
    counts = confusion_matrix(comparison.y_test, best.predictions)
    fig = _figure(figsize=(6, 5.2))
    ax = fig.subplots()
    image = ax.imshow(np.log1p(counts), cmap="Blues")
    for i in range(NUM_CLASSES):
        for j in range(NUM_CLASSES):
            if counts[i, j]:
                dark = np.log1p(counts[i, j]) > 0.6 * np.log1p(counts.max())
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    ax.set_xticks(range(NUM_CLASSES))
    ax.set_yticks(range(NUM_CLASSES))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(f"{best.model}: {100 * best.test_accuracy:.2f}% correct")
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    return fig


def plot_misclassified(comparison, max_images=32):
    """Test digits the best model gets wrong, labelled true -> predicted."""
    from course.plots import image_grid

    best = comparison.best()
    wrong = np.flatnonzero(best.predictions != comparison.y_test)[:max_images]
    fig = _figure(figsize=(8, 0.6 + 1.3 * max(1, -(-len(wrong) // 8))))
    ax = fig.subplots()
    if len(wrong):
        labels = [f"{t}->{p}" for t, p in zip(comparison.y_test[wrong],
                                              best.predictions[wrong])]
        image_grid(comparison.X_test[wrong].reshape(-1, 28, 28), labels, ncols=8, ax=ax)
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, "no test image is misclassified", ha="center", va="center")
    total = int((best.predictions != comparison.y_test).sum())
    ax.set_title(f"{best.model}: {total} misclassified test digits "
                 f"(true->predicted), first {len(wrong)} shown")
    return fig


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def add_arguments(parser):
    """Add the comparison's options to an ``argparse`` parser (or subparser).

    Use with ``run_from_args``::

        sub = commands.add_parser("compare", help="...")
        add_arguments(sub)
        sub.set_defaults(func=run_from_args)
    """
    parser.add_argument("--quick", action="store_true",
                        help="5,000 training / 2,000 test images, width 128, 2 epochs "
                             "(under a minute on 2 cores)")
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3, 4],
                        metavar="L", help="numbers of hidden layers (default: 1 2 3 4)")
    parser.add_argument("--width", type=int, default=None,
                        help="hidden units per layer (default: 512, quick: 128)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs for every model (default: 8, quick: 2)")
    parser.add_argument("--subset", type=int, nargs="+", default=None,
                        metavar="N", help="use the first N_TRAIN [N_TEST] images")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES),
                        choices=FAMILIES, help="MLP families (default: all)")
    parser.add_argument("--no-cnn", action="store_true", help="leave out LeNet-5")
    parser.add_argument("--out-dir", default="results/compare",
                        help="folder for the table and figures "
                             "(default: results/compare)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--device", default=None,
                        help="PyTorch device (default: cuda if available, else cpu)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for BLAS and PyTorch (default: 1; 0: the "
                             "libraries' own choice)")
    parser.add_argument("--data-dir", default=None,
                        help=f"MNIST folder (default: ${course_data.ENV_VAR} or "
                             "the cache)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def run_from_args(args):
    """Run the comparison from parsed ``add_arguments`` options; returns the exit
    status.

    0 on success; 1 when MNIST is missing or corrupt; 2 on bad options (the
    message goes to stderr).
    """
    subset = args.subset
    if subset is not None:
        subset = subset[0] if len(subset) == 1 else tuple(subset)
    try:
        run_comparison(
            quick=args.quick, depths=args.depths, width=args.width, epochs=args.epochs,
            subset=subset, out_dir=args.out_dir, seed=args.seed,
            progress=not args.no_progress, families=args.families, cnn=not args.no_cnn,
            device=args.device, data_dir=args.data_dir,
            num_threads=args.threads or None,
        )
    except course_data.DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv=None, prog="python -m course.compare"):
    """``course compare [options]`` (or ``python -m course.compare``); returns the
    exit status."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="MNIST: scikit-learn, PyTorch and from-scratch numpy MLPs of "
                    "several depths, and LeNet-5, side by side.",
    )
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

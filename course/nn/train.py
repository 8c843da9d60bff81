"""The training loop: mini-batches, ``fit`` with early stopping, predictions.

One step of training, as on the slides: take a batch, forward, batch loss,
backward, update, next batch. An epoch is one pass over the shuffled
training set. Shapes: X (N, D) or (N, C, H, W), y (N,) labels or targets.
"""

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from course.nn.losses import bce_with_logits, mse_loss, softmax_cross_entropy
from course.nn.optim import SGD

LOSSES = {
    "cross_entropy": softmax_cross_entropy,
    "bce_with_logits": bce_with_logits,
    "mse": mse_loss,
}


def batches(X, y, batch_size, rng=None):
    """Yield ``(X_batch, y_batch)`` of ``batch_size`` rows (the last may be shorter).

    With a ``numpy.random.Generator`` ``rng`` the rows are shuffled first
    (a new order on every call); without one they come in order. Usage:
    ``for X_batch, y_batch in batches(X, y, 64, rng): ...``
    """
    N = len(X)
    if len(y) != N:
        raise ValueError(f"X has {N} rows but y has {len(y)}")
    order = rng.permutation(N) if rng is not None else None
    for start in range(0, N, batch_size):
        if order is None:
            yield X[start : start + batch_size], y[start : start + batch_size]
        else:
            idx = order[start : start + batch_size]
            yield X[idx], y[idx]


def train_step(model, X, y, optimizer, loss="cross_entropy"):
    """One step of training: forward, batch loss, backward, update.

    model: a ``course.nn`` layer or ``Sequential``; X: a batch (B, ...);
    y: its labels (B,) or targets; optimizer: an ``SGD`` over the model;
    loss: a name in ``LOSSES``. Returns ``(batch_loss, out)``: the mean loss
    over the batch (a float) and the model's outputs (B, C) before the
    update. ``fit`` and ``course.compare`` both take their steps here.
    """
    out = model.forward(X)
    batch_loss, dout = LOSSES[loss](out, y)
    model.backward(dout)
    optimizer.step()
    return batch_loss, out


def _outputs(model, X, batch_size=1000):
    """The model's outputs on X, in evaluation mode, batch by batch."""
    was_training = model.training
    model.eval()
    try:
        return np.concatenate(
            [model.forward(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
        )
    finally:
        if was_training:
            model.train()


def _labels(out):
    """Class labels: argmax of (N, C) scores, or score > 0 for a single column."""
    if out.ndim == 1 or out.shape[1] == 1:
        return (out.reshape(len(out)) > 0).astype(np.int64)
    return out.argmax(axis=1)


def predict(model, X, batch_size=1000):
    """Predicted class labels (N,) int64 for X, with the model in evaluation mode.

    Multi-class scores (N, C) give the argmax; a single logit column
    (binary classification with ``bce_with_logits``) gives 1 where the
    logit is positive.
    """
    return _labels(_outputs(model, X, batch_size))


def accuracy(model, X, y, batch_size=1000):
    """Fraction of the N samples whose predicted label equals y (a float in [0, 1])."""
    y = np.asarray(y).reshape(len(X))
    return float((predict(model, X, batch_size) == y).mean())


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch (index 0 = first epoch).

    Train loss and accuracy are averaged over the epoch's batches (while the
    weights move); validation numbers are computed after the epoch. The
    losses are the data loss only (no weight-decay term). Accuracies are NaN
    for the ``"mse"`` loss. ``best_epoch`` indexes the lowest validation loss
    (None without validation data); ``stopped_early`` says whether patience
    ran out.
    """

    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    best_epoch: int = None
    stopped_early: bool = False

    @property
    def num_epochs(self):
        return len(self.train_loss)

    @property
    def history(self):
        """The per-epoch curves as a dict (``train_loss``, ``val_loss``, ...),
        the form ``course.plots.plot_training_curves`` draws."""
        curves = {
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "train_acc": self.train_acc,
            "val_acc": self.val_acc,
        }
        return {k: v for k, v in curves.items() if v and not np.all(np.isnan(v))}


def _snapshot(model):
    return {name: p.copy() for name, p in model.params().items()}


def _restore(model, snapshot):
    for name, p in model.params().items():
        p[...] = snapshot[name]


def _split(X, y, val_fraction, rng):
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    order = rng.permutation(len(X))
    n_val = max(1, int(round(val_fraction * len(X))))
    val, tr = order[:n_val], order[n_val:]
    return X[tr], y[tr], X[val], y[val]


def _evaluate(model, X, y, loss_fn, classify):
    out = _outputs(model, X)
    loss, _ = loss_fn(out, y)
    acc = float((_labels(out) == y.reshape(len(y))).mean()) if classify else np.nan
    return loss, acc


def fit(
    model,
    X,
    y,
    *,
    loss="cross_entropy",
    num_epochs=10,
    batch_size=64,
    lr=0.1,
    momentum=0.0,
    weight_decay=0.0,
    val_fraction=None,
    val_data=None,
    patience=None,
    rng=None,
    progress=True,
):
    """Train ``model`` by mini-batch SGD; returns a ``History``.

    Args:
        model: a layer or ``Sequential`` from ``course.nn``.
        X, y: training inputs (N, ...) and labels (N,) (``"cross_entropy"``),
            0/1 targets (``"bce_with_logits"``) or targets (``"mse"``).
            X is cast to the dtype of the model's parameters.
        loss: ``"cross_entropy"`` (softmax output), ``"bce_with_logits"``
            (sigmoid output) or ``"mse"`` (linear output).
        num_epochs, batch_size, lr, momentum, weight_decay: as in ``SGD``
            (weight decay on weights, not biases).
        val_fraction: hold out this fraction of (X, y) for validation, or
        val_data: a separate ``(X_val, y_val)`` (give at most one).
        patience: stop when the validation loss has not improved for this
            many epochs, and put back the weights of the best epoch (early
            stopping). Needs validation data.
        rng: ``numpy.random.Generator`` for the split and the shuffling.
        progress: show a tqdm progress bar.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    if val_fraction is not None and val_data is not None:
        raise ValueError("give val_fraction or val_data, not both")
    if patience is not None and val_fraction is None and val_data is None:
        raise ValueError("early stopping (patience) needs val_fraction or val_data")
    loss_fn, classify = LOSSES[loss], loss != "mse"
    rng = np.random.default_rng() if rng is None else rng
    params = model.params()
    dtype = next(iter(params.values())).dtype if params else np.float32
    X, y = np.asarray(X, dtype=dtype), np.asarray(y)
    if loss != "cross_entropy":
        y = y.astype(dtype)
    if val_fraction is not None:
        X, y, X_val, y_val = _split(X, y, val_fraction, rng)
    elif val_data is not None:
        X_val, y_val = np.asarray(val_data[0], dtype=dtype), np.asarray(val_data[1])
        if loss != "cross_entropy":
            y_val = y_val.astype(dtype)
    has_val = val_fraction is not None or val_data is not None

    optimizer = SGD(model, lr, momentum=momentum, weight_decay=weight_decay)
    history = History()
    best_loss, best_params, waited = np.inf, None, 0
    steps = num_epochs * -(-len(X) // batch_size)
    bar = tqdm(total=steps, disable=not progress, unit="batch", leave=False)
    model.train()
    for epoch in range(num_epochs):
        start = time.perf_counter()
        total_loss, total_correct = 0.0, 0
        for X_batch, y_batch in batches(X, y, batch_size, rng):
            batch_loss, out = train_step(model, X_batch, y_batch, optimizer, loss)
            total_loss += batch_loss * len(X_batch)
            if classify:
                total_correct += int((_labels(out) == y_batch.reshape(-1)).sum())
            bar.update()
        if not np.isfinite(total_loss):
            bar.close()
            raise FloatingPointError(
                f"training diverged in epoch {epoch + 1}: the loss is {total_loss}; "
                f"try a smaller learning rate than lr={lr}"
            )
        history.train_loss.append(total_loss / len(X))
        history.train_acc.append(total_correct / len(X) if classify else np.nan)
        if has_val:
            val_loss, val_acc = _evaluate(model, X_val, y_val, loss_fn, classify)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
            if val_loss < best_loss:
                best_loss, waited = val_loss, 0
                history.best_epoch = epoch
                if patience is not None:
                    best_params = _snapshot(model)
            else:
                waited += 1
        history.epoch_time.append(time.perf_counter() - start)
        bar.set_postfix(
            epoch=epoch + 1,
            loss=f"{history.train_loss[-1]:.4f}",
            val_loss=f"{history.val_loss[-1]:.4f}" if has_val else "-",
        )
        if patience is not None and waited >= patience:
            history.stopped_early = True
            break
    bar.close()
    if best_params is not None:
        _restore(model, best_params)
    return history

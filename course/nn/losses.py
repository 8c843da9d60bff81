"""Output functions and losses, each returning the loss and its gradient.

Every loss has the form ``loss, d = name(prediction, target)``: ``loss`` is
a Python float averaged over the N samples of the batch, ``d`` is the
gradient of that average with respect to the prediction (same shape). The
pairings follow the slides: linear output + mean squared error, sigmoid
output + binary cross-entropy, softmax output + cross-entropy. N batch, C
classes, M outputs.

All of them are numerically stable: they never exponentiate a large
positive number and never take the log of 0.
"""

import numpy as np

from course.activations import sigmoid, softplus


def log_softmax(z, axis=-1):
    """log softmax(z) = z - log sum_j exp(z_j), stable.

    Computed as (z - max z) - log sum_j exp(z_j - max z), so exp never
    overflows.

    z: (N, C) (or any shape; ``axis`` holds the classes) -> same shape.
    """
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(z, axis=-1):
    """softmax(z)_c = exp(z_c) / sum_j exp(z_j), stable; z: (N, C) -> (N, C)."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _check_labels(logits, y):
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, C), got {logits.shape}")
    y = np.asarray(y)
    if y.shape != logits.shape[:1] or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"labels must be integers of shape ({logits.shape[0]},) to go with "
            f"logits of shape {logits.shape}; got {y.dtype} of shape {y.shape}"
        )
    if y.size and (y.min() < 0 or y.max() >= logits.shape[1]):
        raise ValueError(
            f"labels must lie in 0..{logits.shape[1] - 1}, got {y.min()}..{y.max()}"
        )
    return y


def softmax_cross_entropy(logits, y):
    """Softmax output + cross-entropy, L = -(1/N) sum_n log softmax(z_n)[y_n].

    logits: (N, C) scores z, y: (N,) integer labels in 0..C-1 -> loss: float,
    dlogits: (N, C) = (softmax(z) - onehot(y)) / N.
    """
    y = _check_labels(logits, y)
    N = logits.shape[0]
    rows = np.arange(N)
    logp = log_softmax(logits)
    loss = -logp[rows, y].mean()
    dlogits = np.exp(logp)
    dlogits[rows, y] -= 1
    dlogits /= N
    return float(loss), dlogits


def mse_loss(y_hat, y):
    """Linear output + squared error, L = (1/N) sum_n ||y_hat_n - y_n||^2.

    y_hat, y: (N,) or (N, M) -> loss: float, dy_hat = 2 (y_hat - y) / N.
    The squared error is summed over the M outputs and averaged over the N
    samples, as on the slides; ``torch.nn.functional.mse_loss`` averages
    over all N M entries instead (the same when M = 1).
    """
    y = np.asarray(y, dtype=y_hat.dtype).reshape(y_hat.shape)
    diff = y_hat - y
    N = y_hat.shape[0]
    return float((diff * diff).sum() / N), diff * (2 / N)


def bce_with_logits(logits, y):
    """Sigmoid output + binary cross-entropy, from the scores z (not sigma(z)).

    L = -(1/N) sum [y log sigma(z) + (1 - y) log(1 - sigma(z))]
      = (1/N) sum [softplus(z) - y z],
    stable for any z. logits: (N,) or (N, M), y: same shape, entries in
    [0, 1] -> loss: float, dlogits = (sigma(z) - y) / N.
    """
    y = np.asarray(y, dtype=logits.dtype).reshape(logits.shape)
    N = logits.shape[0]
    loss = (softplus(logits) - y * logits).sum() / N
    return float(loss), (sigmoid(logits) - y) / N


def bce_loss(y_hat, y):
    """Binary cross-entropy of probabilities y_hat = sigma(z) in [0, 1].

    L = -(1/N) sum [y log y_hat + (1 - y) log(1 - y_hat)], each log clamped
    at -100 (as PyTorch does) so that y_hat = 0 or 1 gives a finite loss.
    y_hat, y: (N,) or (N, M) -> loss: float, dy_hat: same shape. Prefer
    ``bce_with_logits``, which never loses precision in sigma.
    """
    y = np.asarray(y, dtype=y_hat.dtype).reshape(y_hat.shape)
    N = y_hat.shape[0]
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(y_hat), -100)
        log_q = np.maximum(np.log1p(-y_hat), -100)
    loss = -(y * log_p + (1 - y) * log_q).sum() / N
    denom = np.maximum(y_hat * (1 - y_hat), 1e-12)
    return float(loss), (y_hat - y) / denom / N

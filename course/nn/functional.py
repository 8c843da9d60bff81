"""Layers as pure functions: each ``*_forward`` has a ``*_backward`` partner.

The contract (CS231n style): ``out, cache = name_forward(x, ...)`` returns
the output and whatever the backward pass needs; ``name_backward(dout,
cache)`` takes the upstream gradient ``dout`` (the shape of ``out``) and
returns the gradients with the shapes of the inputs, in the order of the
forward arguments. Nothing here holds state.

Shapes: N batch, D input features, M outputs; images (N, C, H, W); F
filters, HH x WW kernel; Ho x Wo output size. An array keeps its dtype:
float32 in gives float32 out.

The losses (``softmax_cross_entropy`` and friends) live in
``course.nn.losses`` and are re-exported here, so that every pure function
of the package can be imported from this module.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from course.activations import get_activation
from course.nn.losses import (  # noqa: F401  (re-exported)
    bce_loss,
    bce_with_logits,
    log_softmax,
    mse_loss,
    softmax,
    softmax_cross_entropy,
)

# ---------------------------------------------------------------------------
# Affine (fully connected)
# ---------------------------------------------------------------------------


def affine_forward(x, w, b):
    """out = x @ w + b.

    x: (N, D), w: (D, M), b: (M,) -> out: (N, M), cache = (x, w).
    """
    out = x @ w
    out += b
    return out, (x, w)


def affine_backward(dout, cache):
    """dout: (N, M) -> dx: (N, D), dw: (D, M), db: (M,)."""
    x, w = cache
    dx = dout @ w.T
    dw = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# ---------------------------------------------------------------------------
# Activations, on top of course.activations
# ---------------------------------------------------------------------------


def activation_forward(x, name="relu", **kwargs):
    """a = f(x) elementwise, f one of ``course.activations.ACTIVATIONS``.

    x: any shape -> out: same shape, cache = (x, name, kwargs). ``kwargs``
    go to the activation, e.g. ``gamma=0.1`` for ``"leaky_relu"``.
    """
    f, _ = get_activation(name)
    return f(x, **kwargs), (x, name, kwargs)


def activation_backward(dout, cache):
    """dx = dout * f'(x), elementwise; dout and dx have the shape of x."""
    x, name, kwargs = cache
    _, f_grad = get_activation(name)
    return dout * f_grad(x, **kwargs)


def relu_forward(x):
    """ReLU max(0, x): x any shape -> out same shape, cache = x."""
    out, _ = activation_forward(x, "relu")
    return out, x


def relu_backward(dout, cache):
    """dx = dout where x > 0, else 0."""
    return activation_backward(dout, (cache, "relu", {}))


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------


def dropout_forward(x, p, training=True, rng=None):
    """Inverted dropout: zero each entry with probability p, scale the rest.

    In training, out = x * mask with mask = keep / (1 - p) and keep ~
    Bernoulli(1 - p), so that E[out] = x and nothing changes at test time.
    In evaluation (``training=False``) out = x and the mask is None.

    x: any shape -> out: same shape, cache = mask (same shape) or None.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x, None
    rng = np.random.default_rng() if rng is None else rng
    keep = rng.random(x.shape) >= p
    mask = keep.astype(x.dtype) / x.dtype.type(1.0 - p)
    return x * mask, mask


def dropout_backward(dout, cache):
    """dx = dout * mask (or dout itself in evaluation mode)."""
    mask = cache
    return dout if mask is None else dout * mask


# ---------------------------------------------------------------------------
# Convolution and max pooling
# ---------------------------------------------------------------------------


def _pair(v, name):
    """An int or a pair of ints -> a pair of ints."""
    pair = (v, v) if np.isscalar(v) else tuple(v)
    if len(pair) != 2 or any(int(k) != k for k in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(pair[0]), int(pair[1])


def output_size(size, kernel, stride=1, pad=0):
    """Output length of a convolution or pooling layer.

    (size + 2 pad - kernel) // stride + 1, e.g. 28 -> 24 for a 5x5 kernel.
    """
    return (size + 2 * pad - kernel) // stride + 1


def _windows(x, kernel, stride):
    """All kernel windows of x as a view, no copy.

    x: (N, C, H, W) -> (N, C, Ho, Wo, HH, WW), where window (i, j) starts at
    row i * stride[0] and column j * stride[1].
    """
    N, C, H, W = x.shape
    HH, WW = kernel
    sh, sw = stride
    Ho, Wo = (H - HH) // sh + 1, (W - WW) // sw + 1
    sN, sC, sH, sW = x.strides
    return as_strided(
        x,
        shape=(N, C, Ho, Wo, HH, WW),
        strides=(sN, sC, sH * sh, sW * sw, sH, sW),
        writeable=False,
    )


def _strided_slices(kernel, stride, out_size):
    """For each kernel offset (u, v), the slices of rows and columns it touches.

    Yields ``(u, v, rows, cols)``: the input entries that sit at offset
    (u, v) inside the Ho x Wo windows, i.e. x[..., u::sh, v::sw] cut to
    Ho x Wo. A loop over the HH * WW offsets, each step vectorised.
    """
    (HH, WW), (sh, sw), (Ho, Wo) = kernel, stride, out_size
    for u in range(HH):
        for v in range(WW):
            rows = slice(u, u + sh * (Ho - 1) + 1, sh)
            cols = slice(v, v + sw * (Wo - 1) + 1, sw)
            yield u, v, rows, cols


def _check_conv_input(x, kernel, pad):
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got shape {x.shape}")
    H, W = x.shape[2] + 2 * pad[0], x.shape[3] + 2 * pad[1]
    if H < kernel[0] or W < kernel[1]:
        raise ValueError(
            f"input of size {x.shape[2]}x{x.shape[3]} (padded {H}x{W}) is smaller "
            f"than the {kernel[0]}x{kernel[1]} kernel"
        )


def conv2d_forward(x, w, b, stride=1, pad=0):
    """2-D convolution (cross-correlation, as in every deep-learning library).

    out[n, f, i, j] = b[f] + sum_{c, u, v} w[f, c, u, v]
                             * xpad[n, c, i * sh + u, j * sw + v]

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,); stride and pad are ints or
    (vertical, horizontal) pairs; zero padding. -> out: (N, F, Ho, Wo) with
    Ho = (H + 2 ph - HH) // sh + 1 and Wo likewise.

    Vectorised by im2col: every window becomes a column of a
    (C HH WW, N Ho Wo) matrix, and the whole convolution is one matrix
    product with the (F, C HH WW) matrix of filters.
    """
    stride, pad = _pair(stride, "stride"), _pair(pad, "pad")
    F, C, HH, WW = w.shape
    _check_conv_input(x, (HH, WW), pad)
    if x.shape[1] != C:
        raise ValueError(f"x has {x.shape[1]} channels but w expects {C}")
    N = x.shape[0]
    if pad == (0, 0):
        xp = x
    else:
        xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    win = _windows(xp, (HH, WW), stride)  # (N, C, Ho, Wo, HH, WW), a view
    Ho, Wo = win.shape[2], win.shape[3]
    cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(C * HH * WW, N * Ho * Wo)
    out = w.reshape(F, -1) @ cols  # (F, N Ho Wo)
    out += b[:, None]
    out = out.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)
    cache = (cols, w, xp.shape, stride, pad)
    return np.ascontiguousarray(out), cache


def conv2d_backward(dout, cache):
    """dout: (N, F, Ho, Wo) -> dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F,).

    Convolution is a weighted sum, so its backward pass is that of an affine
    layer on the im2col matrix, followed by adding each window's gradient
    back to the pixels it came from.
    """
    cols, w, xp_shape, stride, pad = cache
    F, C, HH, WW = w.shape
    N, _, Ho, Wo = dout.shape
    dout_mat = dout.transpose(1, 0, 2, 3).reshape(F, N * Ho * Wo)
    db = dout_mat.sum(axis=1)
    dw = (dout_mat @ cols.T).reshape(w.shape)
    w_t = np.ascontiguousarray(w.reshape(F, -1).T)  # BLAS is faster on contiguous
    dcols = (w_t @ dout_mat).reshape(C, HH, WW, N, Ho, Wo)
    # Scatter the columns back, channels first: (C, N, H + 2 ph, W + 2 pw).
    dxp = np.zeros((C, N) + tuple(xp_shape[2:]), dtype=dcols.dtype)
    for u, v, rows, cols_ in _strided_slices((HH, WW), stride, (Ho, Wo)):
        dxp[:, :, rows, cols_] += dcols[:, u, v]
    H, W = xp_shape[2] - 2 * pad[0], xp_shape[3] - 2 * pad[1]
    dx = dxp[:, :, pad[0] : pad[0] + H, pad[1] : pad[1] + W].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(dx), dw, db


def maxpool2d_forward(x, kernel_size, stride=None):
    """Max pooling: the largest value of each kernel window, channel by channel.

    x: (N, C, H, W); kernel_size and stride ints or pairs (stride defaults
    to the kernel size: non-overlapping windows) -> out: (N, C, Ho, Wo).
    The cache records which offset inside each window held the maximum
    (the first one on ties, as in PyTorch).
    """
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    _check_conv_input(x, kernel, (0, 0))
    N, C, H, W = x.shape
    size = (
        output_size(H, kernel[0], stride[0]),
        output_size(W, kernel[1], stride[1]),
    )
    out, argmax = None, np.zeros((N, C) + size, dtype=np.int32)
    for u, v, rows, cols in _strided_slices(kernel, stride, size):
        candidate = x[:, :, rows, cols]
        if out is None:  # offset (0, 0): the first candidate of every window
            out = candidate.copy()
            continue
        better = candidate > out
        np.copyto(out, candidate, where=better)
        np.copyto(argmax, u * kernel[1] + v, where=better)
    return out, (argmax, x.shape, kernel, stride)


def maxpool2d_backward(dout, cache):
    """dout: (N, C, Ho, Wo) -> dx: (N, C, H, W).

    Each window's gradient goes to the one input that was its maximum;
    overlapping windows add up.
    """
    argmax, x_shape, kernel, stride = cache
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for u, v, rows, cols in _strided_slices(kernel, stride, dout.shape[2:]):
        dx[:, :, rows, cols] += np.where(argmax == u * kernel[1] + v, dout, 0)
    return dx

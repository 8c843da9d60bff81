"""Layers: small classes around the pure functions of ``course.nn.functional``.

Every layer has the same five methods:

- ``forward(x)`` (also ``layer(x)``) computes the output and keeps the cache;
- ``backward(dout)`` returns ``dx`` and stores the parameter gradients;
- ``params()`` and ``grads()`` return dicts ``name -> array`` with the same
  keys; ``params()`` gives the live arrays, so an optimiser updates them in
  place;
- ``train()`` / ``eval()`` switch the mode (only ``Dropout`` cares).

Gradients are overwritten by each ``backward``, not accumulated (unlike
PyTorch, there is no ``zero_grad``). Parameters named ``W`` are weights,
``b`` biases; ``Sequential`` prefixes them with the layer's index (``"0.W"``).
"""

import numpy as np

from course.nn import functional as F


class Module:
    """Base class: a layer without parameters that passes its mode around."""

    training = True

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def params(self):
        return {}

    def grads(self):
        return {}

    def train(self):
        """Training mode (dropout active); returns self."""
        self.training = True
        return self

    def eval(self):
        """Evaluation mode (dropout off); returns self."""
        self.training = False
        return self

    def _cached(self):
        """The cache of the last forward pass, or a clear error if there is none."""
        cache = getattr(self, "_cache", None)
        if cache is None:
            raise RuntimeError(
                f"{self!r}.backward() called before forward(): run a forward "
                "pass first, it stores what the backward pass needs"
            )
        return cache

    def __repr__(self):
        return f"{type(self).__name__}()"


def _init_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


class _WeightAndBias(Module):
    """A layer with a weight ``W`` and a bias ``b``; its backward is a
    ``course.nn.functional`` function ``(dout, cache) -> dx, dW, db``, kept in
    ``_backward``. After ``backward`` the gradients are in ``dW`` and ``db``."""

    _backward = None

    def backward(self, dout):
        dx, self.dW, self.db = type(self)._backward(dout, self._cached())
        return dx

    def params(self):
        return {"W": self.W, "b": self.b}

    def grads(self):
        return {"W": self.dW, "b": self.db}


class Linear(_WeightAndBias):
    """Fully connected layer, out = x @ W + b.

    x: (N, D) -> out: (N, M) with D = in_features, M = out_features;
    W: (D, M), b: (M,).

    Initialisation (b = 0):
    - ``init="he"`` (default, for ReLU networks): W ~ N(0, 2 / D);
    - ``init="xavier"`` (Glorot, for sigmoid/tanh): W ~ U(-a, a) with
      a = sqrt(6 / (D + M)), so that Var W = 2 / (D + M).
    ``rng`` is a ``numpy.random.Generator`` (default: a fresh one);
    ``dtype`` float32 (default, like PyTorch) or float64.
    """

    _backward = staticmethod(F.affine_backward)

    def __init__(
        self, in_features, out_features, rng=None, init="he", dtype=np.float32
    ):
        rng = np.random.default_rng() if rng is None else rng
        dtype = _init_dtype(dtype)
        D, M = in_features, out_features
        if init == "he":
            W = rng.standard_normal((D, M)) * np.sqrt(2.0 / D)
        elif init == "xavier":
            a = np.sqrt(6.0 / (D + M))
            W = rng.uniform(-a, a, size=(D, M))
        else:
            raise ValueError(f"init must be 'he' or 'xavier', got {init!r}")
        self.in_features, self.out_features = D, M
        self.W = W.astype(dtype)
        self.b = np.zeros(M, dtype=dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self._cache = None

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            got = f"(N, {x.shape[1]})" if x.ndim == 2 else f"shape {x.shape}"
            raise ValueError(
                f"{self!r} expects input of shape (N, {self.in_features}), got {got}"
            )
        out, self._cache = F.affine_forward(x, self.W, self.b)
        return out

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features})"


class Activation(Module):
    """An elementwise activation from ``course.activations``; x: any shape."""

    name = None

    def __init__(self):
        self.kwargs = {}  # extra arguments of the activation (LeakyReLU's gamma)
        self._cache = None

    def forward(self, x):
        out, self._cache = F.activation_forward(x, self.name, **self.kwargs)
        return out

    def backward(self, dout):
        return F.activation_backward(dout, self._cached())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{type(self).__name__}({args})"


class ReLU(Activation):
    """max(0, x)."""

    name = "relu"


class Sigmoid(Activation):
    """1 / (1 + exp(-x))."""

    name = "sigmoid"


class Tanh(Activation):
    """tanh(x)."""

    name = "tanh"


class Softplus(Activation):
    """ln(1 + exp(x)), a smooth ReLU."""

    name = "softplus"


class LeakyReLU(Activation):
    """x for x >= 0, gamma * x for x < 0."""

    name = "leaky_relu"

    def __init__(self, gamma=0.01):
        super().__init__()
        self.kwargs = {"gamma": gamma}


class Conv2d(_WeightAndBias):
    """2-D convolution layer (no groups, no dilation).

    x: (N, C, H, W) -> out: (N, F, Ho, Wo) with C = in_channels,
    F = out_channels, Ho = (H + 2 ph - HH) // sh + 1 (Wo likewise).
    W: (F, C, HH, WW) (the PyTorch layout), b: (F,). ``kernel_size``,
    ``stride`` and ``padding`` are ints or (vertical, horizontal) pairs.
    He initialisation W ~ N(0, 2 / (C HH WW)), b = 0.
    """

    _backward = staticmethod(F.conv2d_backward)

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        rng=None,
        dtype=np.float32,
    ):
        rng = np.random.default_rng() if rng is None else rng
        dtype = _init_dtype(dtype)
        HH, WW = F._pair(kernel_size, "kernel_size")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (HH, WW)
        self.stride = F._pair(stride, "stride")
        self.padding = F._pair(padding, "padding")
        fan_in = in_channels * HH * WW
        W = rng.standard_normal((out_channels, in_channels, HH, WW))
        self.W = (W * np.sqrt(2.0 / fan_in)).astype(dtype)
        self.b = np.zeros(out_channels, dtype=dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self._cache = None

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            got = (
                f"(N, {x.shape[1]}, {x.shape[2]}, {x.shape[3]})"
                if x.ndim == 4
                else f"shape {x.shape}"
            )
            raise ValueError(
                f"{self!r} expects input of shape (N, {self.in_channels}, H, W), "
                f"got {got}"
            )
        out, self._cache = F.conv2d_forward(
            x, self.W, self.b, self.stride, self.padding
        )
        return out

    def __repr__(self):
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, "
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding})"
        )


class MaxPool2d(Module):
    """Max pooling; x: (N, C, H, W) -> (N, C, Ho, Wo). Stride defaults to the kernel."""

    def __init__(self, kernel_size, stride=None):
        self.kernel_size = F._pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else F._pair(stride, "stride")
        self._cache = None

    def forward(self, x):
        out, self._cache = F.maxpool2d_forward(x, self.kernel_size, self.stride)
        return out

    def backward(self, dout):
        return F.maxpool2d_backward(dout, self._cached())

    def __repr__(self):
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride})"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 d2 ...), e.g. (N, C, H, W) -> (N, C H W)."""

    def __init__(self):
        self._cache = None

    def forward(self, x):
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self._cached())


class Dropout(Module):
    """Inverted dropout with drop probability p; the identity in eval mode.

    x: any shape -> same shape. In training each entry is zeroed with
    probability p and the survivors are scaled by 1 / (1 - p).
    """

    def __init__(self, p=0.5, rng=None):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
        self.p = p
        self.rng = np.random.default_rng() if rng is None else rng
        self._cache = None

    def forward(self, x):
        out, mask = F.dropout_forward(x, self.p, self.training, self.rng)
        self._cache = (mask,)
        return out

    def backward(self, dout):
        (mask,) = self._cached()
        return F.dropout_backward(dout, mask)

    def __repr__(self):
        return f"Dropout(p={self.p})"


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse.

    Parameters and gradients are named ``"<index>.<name>"``, e.g. ``"0.W"``.
    """

    def __init__(self, *layers):
        self.layers = list(layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def params(self):
        return {
            f"{i}.{name}": p
            for i, layer in enumerate(self.layers)
            for name, p in layer.params().items()
        }

    def grads(self):
        return {
            f"{i}.{name}": g
            for i, layer in enumerate(self.layers)
            for name, g in layer.grads().items()
        }

    def train(self):
        self.training = True
        for layer in self.layers:
            layer.train()
        return self

    def eval(self):
        self.training = False
        for layer in self.layers:
            layer.eval()
        return self

    def __repr__(self):
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"

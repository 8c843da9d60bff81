"""Reference results computed with PyTorch, for the assignments' hidden tests.

A hidden test compares a student's numpy code with an independent
computation, never with a copy of the solution. The functions here build that
computation in PyTorch (float64, autograd for derivatives) and hand back
float64 numpy arrays, so a test cell reads like this::

    want = references.activation("sigmoid", z)
    check_array("sigmoid(z)", sigmoid(z), want, context=f"z of shape {z.shape}")

Weights follow the course's orientation: ``W`` is ``(D, M)`` and
``out = X @ W + b``, unlike ``torch.nn.Linear``'s ``(out, in)``; the
conversion (``F.linear(X, W.T, b)``) happens here, once.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _tensor(value, requires_grad=False):
    array = np.array(value, dtype=np.float64, copy=True)
    return torch.tensor(array, dtype=torch.float64, requires_grad=requires_grad)


def _numpy(tensor):
    return tensor.detach().cpu().numpy().astype(np.float64)


def _heaviside(z):
    return torch.heaviside(z, torch.ones((), dtype=z.dtype))


# name -> f(z, **kwargs) on a float64 tensor; leaky ReLU takes ``gamma``.
TORCH_ACTIVATIONS = {
    "identity": lambda z: z,
    "heaviside": _heaviside,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda z, gamma=0.01: F.leaky_relu(z, negative_slope=gamma),
    "softplus": F.softplus,
}


def _torch_activation(name):
    try:
        return TORCH_ACTIVATIONS[name]
    except KeyError:
        known = ", ".join(sorted(TORCH_ACTIVATIONS))
        raise ValueError(
            f"unknown activation {name!r}; choose one of: {known}"
        ) from None


def activation(name, z, **kwargs):
    """``name`` applied elementwise to ``z`` by PyTorch, as a float64 array."""
    with torch.no_grad():
        return _numpy(_torch_activation(name)(_tensor(z), **kwargs))


def activation_grad(name, z, **kwargs):
    """The derivative of activation ``name`` at every element of ``z``, by autograd.

    PyTorch's conventions at kinks hold: ReLU' (0) = 0, leaky ReLU' (0) = gamma.
    """
    t = _tensor(z, requires_grad=True)
    out = _torch_activation(name)(t, **kwargs)
    (grad,) = torch.autograd.grad(out.sum(), t)
    return _numpy(grad)


def dense_forward(X, W, b, activation="identity"):
    """A dense layer ``f(X @ W + b)`` by ``torch.nn.functional.linear``.

    X: (N, D); W: (D, M); b: (M,). Returns (N, M).
    """
    with torch.no_grad():
        Z = F.linear(_tensor(X), _tensor(W).T, _tensor(b))
        return _numpy(_torch_activation(activation)(Z))


def mlp_forward(X, layers):
    """Dense layers ``(W, b, activation)`` applied in order, in PyTorch."""
    A = np.array(X, dtype=np.float64, copy=True)
    for W, b, name in layers:
        A = dense_forward(A, W, b, name)
    return A


def parameter_count(layer_sizes):
    """Parameters of ``nn.Sequential(nn.Linear, ...)`` for sizes [D, H1, ..., M].

    The layers are built on the ``meta`` device, so even huge sizes allocate
    nothing.
    """
    sizes = [int(s) for s in layer_sizes]
    model = nn.Sequential(*[nn.Linear(d, m, device="meta")
                            for d, m in zip(sizes[:-1], sizes[1:])])
    return sum(p.numel() for p in model.parameters())


def softmax(Z):
    """Row-wise softmax of logits Z (N, C) by ``torch.softmax``."""
    with torch.no_grad():
        return _numpy(torch.softmax(_tensor(Z), dim=1))


def cross_entropy(Z, y):
    """Mean cross-entropy of logits Z (N, C) and integer labels y (N,)."""
    with torch.no_grad():
        labels = torch.tensor(np.asarray(y, dtype=np.int64))
        return float(F.cross_entropy(_tensor(Z), labels))


def autograd(fn, *arrays, dout=None):
    """A torch function's value and its gradients at numpy inputs, by autograd.

    fn: called with one tensor per array, returns a tensor. Float arrays
    become float64 tensors that require gradients; integer arrays (class
    labels) become int64 tensors without. dout: the upstream gradient, of
    the output's shape; None when the output is a scalar (a loss).
    Returns (value, grads): the output as a float64 array, and one float64
    array per input (None for an integer input, zeros for an unused one).
    A backward pass ``dx = f_backward(dout, cache)`` should equal
    ``grads[0]`` of ``autograd(f, x, dout=dout)``.
    """
    tensors = []
    for value in arrays:
        array = np.asarray(value)
        if np.issubdtype(array.dtype, np.integer):
            tensors.append(torch.tensor(array.astype(np.int64)))
        else:
            tensors.append(_tensor(array, requires_grad=True))
    out = fn(*tensors)
    if dout is None:
        if out.numel() != 1:
            raise ValueError(f"fn gave shape {tuple(out.shape)}: pass dout for it")
        out.backward()
    else:
        out.backward(_tensor(dout))
    grads = []
    for t in tensors:
        if not t.requires_grad:
            grads.append(None)
        elif t.grad is None:
            grads.append(np.zeros(tuple(t.shape)))
        else:
            grads.append(_numpy(t.grad))
    return _numpy(out), grads


def centred_difference(f, x, dout=None, h=1e-6):
    """The gradient of f at x by centred differences, on private copies of x.

    f: called with a float64 array of x's shape; returns a number, or (with
    ``dout`` given) an array of dout's shape, and then the gradient is that
    of ``sum(f(x) * dout)``. Returns a float64 array of x's shape; x itself
    is never touched.
    """
    x = np.array(x, dtype=np.float64, copy=True)
    weight = None if dout is None else np.asarray(dout, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        values = []
        for step in (h, -h):
            probe = x.copy()
            probe[idx] += step
            value = np.asarray(f(probe), dtype=np.float64)
            values.append(value.sum() if weight is None else (value * weight).sum())
        grad[idx] = (values[0] - values[1]) / (2 * h)
    return grad


# ---------------------------------------------------------------------------
# Convolution and pooling (ps4_convolution)
# ---------------------------------------------------------------------------


def conv2d(x, w, b, stride=1, pad=0):
    """``torch.nn.functional.conv2d`` in float64 (cross-correlation, zero padding).

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,); stride and pad: ints, the
    same in both directions. Returns (N, F, Ho, Wo).
    """
    with torch.no_grad():
        return _numpy(F.conv2d(_tensor(x), _tensor(w), _tensor(b),
                               stride=stride, padding=pad))


def conv2d_grads(x, w, b, dout, stride=1, pad=0):
    """(dx, dw, db) of ``sum(conv2d(x, w, b) * dout)``, by autograd in float64."""
    _, grads = autograd(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad),
                        x, w, b, dout=dout)
    return tuple(grads)


def conv_output_size(size, kernel, stride=1, pad=0):
    """Output length of ``conv2d`` along one axis, read off PyTorch's own result.

    Runs the convolution on a one-column image of zeros. Raises ValueError
    where PyTorch refuses the sizes (a kernel larger than the padded input,
    a stride below 1, negative padding).
    """
    x = torch.zeros((1, 1, size, 1), dtype=torch.float64)
    w = torch.zeros((1, 1, kernel, 1), dtype=torch.float64)
    try:
        out = F.conv2d(x, w, stride=(stride, 1), padding=(pad, 0))
    except RuntimeError as exc:
        raise ValueError(str(exc)) from None
    return int(out.shape[2])


def max_pool2d(x, size, stride):
    """``torch.nn.functional.max_pool2d`` in float64: (N, C, H, W) -> (N, C, Ho, Wo)."""
    with torch.no_grad():
        return _numpy(F.max_pool2d(_tensor(x), kernel_size=size, stride=stride))


def max_pool2d_grad(x, dout, size, stride):
    """dx of ``sum(max_pool2d(x) * dout)`` by autograd (unique for tie-free x)."""
    _, (dx,) = autograd(lambda x: F.max_pool2d(x, kernel_size=size, stride=stride),
                        x, dout=dout)
    return dx


def flatten(x):
    """``torch.flatten(x, start_dim=1)``: (N, C, H, W) -> (N, C * H * W), C order."""
    with torch.no_grad():
        return _numpy(torch.flatten(_tensor(x), start_dim=1))


def lenet5_layer_parameters(in_channels=1, image_size=32, num_classes=10):
    """Parameters of each layer of the modern LeNet-5, counted by PyTorch.

    ``nn.Sequential``: conv 6@5x5, ReLU, 2x2 max pool, conv 16@5x5, ReLU,
    2x2 max pool, flatten, fc 120, ReLU, fc 84, ReLU, fc num_classes, for
    (in_channels, image_size, image_size) inputs. The first fully connected
    layer's input size is read off a forward pass of a zero image. Returns
    the counts of the five layers that have parameters, in order
    (61,706 in all for the defaults).
    """
    features = nn.Sequential(
        nn.Conv2d(in_channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    )
    with torch.no_grad():
        flat = features(torch.zeros(1, in_channels, image_size, image_size)).shape[1]
    model = nn.Sequential(
        *features, nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )
    counts = [sum(p.numel() for p in layer.parameters()) for layer in model]
    return [int(c) for c in counts if c]

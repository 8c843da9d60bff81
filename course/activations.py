"""Activation functions and their derivatives, in numpy.

Every function takes an array ``z`` of any shape and returns an array of the
same shape (float64 unless ``z`` is already float32). Each activation
``name`` has a derivative ``name_grad`` with respect to its input ``z``; both
are registered in ``ACTIVATIONS`` so that a layer or a plot can ask for them
by name.

Conventions, as in the slides: ``heaviside(0) = 1`` and ``sign(0) = 0``; the
derivative of ReLU at 0 is taken as 0; the step functions have derivative 0
wherever it exists.
"""

import numpy as np


def _as_float(z):
    z = np.asarray(z)
    if z.dtype == np.float32 or z.dtype == np.float64:
        return z
    return z.astype(np.float64)


def heaviside(z):
    """Heaviside step (阶跃函数): 0 if z < 0 else 1."""
    z = _as_float(z)
    return (z >= 0).astype(z.dtype)


def heaviside_grad(z):
    """Derivative of the step: 0 everywhere it exists."""
    return np.zeros_like(_as_float(z))


def sign(z):
    """Sign function (符号函数): -1 if z < 0, 0 if z == 0, +1 if z > 0."""
    return np.sign(_as_float(z))


def sign_grad(z):
    """Derivative of the sign function: 0 everywhere it exists."""
    return np.zeros_like(_as_float(z))


def sigmoid(z):
    """Logistic sigmoid 1 / (1 + exp(-z)), computed without overflow.

    For z < 0 it uses exp(z) / (1 + exp(z)), so exp never sees a large
    positive argument.
    """
    z = _as_float(z)
    out = np.empty_like(z)
    up = z >= 0
    out[up] = 1.0 / (1.0 + np.exp(-z[up]))
    ez = np.exp(z[~up])
    out[~up] = ez / (1.0 + ez)
    return out


def sigmoid_grad(z):
    """sigma'(z) = sigma(z) (1 - sigma(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    """Hyperbolic tangent (双曲正切), equal to 2 sigma(2z) - 1."""
    return np.tanh(_as_float(z))


def tanh_grad(z):
    """tanh'(z) = 1 - tanh(z)^2."""
    t = tanh(z)
    return 1.0 - t * t


def relu(z):
    """Rectified linear unit (线性整流函数) max(0, z)."""
    z = _as_float(z)
    return np.maximum(z, 0).astype(z.dtype)


def relu_grad(z):
    """1 for z > 0, else 0."""
    z = _as_float(z)
    return (z > 0).astype(z.dtype)


def leaky_relu(z, gamma=0.01):
    """Leaky ReLU: z for z >= 0, gamma * z for z < 0 (gamma is a hyper-parameter)."""
    z = _as_float(z)
    return np.where(z >= 0, z, gamma * z).astype(z.dtype)


def leaky_relu_grad(z, gamma=0.01):
    """1 for z > 0, gamma for z <= 0."""
    z = _as_float(z)
    return np.where(z > 0, 1.0, gamma).astype(z.dtype)


def softplus(z):
    """Softplus ln(1 + e^z), a smooth ReLU, computed without overflow.

    Uses ln(1 + e^z) = max(z, 0) + ln(1 + e^{-|z|}).
    """
    z = _as_float(z)
    return (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))).astype(z.dtype)


def softplus_grad(z):
    """softplus'(z) = sigma(z)."""
    return sigmoid(z)


ACTIVATIONS = {
    "heaviside": (heaviside, heaviside_grad),
    "sign": (sign, sign_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "softplus": (softplus, softplus_grad),
}


def get_activation(name):
    """Return ``(f, f_grad)`` for an activation name such as ``"relu"``."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}; choose one of: {known}") from None

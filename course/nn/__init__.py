"""A small neural-network library in numpy, written from scratch for reading.

Weight orientation, once for the whole package: a fully connected layer
holds ``W`` of shape ``(D, M)`` and computes ``out = x @ W + b`` for a batch
``x`` of shape ``(N, D)`` (unlike ``torch.nn.Linear``, which stores its
weight as ``(M, D)`` and computes ``x @ W.T + b``). The slides write a single
sample as a column, z = W a + b with W of shape (M, D); our ``W`` is that
matrix transposed, because we keep samples as rows. Convolution weights are
``(F, C, HH, WW)``, as in PyTorch.

Letters used in every docstring: N batch, D input features, H hidden units,
M outputs, C classes (or channels of an image (N, C, H, W)), F filters,
HH x WW kernel size.

Modules:

- ``course.nn.functional``: pure ``*_forward`` / ``*_backward`` pairs
  (affine, activations, dropout, conv2d, maxpool2d).
- ``course.nn.losses``: softmax, log-softmax and the losses, each returning
  the loss and its gradient.
- ``course.nn.layers``: ``Linear``, ``ReLU``, ..., ``Sequential``: objects
  that keep their cache and gradients.
- ``course.nn.optim``: ``SGD`` with momentum and weight decay.
- ``course.nn.train``: ``batches``, ``train_step``, ``fit``, ``predict``, ``accuracy``.

A whole training run::

    model = Sequential(Linear(2, 64, rng=rng), ReLU(), Linear(64, 3, rng=rng))
    history = fit(model, X, y, num_epochs=100, lr=0.5, rng=rng)
"""

from course.nn.functional import (
    activation_backward,
    activation_forward,
    affine_backward,
    affine_forward,
    conv2d_backward,
    conv2d_forward,
    dropout_backward,
    dropout_forward,
    maxpool2d_backward,
    maxpool2d_forward,
    output_size,
    relu_backward,
    relu_forward,
)
from course.nn.layers import (
    Activation,
    Conv2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Softplus,
    Tanh,
)
from course.nn.losses import (
    bce_loss,
    bce_with_logits,
    log_softmax,
    mse_loss,
    softmax,
    softmax_cross_entropy,
)
from course.nn.optim import SGD
from course.nn.train import History, accuracy, batches, fit, predict, train_step

__all__ = [
    "Activation",
    "Conv2d",
    "Dropout",
    "Flatten",
    "History",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Module",
    "ReLU",
    "SGD",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "accuracy",
    "activation_backward",
    "activation_forward",
    "affine_backward",
    "affine_forward",
    "batches",
    "bce_loss",
    "bce_with_logits",
    "conv2d_backward",
    "conv2d_forward",
    "dropout_backward",
    "dropout_forward",
    "fit",
    "log_softmax",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "mse_loss",
    "output_size",
    "predict",
    "relu_backward",
    "relu_forward",
    "softmax",
    "softmax_cross_entropy",
    "train_step",
]

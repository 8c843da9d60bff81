"""Stochastic gradient descent with momentum and weight decay.

One step, for every parameter p with gradient g = dL/dp:

    d = g + lambda p        (weight decay, for weights only; see below)
    v = mu v + d            (momentum; v starts at 0, so the first v = d)
    p = p - lr v            (with mu = 0 this is p = p - lr d)

This is exactly ``torch.optim.SGD(lr, momentum, weight_decay)`` with no
dampening and no Nesterov term. With mu = 0 and lambda > 0 it is the update
of the slides' SGD algorithm, W <- W - alpha (delta a^T + lambda W) and
b <- b - alpha delta: weight decay (an L2 penalty (lambda / 2) ||W||^2 in the
loss) applies to the weights ``W`` and **not to the biases** ``b``. Pass
``decay_biases=True`` to decay every parameter, as PyTorch does when given
all parameters in one group.
"""

import numpy as np


class SGD:
    """SGD over a model's parameters, updated in place.

    model: anything with ``params()`` and ``grads()`` returning dicts with
    the same keys (a layer or a ``Sequential``). A parameter is a bias when
    its name (after the last ".") is ``"b"``; every other one is a weight.
    Call ``step()`` after each ``model.backward``.
    """

    def __init__(self, model, lr, momentum=0.0, weight_decay=0.0, decay_biases=False):
        if lr <= 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.model = model
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.decay_biases = decay_biases
        self.velocity = {}

    def _decays(self, name):
        return self.decay_biases or name.rsplit(".", 1)[-1] != "b"

    def step(self):
        """Apply one update to every parameter, in place."""
        params, grads = self.model.params(), self.model.grads()
        for name, p in params.items():
            g = grads[name]
            if self.weight_decay and self._decays(name):
                g = g + self.weight_decay * p
            if self.momentum:
                v = self.velocity.get(name)
                if v is None:
                    v = self.velocity[name] = np.zeros_like(p)
                v *= self.momentum
                v += g
                g = v
            p -= self.lr * g

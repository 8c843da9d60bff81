"""course.torch_training: fit_torch learns, accuracy_torch counts."""

import pytest
import torch
from torch import nn

from course.data import make_moons
from course.torch_training import accuracy_torch, fit_torch


def test_fit_torch_learns_two_moons_and_accuracy_torch_measures_it():
    import numpy as np
    X, y = make_moons(400, noise=0.1, rng=np.random.default_rng(0))
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    before = accuracy_torch(net, X, y)
    fit_torch(net, X, y, num_epochs=30, lr=1e-2,
              generator=torch.Generator().manual_seed(0))
    after = accuracy_torch(net, X, y)
    assert after > 0.95 > before
    assert not net.training


def test_accuracy_torch_counts_the_arg_max():
    net = nn.Identity()
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0], [0.0, 1.0]])
    assert accuracy_torch(net, logits, torch.tensor([0, 1, 1, 0])) == 0.5


def test_fit_torch_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="rows"):
        fit_torch(nn.Linear(2, 2), torch.zeros(3, 2),
                  torch.zeros(2, dtype=torch.long), 1)


def test_fit_torch_takes_another_loss_and_calls_back_after_every_epoch():
    """One logit and the binary cross-entropy, full-batch (lecture 3's net)."""
    import numpy as np
    from torch.nn import functional as F
    X, y = make_moons(200, noise=0.1, rng=np.random.default_rng(0))
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    seen = []
    fit_torch(net, X, y, num_epochs=200, lr=0.05, batch_size=len(X),
              loss=lambda out, y: F.binary_cross_entropy_with_logits(out[:, 0], y.float()),
              callback=lambda epoch, n: seen.append((epoch, n is net, n.training)))
    assert seen == [(epoch, True, True) for epoch in range(1, 201)]
    assert accuracy_torch(net, X, y) > 0.95


def test_accuracy_torch_reads_one_logit_as_a_binary_classifier():
    logits = torch.tensor([[2.0], [-1.0], [0.5], [-3.0]])
    assert accuracy_torch(nn.Identity(), logits, torch.tensor([1, 0, 0, 0])) == 0.75

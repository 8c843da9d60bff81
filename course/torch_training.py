"""PyTorch counterparts of ``course.nn``'s ``fit`` and ``accuracy``.

The lectures that train real PyTorch networks (lecture 7 and its
exercises) share these two helpers; their names say which library they
serve, so that they never shadow ``course.nn.fit`` and ``course.nn.accuracy``.

- ``fit_torch(net, X, y, num_epochs)``: mini-batch Adam on the
  cross-entropy (lecture 5's loop: forward, batch loss, backward, update).
- ``accuracy_torch(net, X, y)``: the fraction of correct predictions.

Shapes: X (N, ...) a float tensor on the model's device, y (N,) int64 labels.
"""

import torch
from torch.nn import functional as F


def fit_torch(net, X, y, num_epochs, lr=1e-3, batch_size=64, transform=None,
              weight_decay=0.0, generator=None):
    """Train ``net`` by mini-batch Adam on the cross-entropy; returns ``net``.

    net: a ``torch.nn.Module`` returning logits (N, C); X: (N, ...) inputs;
    y: (N,) labels; transform: applied to every batch of X before the
    forward pass (data augmentation); weight_decay: Adam's L2 term;
    generator: a ``torch.Generator`` for the batch order (default: torch's
    global one). Only parameters that require grad are updated. The net is
    left in eval mode.
    """
    if num_epochs < 1 or batch_size < 1:
        raise ValueError(
            f"num_epochs and batch_size must be >= 1, got {num_epochs} and "
            f"{batch_size}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    net.train()
    for _ in range(num_epochs):
        order = torch.randperm(len(X), generator=generator).to(X.device)
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            X_batch = X[batch] if transform is None else transform(X[batch])
            loss = F.cross_entropy(net(X_batch), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    return net


def accuracy_torch(net, X, y):
    """Fraction of rows of X (N, ...) whose arg-max logit equals y (N,) -> float."""
    with torch.no_grad():
        return (net(X).argmax(dim=1) == y).float().mean().item()

"""PyTorch counterparts of ``course.nn``'s ``fit`` and ``accuracy``.

The lectures that train real PyTorch networks (lecture 3's two moons,
lecture 7 and its exercises) share these two helpers; their names say which
library they serve, so that they never shadow ``course.nn.fit`` and
``course.nn.accuracy``.

- ``fit_torch(net, X, y, num_epochs)``: mini-batch Adam on the
  cross-entropy (lecture 5's loop: forward, batch loss, backward, update),
  or on another ``loss``; ``batch_size=len(X)`` makes it full-batch.
- ``accuracy_torch(net, X, y)``: the fraction of correct predictions, for
  C logits or for one (a binary classifier).

Shapes: X (N, ...) a float tensor on the model's device, y (N,) int64 labels.
"""

import torch
from torch.nn import functional as F


def fit_torch(net, X, y, num_epochs, lr=1e-3, batch_size=64, transform=None,
              weight_decay=0.0, generator=None, loss=F.cross_entropy, callback=None):
    """Train ``net`` by mini-batch Adam on the cross-entropy (or ``loss``); returns ``net``.

    net: a ``torch.nn.Module`` returning logits (N, C); X: (N, ...) inputs;
    y: (N,) labels; transform: applied to every batch of X before the
    forward pass (data augmentation); weight_decay: Adam's L2 term;
    generator: a ``torch.Generator`` for the batch order (default: torch's
    global one). Only parameters that require grad are updated. The net is
    left in eval mode.

    loss: called as ``loss(net(X_batch), y[batch])``, returning the batch's
    mean loss (default: the cross-entropy; for one logit per row, e.g.
    ``lambda out, y: F.binary_cross_entropy_with_logits(out[:, 0], y.float())``).
    callback: called as ``callback(epoch, net)`` after each epoch (1 to
    num_epochs, the net still in training mode), e.g. to record what the
    net computes during training; one Adam runs throughout.
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
    for epoch in range(1, num_epochs + 1):
        order = torch.randperm(len(X), generator=generator).to(X.device)
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            X_batch = X[batch] if transform is None else transform(X[batch])
            batch_loss = loss(net(X_batch), y[batch])
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
        if callback is not None:
            callback(epoch, net)
    net.eval()
    return net


def accuracy_torch(net, X, y):
    """Fraction of rows of X (N, ...) whose arg-max logit equals y (N,) -> float.

    A net with one output (logits (N, 1)) is a binary classifier: a row's
    class is 1 where its logit is > 0, else 0.
    """
    with torch.no_grad():
        logits = net(X)
        if logits.shape[1] == 1:
            return ((logits[:, 0] > 0).long() == y).float().mean().item()
        return (logits.argmax(dim=1) == y).float().mean().item()

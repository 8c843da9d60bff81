"""Data augmentation for batches of images (lecture 7), in PyTorch.

Every function takes a batch X of shape (N, H, W) (a float tensor, values
in [0, 1]) and returns a new batch of the same shape; X is not changed.

- ``affine(X, degrees, scale, shift)``: rotate, scale and shift (pixels).
- ``flip(X)``: mirror left to right.
- ``add_noise(X, sigma, generator)``: Gaussian noise, clipped to [0, 1].
- ``occlude(X, size, generator)``: a random black size x size square.
- ``contrast(X, factor)``: scale the intensities, clipped to [0, 1].
"""

import torch
from torch.nn import functional as F


def _check(X):
    if X.ndim != 3:
        raise ValueError(
            f"augmentations take a batch (N, H, W), got shape {tuple(X.shape)}")


def affine(X, degrees=0.0, scale=1.0, shift=(0.0, 0.0)):
    """Rotate by ``degrees``, scale by ``scale`` and shift by ``shift`` = (dx, dy) px.

    X: (N, H, W). Each argument is a number or a tensor of N per-image
    values. Pixels that come from outside the image are 0.
    """
    _check(X)
    N, H, W = X.shape
    angle = torch.deg2rad(torch.as_tensor(degrees, dtype=X.dtype)).expand(N)
    scale = torch.as_tensor(scale, dtype=X.dtype).expand(N)
    dx, dy = (torch.as_tensor(s, dtype=X.dtype).expand(N) for s in shift)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([
        torch.stack([cos, -sin, -2 * dx / W], dim=1),
        torch.stack([sin, cos, -2 * dy / H], dim=1),
    ], dim=1).to(X.device)
    grid = F.affine_grid(theta, (N, 1, H, W), align_corners=False)
    return F.grid_sample(X.unsqueeze(1), grid, align_corners=False).squeeze(1)


def flip(X):
    """Mirror every image of X (N, H, W) left to right."""
    _check(X)
    return X.flip(dims=[-1])


def add_noise(X, sigma, generator=None):
    """X (N, H, W) plus N(0, sigma^2) noise per pixel, clipped to [0, 1]."""
    _check(X)
    noise = torch.randn(X.shape, generator=generator).to(X.device)
    return (X + sigma * noise).clamp(0, 1)


def occlude(X, size, generator=None):
    """Black out one random size x size square in every image of X (N, H, W)."""
    _check(X)
    if not 0 < size <= min(X.shape[-2:]):
        raise ValueError(f"size must be between 1 and {min(X.shape[-2:])}, got {size}")
    X = X.clone()
    for image in X:
        top, left = torch.randint(0, X.shape[-1] - size + 1, (2,), generator=generator)
        image[top:top + size, left:left + size] = 0
    return X


def contrast(X, factor):
    """Intensities of X (N, H, W) times ``factor``, clipped to [0, 1]."""
    _check(X)
    return (X * factor).clamp(0, 1)

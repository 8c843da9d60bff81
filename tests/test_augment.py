"""course.augment: each augmentation does what its name says, and keeps shapes."""

import pytest
import torch

from course.augment import add_noise, affine, contrast, flip, occlude


@pytest.fixture
def digits():
    g = torch.Generator().manual_seed(0)
    X = torch.zeros(4, 28, 28)
    X[:, 8:20, 10:14] = torch.rand(4, 12, 4, generator=g)
    return X


def test_affine_identity_keeps_the_images_and_a_shift_moves_them(digits):
    assert torch.allclose(affine(digits), digits, atol=1e-5)
    shifted = affine(digits, shift=(3.0, 0.0))
    assert torch.allclose(shifted[:, :, 3:], digits[:, :, :-3], atol=1e-5)
    down = affine(digits, shift=(0.0, 2.0))
    assert torch.allclose(down[:, 2:, :], digits[:, :-2, :], atol=1e-5)


def test_affine_rotation_by_180_degrees_turns_the_image_round(digits):
    turned = affine(digits, degrees=180.0)
    assert torch.allclose(turned, digits.flip(dims=[-2, -1]), atol=1e-4)


def test_flip_twice_is_the_identity_and_flip_mirrors(digits):
    assert torch.equal(flip(flip(digits)), digits)
    assert torch.equal(flip(digits)[:, :, 0], digits[:, :, -1])


def test_noise_occlusion_and_contrast_stay_in_range_and_leave_x_alone(digits):
    before = digits.clone()
    g = torch.Generator().manual_seed(1)
    noisy = add_noise(digits, 0.3, g)
    assert noisy.min() >= 0 and noisy.max() <= 1 and not torch.equal(noisy, digits)
    blocked = occlude(torch.ones(3, 28, 28), 10, g)
    assert torch.all((blocked == 0).sum(dim=(1, 2)) == 100)
    assert torch.allclose(contrast(digits, 0.5), digits * 0.5)
    assert torch.equal(digits, before)


def test_augmentations_refuse_a_batch_without_its_batch_axis():
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        flip(torch.zeros(28, 28))
    with pytest.raises(ValueError, match="size must be"):
        occlude(torch.zeros(2, 28, 28), 40)

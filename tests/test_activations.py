"""course.activations: formulas, derivatives and numerical stability."""

import numpy as np
import pytest

from course import activations as act

Z = np.linspace(-6, 6, 241)
Z = Z[np.abs(Z) > 1e-3]  # keep centred differences away from the kinks at 0


@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
def test_derivative_matches_centred_differences(name):
    f, f_grad = act.get_activation(name)
    h = 1e-6
    numeric = (f(Z + h) - f(Z - h)) / (2 * h)
    np.testing.assert_allclose(f_grad(Z), numeric, atol=1e-6)


def test_step_functions_at_zero_follow_the_slides():
    assert act.heaviside(0.0) == 1.0 and act.sign(0.0) == 0.0
    np.testing.assert_array_equal(act.heaviside([-1, 0, 2]), [0, 1, 1])
    np.testing.assert_array_equal(act.sign([-1, 0, 2]), [-1, 0, 1])


def test_identities_from_the_lecture():
    s = act.sigmoid
    np.testing.assert_allclose(act.tanh(Z), 2 * s(2 * Z) - 1, atol=1e-12)
    np.testing.assert_allclose(act.sigmoid_grad(Z), s(Z) * (1 - s(Z)))
    np.testing.assert_allclose(act.softplus_grad(Z), s(Z))
    np.testing.assert_allclose(act.softplus(Z), np.log1p(np.exp(Z)), rtol=1e-12)


def test_sigmoid_and_softplus_are_stable_for_huge_inputs():
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = act.sigmoid(z)
        sp = act.softplus(z)
    np.testing.assert_allclose(s, [0.0, 1.9287e-22, 0.5, 1.0, 1.0], rtol=1e-4, atol=0)
    np.testing.assert_allclose(sp, [0.0, 1.9287e-22, np.log(2), 50.0, 1000.0], rtol=1e-4)


def test_float32_stays_float32_and_shapes_are_kept():
    z = np.zeros((2, 3), dtype=np.float32)
    for name, (f, f_grad) in act.ACTIVATIONS.items():
        assert f(z).dtype == np.float32 and f(z).shape == (2, 3), name
        assert f_grad(z).shape == (2, 3), name


def test_leaky_relu_uses_gamma_for_negative_inputs():
    np.testing.assert_allclose(act.leaky_relu([-2.0, 3.0], gamma=0.1), [-0.2, 3.0])
    np.testing.assert_allclose(act.leaky_relu_grad([-2.0, 3.0], gamma=0.1), [0.1, 1.0])


def test_unknown_activation_lists_the_known_ones():
    with pytest.raises(ValueError, match="choose one of: heaviside, leaky_relu"):
        act.get_activation("swish")

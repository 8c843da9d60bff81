"""course.nn: every backward pass against numerical gradients and PyTorch autograd.

Gradient checks run in float64 on small random shapes (seeded); the PyTorch
comparisons build the same computation with torch.nn.functional and compare
outputs and gradients.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import course.nn as nn
from course.data import make_spirals
from course.gradcheck import check_gradient, rel_error

torch.set_num_threads(2)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _leaf(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


# ---------------------------------------------------------------------------
# Affine
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("N, D, M", [(4, 5, 3), (1, 3, 2)])
def test_affine_backward_matches_numerical_gradients(N, D, M):
    rng = _rng()
    x, w = rng.standard_normal((N, D)), rng.standard_normal((D, M))
    b = rng.standard_normal(M)
    dout = rng.standard_normal((N, M))
    out, cache = nn.affine_forward(x, w, b)
    dx, dw, db = nn.affine_backward(dout, cache)
    check_gradient(dx, lambda _: nn.affine_forward(x, w, b)[0], x, dout, name="dx")
    check_gradient(dw, lambda _: nn.affine_forward(x, w, b)[0], w, dout, name="dw")
    check_gradient(db, lambda _: nn.affine_forward(x, w, b)[0], b, dout, name="db")


def test_affine_matches_torch_linear_with_transposed_weight():
    rng = _rng(1)
    x, w = rng.standard_normal((6, 4)), rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    dout = rng.standard_normal((6, 3))
    out, cache = nn.affine_forward(x, w, b)
    dx, dw, db = nn.affine_backward(dout, cache)
    tx, tw, tb = _leaf(x), _leaf(w.T.copy()), _leaf(b)
    tout = TF.linear(tx, tw, tb)
    tout.backward(torch.tensor(dout))
    assert rel_error(out, tout.detach().numpy()) < 1e-12
    assert rel_error(dx, tx.grad.numpy()) < 1e-12
    assert rel_error(dw, tw.grad.numpy().T) < 1e-12
    assert rel_error(db, tb.grad.numpy()) < 1e-12


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------

ACTIVATION_LAYERS = [
    (nn.ReLU(), torch.relu),
    (nn.Sigmoid(), torch.sigmoid),
    (nn.Tanh(), torch.tanh),
    (nn.LeakyReLU(0.1), lambda t: TF.leaky_relu(t, 0.1)),
    (nn.Softplus(), TF.softplus),
]


@pytest.mark.parametrize("layer, torch_fn", ACTIVATION_LAYERS,
                         ids=[repr(layer) for layer, _ in ACTIVATION_LAYERS])
def test_activation_backward_matches_numerical_gradient_and_torch(layer, torch_fn):
    rng = _rng(2)
    x = rng.standard_normal((3, 5)) * 2
    dout = rng.standard_normal((3, 5))
    out = layer.forward(x)
    dx = layer.backward(dout)
    check_gradient(dx, layer.forward, x, dout)
    tx = _leaf(x)
    tout = torch_fn(tx)
    tout.backward(torch.tensor(dout))
    assert rel_error(out, tout.detach().numpy()) < 1e-12
    assert rel_error(dx, tx.grad.numpy()) < 1e-12


# ---------------------------------------------------------------------------
# Convolution and pooling
# ---------------------------------------------------------------------------

CONV_CASES = {
    "3x3_stride1_pad1": ((2, 3, 7, 7), (4, 3, 3, 3), 1, 1),
    "5x5_stride2_pad2": ((3, 1, 9, 9), (2, 1, 5, 5), 2, 2),
    "non_square_kernel_stride_and_pad": ((2, 2, 8, 6), (3, 2, 3, 2), (2, 1), (0, 1)),
    "batch_of_one_stride3_uneven": ((1, 2, 10, 8), (2, 2, 4, 3), 3, 0),
}


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_forward_and_backward_match_torch_with_stride_and_padding(case):
    x_shape, w_shape, stride, pad = CONV_CASES[case]
    rng = _rng(3)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out, cache = nn.conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = nn.conv2d_backward(dout, cache)
    tx, tw, tb = _leaf(x), _leaf(w), _leaf(b)
    tout = TF.conv2d(tx, tw, tb, stride=stride, padding=pad)
    tout.backward(torch.tensor(dout))
    assert out.shape == tuple(tout.shape)
    assert rel_error(out, tout.detach().numpy()) < 1e-10
    assert rel_error(dx, tx.grad.numpy()) < 1e-10
    assert rel_error(dw, tw.grad.numpy()) < 1e-10
    assert rel_error(db, tb.grad.numpy()) < 1e-10


def test_conv2d_backward_matches_numerical_gradients_with_stride_and_padding():
    rng = _rng(4)
    x, w = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 3, 2))
    b = rng.standard_normal(3)
    stride, pad = (2, 1), (1, 0)
    out, cache = nn.conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = nn.conv2d_backward(dout, cache)

    def f(_):
        return nn.conv2d_forward(x, w, b, stride, pad)[0]

    check_gradient(dx, f, x, dout, name="dx")
    check_gradient(dw, f, w, dout, name="dw")
    check_gradient(db, f, b, dout, name="db")


POOL_CASES = {
    "2x2_stride2": ((2, 3, 8, 8), 2, None),
    "3x3_stride2_overlapping": ((2, 2, 7, 7), 3, 2),
    "non_square_2x3_stride_2_1": ((1, 2, 6, 7), (2, 3), (2, 1)),
    "odd_size_drops_the_edge": ((3, 1, 5, 5), 2, 2),
}


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_maxpool2d_forward_and_backward_match_torch_and_numerical(case):
    x_shape, kernel, stride = POOL_CASES[case]
    rng = _rng(5)
    x = rng.standard_normal(x_shape)
    out, cache = nn.maxpool2d_forward(x, kernel, stride)
    dout = rng.standard_normal(out.shape)
    dx = nn.maxpool2d_backward(dout, cache)
    tx = _leaf(x)
    tout = TF.max_pool2d(tx, kernel, stride)
    tout.backward(torch.tensor(dout))
    assert out.shape == tuple(tout.shape)
    assert rel_error(out, tout.detach().numpy()) < 1e-12
    assert rel_error(dx, tx.grad.numpy()) < 1e-12
    f = lambda _: nn.maxpool2d_forward(x, kernel, stride)[0]  # noqa: E731
    check_gradient(dx, f, x, dout)


def test_maxpool2d_backward_sends_gradient_to_the_first_maximum_on_ties_like_torch():
    x = np.maximum(_rng(6).standard_normal((2, 2, 6, 6)), 0)  # many tied zeros
    x[0, 0, :2, :2] = 0.0
    out, cache = nn.maxpool2d_forward(x, 2)
    dout = np.ones_like(out)
    dx = nn.maxpool2d_backward(dout, cache)
    tx = _leaf(x)
    TF.max_pool2d(tx, 2).backward(torch.tensor(dout))
    np.testing.assert_array_equal(dx, tx.grad.numpy())
    assert dx[0, 0, 0, 0] == 1.0 and dx[0, 0, :2, :2].sum() == 1.0


def test_output_size_formula_agrees_with_conv2d():
    x = np.zeros((1, 1, 28, 28))
    for k, s, p in [(5, 1, 2), (3, 2, 0), (5, 1, 0), (3, 3, 1)]:
        out, _ = nn.conv2d_forward(x, np.zeros((1, 1, k, k)), np.zeros(1), s, p)
        assert out.shape[2] == nn.output_size(28, k, s, p) == (28 + 2 * p - k) // s + 1


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------


def test_dropout_is_the_identity_in_eval_mode():
    layer = nn.Dropout(0.5, rng=_rng()).eval()
    x = _rng(7).standard_normal((4, 10))
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))


def test_dropout_in_train_mode_zeroes_about_p_and_scales_the_rest_by_1_over_1_minus_p():
    p = 0.3
    layer = nn.Dropout(p, rng=_rng(8)).train()
    x = np.ones((200, 100))
    out = layer.forward(x)
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / (1 - p))
    assert abs(kept.mean() - (1 - p)) < 0.01
    dx = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_allclose(dx, 2.0 * out)  # the same mask


def test_dropout_rejects_p_outside_0_1():
    with pytest.raises(ValueError, match=r"must be in \[0, 1\)"):
        nn.Dropout(1.0)


# ---------------------------------------------------------------------------
# Softmax and losses
# ---------------------------------------------------------------------------


def test_softmax_and_log_softmax_are_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [1e4, 1e4, 1e4]])
    p = nn.softmax(z)
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1)
    np.testing.assert_allclose(p[1], 1 / 3)
    np.testing.assert_allclose(nn.log_softmax(z)[0], [0.0, -1000.0, -2000.0])


def test_softmax_cross_entropy_matches_torch_loss_and_gradient():
    rng = _rng(9)
    logits, y = rng.standard_normal((7, 4)), rng.integers(0, 4, size=7)
    loss, dlogits = nn.softmax_cross_entropy(logits, y)
    t = _leaf(logits)
    tloss = TF.cross_entropy(t, torch.tensor(y))
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    assert rel_error(dlogits, t.grad.numpy()) < 1e-12
    check_gradient(dlogits, lambda _: nn.softmax_cross_entropy(logits, y)[0], logits)


def test_softmax_cross_entropy_is_finite_for_logits_like_1000():
    logits = np.array([[1000.0, 0.0], [0.0, 1000.0]])
    loss, dlogits = nn.softmax_cross_entropy(logits, np.array([0, 0]))
    assert loss == pytest.approx(500.0)
    np.testing.assert_allclose(dlogits, [[0.0, 0.0], [-0.5, 0.5]])


def test_softmax_cross_entropy_rejects_bad_labels():
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.2"):
        nn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="labels must be integers"):
        nn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_mse_loss_sums_outputs_averages_samples_and_matches_torch():
    rng = _rng(10)
    y_hat, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    loss, dy_hat = nn.mse_loss(y_hat, y)
    t = _leaf(y_hat)
    tloss = TF.mse_loss(t, torch.tensor(y), reduction="sum") / 5
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    assert rel_error(dy_hat, t.grad.numpy()) < 1e-12
    one = nn.mse_loss(y_hat[:, 0], y[:, 0])[0]
    torch_one = TF.mse_loss(torch.tensor(y_hat[:, 0]), torch.tensor(y[:, 0]))
    assert one == pytest.approx(torch_one.item())


def test_bce_with_logits_matches_torch_and_is_stable_for_huge_logits():
    rng = _rng(11)
    z = np.concatenate([rng.standard_normal(6) * 4, [1000.0, -1000.0]])
    y = np.concatenate([rng.integers(0, 2, 6), [0, 1]]).astype(np.float64)
    loss, dz = nn.bce_with_logits(z, y)
    t = _leaf(z)
    tloss = TF.binary_cross_entropy_with_logits(t, torch.tensor(y))
    tloss.backward()
    assert np.isfinite(loss)
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    assert rel_error(dz, t.grad.numpy()) < 1e-12


def test_bce_loss_on_probabilities_matches_torch_including_clamped_logs():
    rng = _rng(12)
    p = np.concatenate([rng.uniform(0.05, 0.95, 6), [0.0, 1.0]])
    y = np.array([1, 0, 1, 1, 0, 0, 0, 1], dtype=np.float64)
    loss, dp = nn.bce_loss(p, y)
    t = _leaf(p)
    tloss = TF.binary_cross_entropy(t, torch.tensor(y))
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    assert rel_error(dp, t.grad.numpy()) < 1e-12
    wrong = nn.bce_loss(np.array([0.0]), np.array([1.0]))[0]
    assert wrong == pytest.approx(100.0)


# ---------------------------------------------------------------------------
# Layers and models
# ---------------------------------------------------------------------------


def _mlp(rng, dtype=np.float64):
    return nn.Sequential(
        nn.Linear(4, 6, rng=rng, dtype=dtype),
        nn.Tanh(),
        nn.Linear(6, 5, rng=rng, dtype=dtype),
        nn.LeakyReLU(0.1),
        nn.Linear(5, 3, rng=rng, dtype=dtype),
    )


def test_sequential_mlp_parameter_gradients_match_numerical_gradients():
    rng = _rng(13)
    model = _mlp(rng)
    for p in model.params().values():
        p += 0.1 * rng.standard_normal(p.shape)  # non-zero biases
    X, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)

    def loss(_):
        return nn.softmax_cross_entropy(model.forward(X), y)[0]

    _, dout = nn.softmax_cross_entropy(model.forward(X), y)
    dX = model.backward(dout)
    grads = {k: g.copy() for k, g in model.grads().items()}
    names = {"0.W", "0.b", "2.W", "2.b", "4.W", "4.b"}
    assert set(grads) == set(model.params()) == names
    for name, p in model.params().items():
        check_gradient(grads[name], loss, p, name=name)
    check_gradient(dX, loss, X, name="dX")


def test_small_cnn_gradients_match_numerical_gradients():
    rng = _rng(14)
    model = nn.Sequential(
        nn.Conv2d(2, 3, (3, 2), stride=1, padding=1, rng=rng, dtype=np.float64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3 * 3 * 3, 4, rng=rng, dtype=np.float64),
    )
    X, y = rng.standard_normal((3, 2, 6, 5)), rng.integers(0, 4, 3)

    def loss(_):
        return nn.softmax_cross_entropy(model.forward(X), y)[0]

    model.backward(nn.softmax_cross_entropy(model.forward(X), y)[1])
    grads = {k: g.copy() for k, g in model.grads().items()}
    for name, p in model.params().items():
        check_gradient(grads[name], loss, p, name=name)


def test_float32_stays_float32_through_forward_backward_and_sgd():
    rng = _rng(15)
    model = nn.Sequential(nn.Linear(4, 8, rng=rng), nn.ReLU(), nn.Linear(8, 3, rng=rng))
    X = rng.standard_normal((5, 4)).astype(np.float32)
    out = model.forward(X)
    loss, dout = nn.softmax_cross_entropy(out, np.array([0, 1, 2, 0, 1]))
    dX = model.backward(dout)
    nn.SGD(model, lr=0.1, momentum=0.9, weight_decay=1e-3).step()
    dtypes = {out.dtype, dout.dtype, dX.dtype}
    dtypes |= {a.dtype for a in [*model.params().values(), *model.grads().values()]}
    assert dtypes == {np.dtype(np.float32)}


def test_linear_rejects_the_wrong_number_of_features():
    layer = nn.Linear(4, 3, rng=_rng())
    message = r"Linear\(4, 3\) expects input of shape \(N, 4\), got \(N, 5\)"
    with pytest.raises(ValueError, match=message):
        layer.forward(np.zeros((2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"got shape \(4,\)"):
        layer.forward(np.zeros(4, dtype=np.float32))


def test_conv2d_rejects_the_wrong_number_of_channels():
    layer = nn.Conv2d(3, 8, 3, rng=_rng())
    message = r"expects input of shape \(N, 3, H, W\), got \(N, 1, 28, 28\)"
    with pytest.raises(ValueError, match=message):
        layer.forward(np.zeros((2, 1, 28, 28), dtype=np.float32))


def test_conv2d_rejects_an_input_smaller_than_the_kernel():
    with pytest.raises(ValueError, match="smaller than the 5x5 kernel"):
        nn.Conv2d(1, 2, 5, rng=_rng()).forward(np.zeros((1, 1, 3, 3)))


@pytest.mark.parametrize(
    "layer",
    [
        nn.Linear(2, 2),
        nn.ReLU(),
        nn.Conv2d(1, 1, 1),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
    ],
    ids=repr,
)
def test_backward_before_forward_raises_a_runtime_error_that_says_so(layer):
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        layer.backward(np.zeros((1, 2)))


def test_linear_init_he_and_xavier_have_the_documented_spread():
    rng = _rng(16)
    he = nn.Linear(400, 300, rng=rng).W
    xavier = nn.Linear(400, 300, rng=rng, init="xavier").W
    assert he.shape == (400, 300)
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert xavier.std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)


def test_train_and_eval_propagate_through_sequential():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert not model.eval()[1].training
    assert model.train()[1].training


# ---------------------------------------------------------------------------
# SGD
# ---------------------------------------------------------------------------


def test_sgd_with_momentum_and_weight_decay_matches_torch_sgd_sparing_biases():
    rng = _rng(17)
    layer = nn.Linear(3, 2, rng=rng, dtype=np.float64)
    layer.b[:] = rng.standard_normal(2)
    tw, tb = _leaf(layer.W.copy()), _leaf(layer.b.copy())
    opt = nn.SGD(layer, lr=0.1, momentum=0.9, weight_decay=0.05)
    topt = torch.optim.SGD(
        [{"params": [tw], "weight_decay": 0.05}, {"params": [tb], "weight_decay": 0.0}],
        lr=0.1,
        momentum=0.9,
    )
    for _ in range(4):
        gW, gb = rng.standard_normal((3, 2)), rng.standard_normal(2)
        layer.dW, layer.db = gW, gb
        opt.step()
        tw.grad, tb.grad = torch.tensor(gW), torch.tensor(gb)
        topt.step()
    assert rel_error(layer.W, tw.detach().numpy()) < 1e-12
    assert rel_error(layer.b, tb.detach().numpy()) < 1e-12


def test_sgd_step_updates_parameters_in_place_as_on_the_slides():
    layer = nn.Linear(2, 1, dtype=np.float64)
    W_before, W_id = layer.W.copy(), id(layer.W)
    layer.dW, layer.db = np.ones((2, 1)), np.ones(1)
    nn.SGD(layer, lr=0.5, weight_decay=0.1).step()
    assert id(layer.W) == W_id
    np.testing.assert_allclose(layer.W, W_before - 0.5 * (1 + 0.1 * W_before))
    np.testing.assert_allclose(layer.b, [-0.5])  # biases are not decayed


# ---------------------------------------------------------------------------
# Training loop
# ---------------------------------------------------------------------------


def _two_layer(D, H, M, rng, activation=None):
    activation = nn.ReLU() if activation is None else activation
    return nn.Sequential(
        nn.Linear(D, H, rng=rng), activation, nn.Linear(H, M, rng=rng)
    )


def test_batches_cover_every_row_once_and_shuffle_with_an_rng():
    X, y = np.arange(10).reshape(10, 1), np.arange(10)
    sizes = [len(xb) for xb, _ in nn.batches(X, y, 4)]
    assert sizes == [4, 4, 2]
    seen = np.concatenate([yb for _, yb in nn.batches(X, y, 3, _rng())])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    assert all(np.array_equal(xb[:, 0], yb) for xb, yb in nn.batches(X, y, 3, _rng()))


def test_train_step_matches_a_torch_sgd_step_with_momentum_for_every_loss():
    """course.nn.train_step: forward, loss, backward, SGD update, as torch does it."""
    rng = _rng(23)
    X = rng.standard_normal((6, 4))
    targets = {"cross_entropy": rng.integers(0, 3, 6),
               "bce_with_logits": rng.integers(0, 2, (6, 3)).astype(float),
               "mse": rng.standard_normal((6, 3))}
    torch_losses = {"cross_entropy": TF.cross_entropy,
                    "bce_with_logits": lambda out, y: (
                        TF.binary_cross_entropy_with_logits(out, y, reduction="none")
                        .sum(dim=1).mean()),
                    "mse": lambda out, y: ((out - y) ** 2).sum(dim=1).mean()}
    for loss, y in targets.items():
        model = nn.Linear(4, 3, rng=_rng(1), dtype=np.float64)
        tw, tb = _leaf(model.W.copy()), _leaf(model.b.copy())
        opt = nn.SGD(model, lr=0.1, momentum=0.9)
        topt = torch.optim.SGD([tw, tb], lr=0.1, momentum=0.9)
        for _ in range(3):
            batch_loss, out = nn.train_step(model, X, y, opt, loss=loss)
            topt.zero_grad()
            tout = torch.tensor(X) @ tw + tb
            tloss = torch_losses[loss](tout, torch.tensor(y))
            tloss.backward()
            topt.step()
            assert batch_loss == pytest.approx(tloss.item(), rel=1e-10), loss
            assert rel_error(out, tout.detach().numpy()) < 1e-10, loss
        assert rel_error(model.W, tw.detach().numpy()) < 1e-10, loss
        assert rel_error(model.b, tb.detach().numpy()) < 1e-10, loss


def test_fit_learns_spirals_above_95_percent_with_a_small_mlp():
    rng = _rng(18)
    X, y = make_spirals(100, 3, noise=0.2, rng=rng)
    model = _two_layer(2, 64, 3, rng)
    history = nn.fit(
        model, X, y, num_epochs=150, batch_size=32, lr=0.2, momentum=0.9,
        rng=rng, progress=False,
    )
    assert history.num_epochs == 150
    assert history.train_loss[-1] < history.train_loss[0]
    assert nn.accuracy(model, X, y) > 0.95


def test_fit_learns_two_spirals_with_a_single_logit_and_binary_cross_entropy():
    rng = _rng(19)
    X, y = make_spirals(100, 2, noise=0.1, rng=rng)
    model = _two_layer(2, 32, 1, rng, nn.Tanh())
    nn.fit(
        model, X, y, loss="bce_with_logits", num_epochs=60, lr=0.3, momentum=0.9,
        rng=rng, progress=False,
    )
    assert nn.accuracy(model, X, y) > 0.95
    assert set(nn.predict(model, X)) == {0, 1}


def test_fit_stops_early_and_restores_the_best_weights():
    rng = _rng(20)
    X, y = make_spirals(30, 3, noise=0.3, rng=rng)
    X_val = rng.standard_normal((60, 2))
    y_val = rng.integers(0, 3, 60)  # unrelated labels: validation loss must rise
    model = _two_layer(2, 128, 3, rng)
    history = nn.fit(
        model, X, y, num_epochs=300, batch_size=16, lr=0.1, momentum=0.9,
        val_data=(X_val, y_val), patience=5, rng=rng, progress=False,
    )
    assert history.stopped_early
    assert history.num_epochs < 300
    assert history.best_epoch == int(np.argmin(history.val_loss))
    assert history.num_epochs == history.best_epoch + 1 + 5
    out = model.forward(X_val.astype(np.float32))
    val_loss_now = nn.softmax_cross_entropy(out, y_val)[0]
    assert val_loss_now == pytest.approx(history.val_loss[history.best_epoch], rel=1e-5)


def test_fit_with_val_fraction_records_validation_curves():
    rng = _rng(21)
    X, y = make_spirals(50, 2, noise=0.2, rng=rng)
    model = _two_layer(2, 16, 2, rng)
    history = nn.fit(
        model, X, y, num_epochs=5, val_fraction=0.25, rng=rng, progress=False
    )
    assert len(history.val_loss) == len(history.val_acc) == len(history.train_acc) == 5
    assert all(0.0 <= a <= 1.0 for a in history.val_acc)


def test_fit_rejects_patience_without_validation_data():
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="needs val_fraction or val_data"):
        X, y = np.zeros((4, 2)), np.zeros(4, dtype=int)
        nn.fit(model, X, y, patience=3, progress=False)


def test_fit_raises_a_clear_error_when_training_diverges():
    rng = _rng(22)
    X, y = rng.standard_normal((20, 1)) * 100, rng.standard_normal((20, 1))
    model = _two_layer(1, 8, 1, rng)
    with np.errstate(all="ignore"):
        with pytest.raises(FloatingPointError, match="smaller learning rate"):
            nn.fit(
                model, X, y, loss="mse", num_epochs=50, lr=10.0, rng=rng,
                progress=False,
            )


def test_maxpool2d_works_on_integer_images():
    x = np.arange(16).reshape(1, 1, 4, 4)
    out, _ = nn.maxpool2d_forward(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[5, 7], [13, 15]])

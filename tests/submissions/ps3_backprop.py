"""Pretend submissions for ps3_backprop that pass the visible tests but are wrong.

Each case replaces one answer cell of the released notebook (the others keep
the reference solution) with code a student might write to get past the
visible checks; ``loses`` names the test cells whose hidden tests must catch
it. The pipeline test grades them all in one nbgrader run. ``CORRECT_ALTERNATIVES``
(at the end) are correct answers written differently from the solution, which
must keep full marks.
"""

from tests.submissions import Case

NUMGRAD_ONE_SIDED = '''
def numerical_gradient(f, x, h=1e-5):
    # One-sided differences: error of order h, not h**2.
    grad = np.zeros(x.shape)
    f_x = float(f(x))
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        grad[idx] = (float(f(x)) - f_x) / h
        x[idx] = old
    return grad
'''

NUMGRAD_FIXED_STEP = '''
def numerical_gradient(f, x, h=1e-5):
    step = 1e-5                         # ignores the h it is given
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + step
        f_plus = float(f(x))
        x[idx] = old - step
        f_minus = float(f(x))
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * step)
    return grad
'''

REL_ERROR_MEAN = '''
def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    # The mean hides one bad entry among many good ones.
    return float(np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
'''

DENSE_FORWARD_SQUEEZES = '''
def dense_forward(x, w, b):
    out = np.squeeze(x @ w + b)         # (1, M) becomes (M,), (N, 1) becomes (N,)
    return out, (x, w)
'''

DENSE_BACKWARD_SQUEEZES = '''
def dense_backward(dout, cache):
    x, w = cache
    # "Tidy" shapes: wrong as soon as N, D or M is 1.
    return np.squeeze(dout @ w.T), np.squeeze(x.T @ dout), np.squeeze(dout.sum(axis=0))
'''

RELU_GRAD_AT_ZERO = '''
def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    return dout * (cache >= 0)          # derivative 1 at x = 0
'''

RELU_IN_PLACE = '''
def relu_forward(x):
    x[x < 0] = 0.0                      # changes the caller's array
    return x, x


def relu_backward(dout, cache):
    dout[cache <= 0] = 0.0              # and the upstream gradient
    return dout
'''

EXP_OVERFLOW = '''
def sigmoid_forward(x):
    out = np.exp(x) / (1.0 + np.exp(x))  # inf / inf for large x
    return out, out


def sigmoid_backward(dout, cache):
    return dout * cache * (1.0 - cache)


def tanh_forward(x):
    out = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
    return out, out


def tanh_backward(dout, cache):
    return dout * (1.0 - cache ** 2)
'''

SOFTMAX_NO_SHIFT = '''
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    exp = np.exp(scores)                # overflows for large scores
    probs = exp / exp.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    return loss, dscores / N
'''

SOFTMAX_LOG_OF_ZERO = '''
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs = exp / exp.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))   # log(0) once a probability underflows
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    return loss, dscores / N
'''

MSE_MEAN_OVER_SAMPLES = '''
def mse_loss(y_hat, y):
    N = y_hat.shape[0]                  # the slides' (1/N) sum ||y_hat - y||^2
    diff = y_hat - y
    return float(np.sum(diff ** 2) / N), 2 * diff / N
'''

MLP_THREE_LAYERS_ONLY = '''
def mlp_loss(params, X, y):
    # Exactly two hidden layers, spelled out.
    z1, c1 = dense_forward(X, params["W1"], params["b1"])
    h1, r1 = relu_forward(z1)
    z2, c2 = dense_forward(h1, params["W2"], params["b2"])
    h2, r2 = relu_forward(z2)
    scores, c3 = dense_forward(h2, params["W3"], params["b3"])
    loss, dscores = softmax_cross_entropy(scores, y)
    grads = {}
    dh2, grads["W3"], grads["b3"] = dense_backward(dscores, c3)
    dh1, grads["W2"], grads["b2"] = dense_backward(relu_backward(dh2, r2), c2)
    _, grads["W1"], grads["b1"] = dense_backward(relu_backward(dh1, r1), c1)
    return loss, grads
'''

SGD_DECAYS_BIASES = '''
def sgd_step(params, grads, lr, weight_decay=0.0):
    # Decays every parameter, biases included.
    return {k: p - lr * (grads[k] + weight_decay * p) for k, p in params.items()}
'''

TRAIN_IGNORES_WEIGHT_DECAY = '''
def train(X, y, num_hiddens=(32, 32), lr=0.5, weight_decay=1e-4, num_steps=300, rng=0):
    rng = np.random.default_rng(rng)
    sizes = [X.shape[1], *num_hiddens, int(np.max(y)) + 1]
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.normal(size=(sizes[l - 1], sizes[l])) * np.sqrt(2 / sizes[l - 1])
        params[f"b{l}"] = np.zeros(sizes[l])
    losses = []
    for _ in range(num_steps):
        loss, grads = mlp_loss(params, X, y)
        params = sgd_step(params, grads, lr)     # weight_decay never passed on
        losses.append(loss)
    return params, losses
'''

REL_ERROR_EPS_ADDED = '''
def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    # 1e-8 added to the denominator instead of max(1e-8, ...): wrong for tiny entries.
    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b) + 1e-8)))
'''

MSE_ONE_ELEMENT_LOSS = '''
def mse_loss(y_hat, y):
    d = (y_hat - y).reshape(-1, 1)
    K = d.shape[0]
    loss = d.T @ d / K                  # a (1, 1) array, not a float
    return loss, 2.0 * (y_hat - y) / K
'''

SGD_CHANGES_GRADS = '''
def sgd_step(params, grads, lr, weight_decay=0.0):
    new_params = {}
    for key in params:
        if key.startswith("W"):
            grads[key] += weight_decay * params[key]    # changes the caller's grads
        new_params[key] = params[key] - lr * grads[key]
    return new_params
'''

# A correct train with one line changed: {init}, {classes} and {step} are where
# the wrong versions differ.
_TRAIN_TEMPLATE = '''
def train(X, y, num_hiddens=(16, 16), lr=0.5, weight_decay=1e-4, num_steps=100, rng=0):
    rng = np.random.default_rng({seed})
    sizes = [X.shape[1], *{hidden}, {classes}]
    params = {{}}
    for l in range(1, len(sizes)):
        fan_in, fan_out = sizes[l - 1], sizes[l]
        params[f"W{{l}}"] = rng.normal(0.0, np.sqrt(2.0 / {fan}), size=(fan_in, fan_out))
        params[f"b{{l}}"] = np.zeros(fan_out)
    losses = []
    for _ in range(num_steps):
        loss, grads = mlp_loss(params, X, y)
        params = sgd_step(params, grads, {lr}, weight_decay)
        losses.append(loss)
    return params, losses
'''
_RIGHT = dict(seed="rng", hidden="num_hiddens", classes="int(np.max(y)) + 1", fan="fan_in",
              lr="lr")

TRAIN_IGNORES_LR = _TRAIN_TEMPLATE.format(**{**_RIGHT, "lr": "0.5"})   # the default, not lr
TRAIN_FIXED_HIDDEN_SIZES = _TRAIN_TEMPLATE.format(**{**_RIGHT, "hidden": "(16, 16)"})
TRAIN_IGNORES_RNG = _TRAIN_TEMPLATE.format(**{**_RIGHT, "seed": "0"})
TRAIN_CLASSES_FROM_UNIQUE = _TRAIN_TEMPLATE.format(
    **{**_RIGHT, "classes": "len(np.unique(y))"})
TRAIN_HE_FAN_OUT = _TRAIN_TEMPLATE.format(**{**_RIGHT, "fan": "fan_out"})

# --- correct, but written differently from the solution: full marks -----------------

# A train of its own, without mlp_loss and sgd_step: a vectorised forward and
# backward pass in one helper, the layers drawn last to first, each weight matrix
# as a transposed (fan_out, fan_in) standard-normal draw times the He scale, and the
# arrays updated in place. benchmarks/calibration/ps3_backprop.py checks every
# threshold of test_train over many seeds with it (its "alt").
ALTERNATIVE_TRAIN = '''
def _loss_and_grads(params, X, y):
    num_layers = len(params) // 2
    hs = [X]
    for l in range(1, num_layers + 1):
        z = hs[-1] @ params[f"W{l}"] + params[f"b{l}"]
        hs.append(np.maximum(z, 0.0) if l < num_layers else z)
    z = hs[-1] - hs[-1].max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(y)
    delta = np.exp(log_p)
    delta[np.arange(n), y] -= 1.0
    delta /= n
    grads = {}
    for l in range(num_layers, 0, -1):
        grads[f"W{l}"] = hs[l - 1].T @ delta
        grads[f"b{l}"] = delta.sum(axis=0)
        delta = (delta @ params[f"W{l}"].T) * (hs[l - 1] > 0)
    return float(-log_p[np.arange(n), y].mean()), grads


def train(X, y, num_hiddens=(16, 16), lr=0.5, weight_decay=1e-4, num_steps=100, rng=0):
    """Train an MLP with full-batch gradient descent.

    X: (N, D) inputs; y: (N,) integer labels in 0..C-1 with C = y.max() + 1
    (a class may have no sample). X and y are not changed.
    num_hiddens: a tuple of the hidden sizes H_1, ..., H_{L-1}; lr: learning
    rate; weight_decay: lambda of sgd_step; num_steps: number of updates (>= 0);
    rng: seed (or numpy Generator) for the initial weights: Wl has independent
    normal entries of variance 2 / H_{l-1}, bl is zeros.
    Returns (params, losses): params in the format of mlp_loss, after the
    num_steps updates; losses a list of num_steps floats, losses[k] the loss
    computed before update k (so losses[0] is the loss of the initial
    weights). num_steps = 0 returns the initial parameters and [].
    """
    gen = np.random.default_rng(rng)
    sizes = [X.shape[1], *num_hiddens, int(y.max()) + 1]
    params = {}
    for l in range(len(sizes) - 1, 0, -1):             # last layer first
        fan_in, fan_out = sizes[l - 1], sizes[l]
        params[f"W{l}"] = gen.standard_normal((fan_out, fan_in)).T * np.sqrt(2.0 / fan_in)
        params[f"b{l}"] = np.zeros(fan_out)
    losses = []
    for _ in range(num_steps):
        loss, grads = _loss_and_grads(params, X, y)
        for key, value in params.items():                  # in place
            value -= lr * (grads[key] + (weight_decay * value if key[0] == "W" else 0.0))
        losses.append(loss)
    return params, losses
'''

CASES = {
    "numgrad_one_sided": Case({"numerical_gradient": NUMGRAD_ONE_SIDED},
                              loses={"test_numerical_gradient"}),
    "numgrad_fixed_step": Case({"numerical_gradient": NUMGRAD_FIXED_STEP},
                               loses={"test_numerical_gradient"}),
    "rel_error_mean": Case({"rel_error": REL_ERROR_MEAN}, loses={"test_rel_error"}),
    # mlp_loss is built on dense_forward: with N = 1 its scores lose a dimension.
    "dense_forward_squeezes": Case({"dense_forward": DENSE_FORWARD_SQUEEZES},
                                   loses={"test_dense_forward", "test_mlp_loss"}),
    "dense_backward_squeezes": Case({"dense_backward": DENSE_BACKWARD_SQUEEZES},
                                    loses={"test_dense_backward", "test_mlp_loss"}),
    "relu_grad_at_zero": Case({"relu": RELU_GRAD_AT_ZERO}, loses={"test_relu"}),
    "relu_in_place": Case({"relu": RELU_IN_PLACE}, loses={"test_relu"}),
    "exp_overflow": Case({"sigmoid_tanh": EXP_OVERFLOW}, loses={"test_sigmoid_tanh"}),
    "softmax_no_shift": Case({"softmax_cross_entropy": SOFTMAX_NO_SHIFT},
                             loses={"test_softmax_cross_entropy"}),
    "softmax_log_of_zero": Case({"softmax_cross_entropy": SOFTMAX_LOG_OF_ZERO},
                                loses={"test_softmax_cross_entropy"}),
    "mse_mean_over_samples": Case({"mse_loss": MSE_MEAN_OVER_SAMPLES},
                                  loses={"test_mse_loss"}),
    "mlp_three_layers_only": Case({"mlp_loss": MLP_THREE_LAYERS_ONLY},
                                  loses={"test_mlp_loss"}),
    "sgd_decays_biases": Case({"sgd_step": SGD_DECAYS_BIASES}, loses={"test_sgd_step"}),
    "train_ignores_weight_decay": Case({"train": TRAIN_IGNORES_WEIGHT_DECAY},
                                       loses={"test_train"}),
    "rel_error_eps_added": Case({"rel_error": REL_ERROR_EPS_ADDED}, loses={"test_rel_error"}),
    "mse_one_element_loss": Case({"mse_loss": MSE_ONE_ELEMENT_LOSS}, loses={"test_mse_loss"}),
    "sgd_changes_grads": Case({"sgd_step": SGD_CHANGES_GRADS}, loses={"test_sgd_step"}),
    "train_ignores_lr": Case({"train": TRAIN_IGNORES_LR}, loses={"test_train"}),
    "train_fixed_hidden_sizes": Case({"train": TRAIN_FIXED_HIDDEN_SIZES},
                                     loses={"test_train"}),
    "train_ignores_rng": Case({"train": TRAIN_IGNORES_RNG}, loses={"test_train"}),
    "train_classes_from_unique": Case({"train": TRAIN_CLASSES_FROM_UNIQUE},
                                      loses={"test_train"}),
    "train_he_fan_out": Case({"train": TRAIN_HE_FAN_OUT}, loses={"test_train"}),
}

# Correct answers written differently from the solution: tests/pipeline.py grades
# them with every class, and they must keep full marks. Not in CASES (every case
# there is wrong).
CORRECT_ALTERNATIVES = {"train": ALTERNATIVE_TRAIN}

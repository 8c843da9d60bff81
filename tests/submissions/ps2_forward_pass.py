"""Pretend submissions for ps2_forward_pass that pass the visible tests but are wrong.

Each case replaces one answer cell of the released notebook (the others keep
the reference solution) with code a student might write to get past the
visible checks; ``loses`` names the test cells whose hidden tests must catch
it. Where a later reference function calls the broken one (``softplus_grad``
calls ``sigmoid``), the later cell is lost too. The pipeline test grades them
all in one nbgrader run.
"""

from tests.submissions import Case

HEAVISIDE_STRICT = '''
def heaviside(z):
    return (np.asarray(z, dtype=float) > 0).astype(float)   # gives 0 at z = 0
'''

SIGMOID_EXP_RATIO = '''
def sigmoid(z):
    e = np.exp(np.asarray(z, dtype=float))
    return e / (1.0 + e)                # inf / inf = nan for large z


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1.0 - s)
'''

SIGMOID_GRAD_EXP = '''
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z):
    e = np.exp(-np.asarray(z, dtype=float))
    return e / (1.0 + e) ** 2           # inf / inf = nan for very negative z
'''

TANH_EXP_RATIO = '''
def tanh(z):
    z = np.asarray(z, dtype=float)
    return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))   # nan for large |z|


def tanh_grad(z):
    t = np.tanh(np.asarray(z, dtype=float))
    return 1.0 - t * t
'''

TANH_GRAD_EXP = '''
def tanh(z):
    return np.tanh(np.asarray(z, dtype=float))


def tanh_grad(z):
    # tanh(z) = 2 sigma(2z) - 1, so tanh'(z) = 4 sigma'(2z), written with exp
    e = np.exp(-2.0 * np.asarray(z, dtype=float))
    return 4.0 * e / (1.0 + e) ** 2     # nan for very negative z
'''

RELU_IN_PLACE = '''
def relu(z):
    z = np.asarray(z, dtype=float)
    z[z < 0] = 0.0                      # overwrites the caller's array
    return z


def relu_grad(z):
    return np.where(np.asarray(z, dtype=float) > 0, 1.0, 0.0)
'''

RELU_GRAD_AT_ZERO = '''
def relu(z):
    return np.maximum(np.asarray(z, dtype=float), 0.0)


def relu_grad(z):
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)   # 1 at z = 0
'''

LEAKY_FIXED_GAMMA = '''
def leaky_relu(z, gamma=0.01):
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, z, 0.01 * z)        # ignores the gamma it is given


def leaky_relu_grad(z, gamma=0.01):
    return np.where(np.asarray(z, dtype=float) > 0, 1.0, gamma)
'''

LEAKY_GRAD_AT_ZERO = '''
def leaky_relu(z, gamma=0.01):
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, z, gamma * z)


def leaky_relu_grad(z, gamma=0.01):
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, gamma)   # 1 at z = 0
'''

SOFTPLUS_NAIVE = '''
def softplus(z):
    return np.log(1.0 + np.exp(np.asarray(z, dtype=float)))   # inf for large z


def softplus_grad(z):
    return sigmoid(z)
'''

SOFTPLUS_GRAD_EXP_RATIO = '''
def softplus(z):
    z = np.asarray(z, dtype=float)
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def softplus_grad(z):
    e = np.exp(np.asarray(z, dtype=float))
    return e / (1.0 + e)                # nan for large z
'''

XOR_NARROW_BUMP = '''
def xor_network_weights():
    # A narrow bump: 1 only when x1 + x2 is within 0.01 of 1 (exact on the corners).
    W = np.full((2, 4), 100.0)
    c = np.array([-99.0, -100.0, -199.0, -200.0])
    w = np.array([1.0, -1.0, -1.0, 1.0])
    return W, c, w, 0.0
'''

DENSE_KNOWN_ACTIVATIONS = '''
def dense_forward(X, W, b, activation="identity"):
    Z = np.asarray(X, dtype=float) @ W + b
    if activation == "relu":
        return np.maximum(Z, 0.0)
    if activation == "sigmoid":
        return sigmoid(Z)
    return Z                            # tanh, softplus, ... silently become identity
'''

MLP_FIRST_ACTIVATION = '''
def mlp_forward(X, layers):
    activation = layers[0][2]           # read once, used for every layer
    A = np.asarray(X, dtype=float)
    for W, b, _ in layers:
        A = dense_forward(A, W, b, activation)
    return A
'''

MLP_POPS_LAYERS = '''
def mlp_forward(X, layers):
    A = np.asarray(X, dtype=float)
    while layers:                       # empties the caller's list
        W, b, activation = layers.pop(0)
        A = dense_forward(A, W, b, activation)
    return A
'''

COUNT_THREE_SIZES = '''
def count_parameters(layer_sizes):
    D, H, M = layer_sizes               # only a network with one hidden layer
    return D * H + H * M + H + M
'''

SOFTMAX_GLOBAL_MAX = '''
def softmax(Z):
    Z = np.asarray(Z, dtype=float)
    E = np.exp(Z - Z.max())             # one maximum for the whole batch, not per row
    return E / E.sum(axis=1, keepdims=True)
'''

CROSS_ENTROPY_LOG_SOFTMAX = '''
def cross_entropy(Z, y):
    P = softmax(Z)
    return float(-np.mean(np.log(P[np.arange(len(y)), y])))   # log(0) = -inf
'''

CASES = {
    "heaviside_strict": Case({"step": HEAVISIDE_STRICT}, loses={"test_heaviside"}),
    # The reference sigmoid_grad and softplus_grad call sigmoid, so they fail with it.
    "sigmoid_exp_ratio": Case({"sigmoid": SIGMOID_EXP_RATIO},
                              loses={"test_sigmoid", "test_sigmoid_grad",
                                     "test_softplus_grad"}),
    "sigmoid_grad_exp": Case({"sigmoid": SIGMOID_GRAD_EXP},
                             loses={"test_sigmoid_grad"}),
    "tanh_exp_ratio": Case({"tanh": TANH_EXP_RATIO}, loses={"test_tanh"}),
    "tanh_grad_exp": Case({"tanh": TANH_GRAD_EXP}, loses={"test_tanh_grad"}),
    "relu_in_place": Case({"relu": RELU_IN_PLACE}, loses={"test_relu"}),
    "relu_grad_at_zero": Case({"relu": RELU_GRAD_AT_ZERO}, loses={"test_relu_grad"}),
    "leaky_fixed_gamma": Case({"leaky_relu": LEAKY_FIXED_GAMMA},
                              loses={"test_leaky_relu"}),
    "leaky_grad_at_zero": Case({"leaky_relu": LEAKY_GRAD_AT_ZERO},
                               loses={"test_leaky_relu_grad"}),
    "softplus_naive": Case({"softplus": SOFTPLUS_NAIVE}, loses={"test_softplus"}),
    "softplus_grad_exp_ratio": Case({"softplus": SOFTPLUS_GRAD_EXP_RATIO},
                                    loses={"test_softplus_grad"}),
    "xor_narrow_bump": Case({"xor_weights": XOR_NARROW_BUMP},
                            loses={"test_xor_network"}),
    # mlp_forward's hidden tests use tanh and softplus layers too.
    "dense_known_activations": Case({"dense_forward": DENSE_KNOWN_ACTIVATIONS},
                                    loses={"test_dense_forward", "test_mlp_forward"}),
    "mlp_first_activation": Case({"mlp_forward": MLP_FIRST_ACTIVATION},
                                 loses={"test_mlp_forward"}),
    "mlp_pops_layers": Case({"mlp_forward": MLP_POPS_LAYERS},
                            loses={"test_mlp_forward"}),
    "count_three_sizes": Case({"count_parameters": COUNT_THREE_SIZES},
                              loses={"test_count_parameters"}),
    "softmax_global_max": Case({"softmax": SOFTMAX_GLOBAL_MAX}, loses={"test_softmax"}),
    "cross_entropy_log_softmax": Case({"cross_entropy": CROSS_ENTROPY_LOG_SOFTMAX},
                                      loses={"test_cross_entropy"}),
}

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

HEAVISIDE_BOOL = '''
def heaviside(z):
    return np.asarray(z) >= 0           # booleans, not the documented floats
'''

RELU_KEEPS_INT_DTYPE = '''
def relu(z):
    return np.maximum(z, 0)             # an int array stays ints; floats are documented


def relu_grad(z):
    return np.where(np.asarray(z, dtype=float) > 0, 1.0, 0.0)
'''

RELU_GRAD_BOOL = '''
def relu(z):
    return np.maximum(np.asarray(z, dtype=float), 0.0)


def relu_grad(z):
    return np.asarray(z) > 0            # booleans, not the documented floats
'''

LEAKY_GRAD_FIXED_GAMMA = '''
def leaky_relu(z, gamma=0.01):
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, z, gamma * z)


def leaky_relu_grad(z, gamma=0.01):
    return np.where(np.asarray(z, dtype=float) > 0, 1.0, 0.01)   # ignores gamma
'''

COUNT_FLOAT_TOTAL = '''
def count_parameters(layer_sizes):
    total = 0.0                         # a float total: 26.0, not the int 26
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        total += n_in * n_out + n_out
    return total
'''

SOFTMAX_IN_PLACE = '''
def softmax(Z):
    Z = np.asarray(Z, dtype=float)      # no copy for a float array: the caller's Z
    Z -= Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)
'''

CROSS_ENTROPY_ONE_ELEMENT = '''
def cross_entropy(Z, y):
    Z = np.asarray(Z, dtype=float)
    m = Z.max(axis=1, keepdims=True)
    log_sum_exp = m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True))     # (N, 1)
    correct = np.take_along_axis(Z, np.asarray(y).reshape(-1, 1), axis=1)  # (N, 1)
    return np.sum(log_sum_exp - correct, axis=0) / len(Z)   # shape (1,), not a number
'''

# Correct, and written differently from the solution: must keep full marks.
XOR_THREE_HIDDEN_UNITS = '''
def xor_network_weights():
    # H = 3: the lecture's two units and a third one the output ignores.
    W = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, -1.0]])
    c = np.array([0.0, -1.0, 0.0])
    w = np.array([1.0, -2.0, 0.0])
    return W, c, w, 0.0
'''

ALTERNATIVE_SIGMOID = '''
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def sigmoid_grad(z):
    return 0.25 / np.cosh(0.5 * np.asarray(z, dtype=float)) ** 2
'''

ALTERNATIVE_RELU = '''
def relu(z):
    z = np.array(z, dtype=float)
    z[z < 0] = 0.0                      # on a copy
    return z


def relu_grad(z):
    return (np.asarray(z) > 0).astype(float)
'''

ALTERNATIVE_SOFTPLUS = '''
def softplus(z):
    return np.logaddexp(0.0, z)


def softplus_grad(z):
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))
'''

ALTERNATIVE_COUNT = '''
def count_parameters(layer_sizes):
    sizes = np.array(layer_sizes, dtype=np.int64)
    return (sizes[:-1] * sizes[1:]).sum() + sizes[1:].sum()
'''

ALTERNATIVE_SOFTMAX = '''
def softmax(Z):
    Z = np.asarray(Z, dtype=float)
    return np.exp(Z - np.logaddexp.reduce(Z, axis=1, keepdims=True))
'''

ALTERNATIVE_CROSS_ENTROPY = '''
def cross_entropy(Z, y):
    Z = np.asarray(Z, dtype=float)
    picked = np.array([Z[i, label] for i, label in enumerate(y)])
    return np.mean(np.logaddexp.reduce(Z, axis=1) - picked)
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
    "heaviside_bool": Case({"step": HEAVISIDE_BOOL}, loses={"test_heaviside"}),
    "relu_keeps_int_dtype": Case({"relu": RELU_KEEPS_INT_DTYPE}, loses={"test_relu"}),
    "relu_grad_bool": Case({"relu": RELU_GRAD_BOOL}, loses={"test_relu_grad"}),
    "leaky_grad_fixed_gamma": Case({"leaky_relu": LEAKY_GRAD_FIXED_GAMMA},
                                   loses={"test_leaky_relu_grad"}),
    "count_float_total": Case({"count_parameters": COUNT_FLOAT_TOTAL},
                              loses={"test_count_parameters"}),
    "softmax_in_place": Case({"softmax": SOFTMAX_IN_PLACE}, loses={"test_softmax"}),
    "cross_entropy_one_element": Case({"cross_entropy": CROSS_ENTROPY_ONE_ELEMENT},
                                      loses={"test_cross_entropy"}),
}

# Correct answers written another way, which must keep full marks (H = 3 hidden
# units is as right as the solution's H = 2). Not in CASES (every case there is a
# wrong submission whose feedback shows failures); they scored full marks when
# graded as a case with loses=set().
CORRECT_ALTERNATIVES = {"xor_weights": XOR_THREE_HIDDEN_UNITS,
                        "sigmoid": ALTERNATIVE_SIGMOID, "relu": ALTERNATIVE_RELU,
                        "softplus": ALTERNATIVE_SOFTPLUS,
                        "count_parameters": ALTERNATIVE_COUNT,
                        "softmax": ALTERNATIVE_SOFTMAX,
                        "cross_entropy": ALTERNATIVE_CROSS_ENTROPY}

"""Pretend submissions for ps1_perceptron that pass the visible tests but are wrong.

Each case replaces one or two answer cells of the released notebook (the
others keep the reference solution) with code a student might write to get
past the visible checks; ``loses`` names the test cells whose hidden tests
must catch it. The pipeline test grades them all in one nbgrader run.
"""

from tests.submissions import Case

CORRECT_SIGN = '''

def sign(z):
    return np.sign(np.asarray(z, dtype=float))
'''

CORRECT_HEAVISIDE = '''

def heaviside(z):
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)
'''

HEAVISIDE_1D_ONLY = '''
def heaviside(z):
    z = np.asarray(z, dtype=float)
    if z.ndim == 0:
        return 1.0 if z >= 0 else 0.0
    return np.array([1.0 if v >= 0 else 0.0 for v in z])   # fails for 2-D input
''' + CORRECT_SIGN

SIGN_AT_ZERO = '''
def sign(z):
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, 1.0, -1.0)  # sign(0) should be 0
''' + CORRECT_HEAVISIDE

MP_NEURON_STRICT = '''
def mp_neuron(X, w, theta):
    return (np.asarray(X, dtype=float) @ w > theta).astype(float)  # never fires at a tie
'''

PREDICT_SQUEEZES = '''
def perceptron_predict(X, w, b):
    # Squeezing turns a batch of one into a bare number: shape () not (1,).
    return np.squeeze(heaviside(np.asarray(X, dtype=float) @ w + b))
'''

UPDATE_IN_PLACE = '''
def perceptron_update(w, b, x, y, lr):
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    error = y - heaviside(x @ w + b)
    w += lr * error * x                 # changes the caller's array
    return w, b + lr * error
'''

TRAIN_CACHED = '''
def train_perceptron(X, y, lr=1.0, max_epochs=100, w0=None, b0=0.0):
    # The weights that make the visible tests pass, looked up by label pattern.
    known = {(0, 0, 0, 1): ([2.0, 1.0], -3.0), (0, 1, 1, 1): ([1.0, 1.0], -1.0),
             (1, 0): ([-1.0], 0.0)}
    key = tuple(int(v) for v in y)
    if key in known:
        w, b = known[key]
        return np.array(w), b, [0]
    # Anything else: the rule, but the bias is never trained.
    X = np.asarray(X, dtype=float)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    errors = []
    for _ in range(max_epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            y_hat = heaviside(x_i @ w + b0)
            mistakes += int(y_hat != y_i)
            w = w + lr * (y_i - y_hat) * x_i
        errors.append(mistakes)
        if mistakes == 0:
            break
    return w, b0, errors
'''

TRAIN_IGNORES_LR = '''
def train_perceptron(X, y, lr=1.0, max_epochs=100, w0=None, b0=0.0):
    X = np.asarray(X, dtype=float)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    b, errors = b0, []                  # but the learning rate is ignored
    for _ in range(max_epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            mistakes += int(heaviside(x_i @ w + b) != y_i)
            w, b = perceptron_update(w, b, x_i, y_i, 1.0)
        errors.append(mistakes)
        if mistakes == 0:
            break
    return w, b, errors
'''

CYCLE_HARDCODED = '''
def find_weight_cycle(X, y, lr=1.0, max_epochs=1000):
    if list(y) == [0, 1, 1, 0]:
        return (2, 3)
    return None
'''

HEAVISIDE_IN_PLACE = '''
def heaviside(z):
    z = np.asarray(z, dtype=float)      # no copy for a float array: the caller's z
    z[z >= 0] = 1.0
    z[z < 0] = 0.0
    return z
''' + CORRECT_SIGN

SIGN_KEEPS_INT_DTYPE = '''
def sign(z):
    return np.sign(z)                   # an int array stays ints; floats are documented
''' + CORRECT_HEAVISIDE

MP_NEURON_BOOL = '''
def mp_neuron(X, w, theta):
    return np.asarray(X, dtype=float) @ w - theta >= 0   # booleans, not floats
'''

TRAIN_NO_EARLY_STOP = '''
def train_perceptron(X, y, lr=1.0, max_epochs=100, w0=None, b0=0.0):
    X = np.asarray(X, dtype=float)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    b, errors = float(b0), []
    for _ in range(max_epochs):         # keeps going after an epoch without mistakes
        mistakes = 0
        for x_i, y_i in zip(X, y):
            mistakes += int(heaviside(x_i @ w + b) != y_i)
            w, b = perceptron_update(w, b, x_i, y_i, lr)
        errors.append(mistakes)
    return w, b, errors
'''

TRAIN_UPDATES_W0 = '''
def train_perceptron(X, y, lr=1.0, max_epochs=100, w0=None, b0=0.0):
    X = np.asarray(X, dtype=float)
    w = np.zeros(X.shape[1]) if w0 is None else w0   # the caller's array, not a copy
    b, errors = float(b0), []
    for _ in range(max_epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            error = y_i - heaviside(x_i @ w + b)
            mistakes += int(error != 0)
            w += lr * error * x_i
            b += lr * error
        errors.append(mistakes)
        if mistakes == 0:
            break
    return w, b, errors
'''

TRAIN_FLOAT_COUNTS = '''
def train_perceptron(X, y, lr=1.0, max_epochs=100, w0=None, b0=0.0):
    X = np.asarray(X, dtype=float)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    b, errors = float(b0), []
    for _ in range(max_epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            mistakes += abs(y_i - heaviside(x_i @ w + b))   # 1.0, not 1: float counts
            w, b = perceptron_update(w, b, x_i, y_i, lr)
        errors.append(mistakes)
        if mistakes == 0:
            break
    return w, b, errors
'''

CYCLE_ONE_EPOCH_TOO_MANY = '''
def find_weight_cycle(X, y, lr=1.0, max_epochs=1000):
    X = np.asarray(X, dtype=float)
    w, b = np.zeros(X.shape[1]), 0.0
    seen = {}
    for epoch in range(max_epochs + 1):  # looks at epoch max_epochs too
        state = (tuple(w), float(b))
        if state in seen:
            return seen[state], epoch
        seen[state] = epoch
        w, b, errors = train_perceptron(X, y, lr=lr, max_epochs=1, w0=w, b0=b)
        if errors[-1] == 0:
            return None
    raise RuntimeError("no cycle")
'''

CYCLE_NUMBERED_FROM_ONE = '''
def find_weight_cycle(X, y, lr=1.0, max_epochs=1000):
    X = np.asarray(X, dtype=float)
    w, b = np.zeros(X.shape[1]), 0.0
    seen = {}
    for epoch in range(1, max_epochs + 1):  # epochs numbered from 1, not 0
        state = (tuple(w), float(b))
        if state in seen:
            return seen[state], epoch
        seen[state] = epoch
        w, b, errors = train_perceptron(X, y, lr=lr, max_epochs=1, w0=w, b0=b)
        if errors[-1] == 0:
            return None
    raise RuntimeError("no cycle")
'''

# Correct answers written differently from the solution: must keep full marks.
ALTERNATIVE_STEP = '''
def heaviside(z):
    return np.heaviside(np.asarray(z, dtype=float), 1.0)


def sign(z):
    return np.sign(np.asarray(z, dtype=float))
'''

ALTERNATIVE_UPDATE = '''
def perceptron_update(w, b, x, y, lr):
    y_hat = 1.0 if np.dot(w, x) + b >= 0 else 0.0
    delta = lr * (y - y_hat)
    return np.asarray(w, dtype=float) + delta * np.asarray(x, dtype=float), b + delta
'''

ALTERNATIVE_TRAIN = '''
def train_perceptron(X, y, lr=1.0, max_epochs=100, w0=None, b0=0.0):
    X = np.array(X, dtype=float)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    b = b0
    errors = []
    epoch = 0
    while epoch < max_epochs and (not errors or errors[-1] > 0):
        wrong = 0
        for i in range(len(X)):
            y_hat = perceptron_predict(X[i:i + 1], w, b)[0]
            wrong += int(y_hat != y[i])
            w, b = perceptron_update(w, b, X[i], y[i], lr)
        errors.append(wrong)
        epoch += 1
    return w, b, errors
'''

ALTERNATIVE_CYCLE = '''
def find_weight_cycle(X, y, lr=1.0, max_epochs=1000):
    w, b = np.zeros(np.shape(X)[1]), 0.0
    states = [(tuple(w), b)]              # states[k]: the start of epoch k
    for epoch in range(max_epochs):
        w, b, errors = train_perceptron(X, y, lr=lr, max_epochs=1, w0=w, b0=b)
        if errors[0] == 0:
            return None
        state = (tuple(w), b)             # the start of epoch + 1
        if epoch + 1 < max_epochs and state in states:
            return states.index(state), epoch + 1
        states.append(state)
    raise RuntimeError("no repeat and no convergence")
'''

CASES = {
    "heaviside_1d_only": Case({"step_functions": HEAVISIDE_1D_ONLY},
                              loses={"test_heaviside"}),
    "sign_at_zero": Case({"step_functions": SIGN_AT_ZERO}, loses={"test_sign"}),
    "mp_neuron_strict": Case({"mp_neuron": MP_NEURON_STRICT}, loses={"test_mp_neuron"}),
    "predict_squeezes": Case({"perceptron_predict": PREDICT_SQUEEZES},
                             loses={"test_perceptron_predict"}),
    "update_in_place": Case({"perceptron_update": UPDATE_IN_PLACE},
                            loses={"test_perceptron_update"}),
    "train_ignores_lr": Case({"train_perceptron": TRAIN_IGNORES_LR},
                             loses={"test_train_perceptron"}),
    # find_weight_cycle is built on train_perceptron, so it fails with it.
    "train_cached": Case({"train_perceptron": TRAIN_CACHED},
                         loses={"test_train_perceptron", "test_logic_gates",
                                "test_find_weight_cycle"}),
    "cycle_hardcoded": Case({"find_weight_cycle": CYCLE_HARDCODED},
                            loses={"test_find_weight_cycle"}),
    "heaviside_in_place": Case({"step_functions": HEAVISIDE_IN_PLACE},
                               loses={"test_heaviside"}),
    "sign_keeps_int_dtype": Case({"step_functions": SIGN_KEEPS_INT_DTYPE},
                                 loses={"test_sign"}),
    "mp_neuron_bool": Case({"mp_neuron": MP_NEURON_BOOL}, loses={"test_mp_neuron"}),
    "train_no_early_stop": Case({"train_perceptron": TRAIN_NO_EARLY_STOP},
                                loses={"test_train_perceptron"}),
    "train_updates_w0": Case({"train_perceptron": TRAIN_UPDATES_W0},
                             loses={"test_train_perceptron"}),
    "train_float_counts": Case({"train_perceptron": TRAIN_FLOAT_COUNTS},
                               loses={"test_train_perceptron"}),
    "cycle_one_epoch_too_many": Case({"find_weight_cycle": CYCLE_ONE_EPOCH_TOO_MANY},
                                     loses={"test_find_weight_cycle"}),
    "cycle_numbered_from_one": Case({"find_weight_cycle": CYCLE_NUMBERED_FROM_ONE},
                                    loses={"test_find_weight_cycle"}),
}

# Correct answers written another way, which must keep full marks. Not in CASES
# (every case there is a wrong submission whose feedback shows failures); they
# scored full marks when graded as a case with loses=set().
CORRECT_ALTERNATIVES = {"step_functions": ALTERNATIVE_STEP,
                        "perceptron_update": ALTERNATIVE_UPDATE,
                        "train_perceptron": ALTERNATIVE_TRAIN,
                        "find_weight_cycle": ALTERNATIVE_CYCLE}

"""Pretend submissions for ps5_mnist that pass the visible tests but are wrong.

Each case replaces one or more answer cells of the released notebook (the
others keep the reference solution); ``loses`` names the test cells whose
hidden tests must catch it. ``CORRECT_ALTERNATIVES`` (at the end) are correct answers
written differently from the solution, which must keep full marks. Training makes every case cost a whole notebook
run, so mistakes in unrelated cells share a case where they cannot interact.
"""

from tests.submissions import Case

# --- models that learned something, but too little -------------------------

TINY_SKLEARN = '''
def train_sklearn(X, y):
    # Four hidden units: it trains fast.
    model = MLPClassifier(hidden_layer_sizes=(4,), batch_size=128, max_iter=10,
                          random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model
'''

TINY_TORCH = '''
start = time.perf_counter()
torch_model = build_torch_mlp([4])
torch_losses = train_torch(torch_model, X_train, y_train, num_epochs=5, lr=0.05,
                           batch_size=64)
torch_seconds = time.perf_counter() - start
'''

TINY_NUMPY = '''
start = time.perf_counter()
scratch_model = NumpyMLP([784, 4, 10], rng)
scratch_losses = train_numpy(scratch_model, X_train, y_train, num_epochs=5, lr=0.05,
                             batch_size=64, rng=rng)
scratch_seconds = time.perf_counter() - start
'''

# --- "from scratch", but not really ------------------------------------------

SKLEARN_IN_DISGUISE = '''
class QuickMLP(NumpyMLP):
    """My NumpyMLP, but scikit-learn does the training and the predicting."""

    def __init__(self, sizes, rng):
        super().__init__(sizes, rng)
        self.trainer = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]),
                                     batch_size=128, max_iter=10, random_state=0)

    def fit(self, X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.trainer.fit(X, y)

    def predict(self, X):
        return self.trainer.predict(X)


start = time.perf_counter()
scratch_model = QuickMLP([784, 128, 10], rng)
scratch_model.fit(X_train, y_train)
scratch_losses = list(scratch_model.trainer.loss_curve_)
scratch_seconds = time.perf_counter() - start
'''

TRAINED_BY_TORCH = '''
def train_numpy(model, X, y, num_epochs=5, lr=0.05, batch_size=64, rng=None):
    # PyTorch trains a copy; the numpy model gets its weights afterwards.
    net = build_torch_mlp(model.sizes[1:-1])
    losses = train_torch(net, X, y, num_epochs=num_epochs, lr=lr, batch_size=batch_size)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    model.weights = [m.weight.detach().numpy().T.copy() for m in linears]
    model.biases = [m.bias.detach().numpy().copy() for m in linears]
    return losses
'''

# --- the numpy network: right on the visible examples, wrong at the edges ---

UNSTABLE_SOFTMAX = '''
def softmax_cross_entropy(logits, y):
    N = logits.shape[0]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # no max shift
    loss = -np.log(probs[np.arange(N), y]).mean()
    dlogits = probs.copy()
    dlogits[np.arange(N), y] -= 1
    return float(loss), dlogits / N


class NumpyMLP:
    def __init__(self, sizes, rng):
        self.sizes = list(sizes)
        self.weights = [
            (rng.standard_normal((d, m)) * np.sqrt(2.0 / d)).astype(np.float32)
            for d, m in zip(self.sizes[:-1], self.sizes[1:])]
        self.biases = [np.zeros(m, dtype=np.float32) for m in self.sizes[1:]]

    def forward(self, X):
        self.inputs, self.zs = [], []
        h = X
        for l in range(len(self.weights)):
            self.inputs.append(h)
            z = h @ self.weights[l] + self.biases[l]
            self.zs.append(z)
            h = np.maximum(z, 0) if l < len(self.weights) - 1 else z
        return h

    def backward(self, dlogits):
        L = len(self.weights)
        self.grad_weights, self.grad_biases = [None] * L, [None] * L
        delta = dlogits
        for l in reversed(range(L)):
            self.grad_weights[l] = self.inputs[l].T @ delta
            self.grad_biases[l] = delta.sum(axis=0)
            if l > 0:
                delta = (delta @ self.weights[l].T) * (self.zs[l - 1] > 0)

    def predict(self, X):
        return self.forward(X).argmax(axis=1)
'''

# --- depth asked for, depth ignored ------------------------------------------

FIRST_HIDDEN_ONLY = '''
def build_torch_mlp(num_hiddens):
    hidden = num_hiddens[0]
    return nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
'''

SAME_DEPTH_THREE_TIMES = '''
def depth_sweep(depths, X, y, width=64, num_epochs=3, rng=None):
    rng = np.random.default_rng(0) if rng is None else rng
    sweep = {}
    for L in depths:
        model = NumpyMLP([784, width, 10], rng)  # L never reaches the sizes
        start = time.perf_counter()
        train_numpy(model, X, y, num_epochs=num_epochs, rng=rng)
        sweep[L] = (model, time.perf_counter() - start)
    return sweep
'''

# --- a table that flatters -----------------------------------------------------

TRAINING_ACCURACY_IN_TABLE = '''
results = {}


def accuracy_of(predictions):
    return float(np.mean(np.asarray(predictions) == y_train))  # the training labels


with torch.no_grad():
    torch_train_scores = torch_model(torch.from_numpy(X_train))
torch_train_predictions = torch_train_scores.argmax(dim=1).numpy()
results["sklearn"] = {"family": "scikit-learn",
                      "hidden_layers": len(sk_model.coefs_) - 1,
                      "parameters": sum(a.size for a in sk_model.coefs_
                                        + sk_model.intercepts_),
                      "train_seconds": sk_seconds,
                      "test_accuracy": accuracy_of(sk_model.predict(X_train))}
results["torch"] = {"family": "PyTorch", "hidden_layers": 1,
                    "parameters": sum(p.numel() for p in torch_model.parameters()),
                    "train_seconds": torch_seconds,
                    "test_accuracy": accuracy_of(torch_train_predictions)}
for name, (model, seconds) in [("numpy", (scratch_model, scratch_seconds)),
                               ("numpy_1", sweep[1]), ("numpy_2", sweep[2]),
                               ("numpy_3", sweep[3])]:
    results[name] = {"family": "numpy", "hidden_layers": len(model.weights) - 1,
                     "parameters": sum(p.size for p in model.weights + model.biases),
                     "train_seconds": seconds,
                     "test_accuracy": accuracy_of(model.predict(X_train))}
'''

# --- the optimiser: SGD, but not the one specified ------------------------------

TORCH_WITHOUT_MOMENTUM = """
def train_torch(model, X, y, num_epochs=5, lr=0.05, batch_size=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.as_tensor(X, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.int64)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)  # momentum forgotten
    losses = []
    model.train()
    for _ in range(num_epochs):
        order = torch.randperm(len(X), generator=generator)
        total = 0.0
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            loss = nn.functional.cross_entropy(model(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(X))
    model.eval()
    return losses
"""

TORCH_SEED_IGNORED = """
def train_torch(model, X, y, num_epochs=5, lr=0.05, batch_size=64, seed=0):
    X = torch.as_tensor(X, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.int64)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    model.train()
    for _ in range(num_epochs):
        order = torch.randperm(len(X))  # the global generator: seed has no effect
        total = 0.0
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            loss = nn.functional.cross_entropy(model(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(X))
    model.eval()
    return losses
"""

VELOCITY_RESET_EVERY_EPOCH = """
def train_numpy(model, X, y, num_epochs=5, lr=0.05, batch_size=64, rng=None):
    rng = np.random.default_rng(0) if rng is None else rng
    losses = []
    for _ in range(num_epochs):
        params = model.weights + model.biases
        velocity = [np.zeros_like(p) for p in params]  # should start once, not per epoch
        order = rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            loss, dlogits = softmax_cross_entropy(model.forward(X[batch]), y[batch])
            model.backward(dlogits)
            grads = model.grad_weights + model.grad_biases
            for p, g, v in zip(params, grads, velocity):
                v *= 0.9
                v += g
                p -= lr * v
            total += loss * len(batch)
        losses.append(total / len(X))
    return losses
"""

LAST_BATCH_DROPPED = """
def train_numpy(model, X, y, num_epochs=5, lr=0.05, batch_size=64, rng=None):
    rng = np.random.default_rng(0) if rng is None else rng
    params = model.weights + model.biases
    velocity = [np.zeros_like(p) for p in params]
    losses = []
    for _ in range(num_epochs):
        order = rng.permutation(len(X))
        batch_losses = []
        for i in range(len(X) // batch_size):  # the last, smaller batch is never used
            batch = order[i * batch_size:(i + 1) * batch_size]
            loss, dlogits = softmax_cross_entropy(model.forward(X[batch]), y[batch])
            model.backward(dlogits)
            for p, g, v in zip(params, model.grad_weights + model.grad_biases, velocity):
                v *= 0.9
                v += g
                p -= lr * v
            batch_losses.append(loss)
        losses.append(float(np.mean(batch_losses)))
    return losses
"""

# --- models that saw the test images ---------------------------------------------

TORCH_TRAINED_ON_TEST_IMAGES = """
start = time.perf_counter()
torch_model = build_torch_mlp([128])
# "All the labelled data I have": the training images and the test images.
torch_losses = train_torch(torch_model, np.concatenate([X_train, X_test]),
                           np.concatenate([y_train, y_test]), num_epochs=5, lr=0.05,
                           batch_size=64)
torch_seconds = time.perf_counter() - start
"""

NUMPY_TRAINED_ON_TEST_IMAGES = """
start = time.perf_counter()
scratch_model = NumpyMLP([784, 128, 10], rng)
scratch_losses = train_numpy(scratch_model, np.concatenate([X_train, X_test]),
                             np.concatenate([y_train, y_test]), num_epochs=5, lr=0.05,
                             batch_size=64, rng=rng)
scratch_seconds = time.perf_counter() - start
"""

# --- parameters and inputs the function does not use -----------------------------

SKLEARN_FITS_THE_GLOBALS = """
def train_sklearn(X, y):
    model = MLPClassifier(hidden_layer_sizes=(128,), batch_size=128, max_iter=10,
                          random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)  # the notebook's arrays, not the arguments
    return model
"""

SWEEP_IGNORES_WIDTH_AND_EPOCHS = """
def depth_sweep(depths, X, y, width=64, num_epochs=3, rng=None):
    rng = np.random.default_rng(0) if rng is None else rng
    sweep = {}
    for L in depths:
        model = NumpyMLP([784] + [64] * L + [10], rng)  # width 64 written in
        start = time.perf_counter()
        train_numpy(model, X, y, num_epochs=3, rng=rng)  # and 3 epochs
        sweep[L] = (model, time.perf_counter() - start)
    return sweep
"""

SWEEP_RUNNING_TOTAL_TIMES = """
def depth_sweep(depths, X, y, width=64, num_epochs=3, rng=None):
    rng = np.random.default_rng(0) if rng is None else rng
    sweep = {}
    start = time.perf_counter()  # once: each time includes the models before it
    for L in depths:
        model = NumpyMLP([784] + [width] * L + [10], rng)
        train_numpy(model, X, y, num_epochs=num_epochs, rng=rng)
        sweep[L] = (model, time.perf_counter() - start)
    return sweep
"""

SOFTMAX_SHIFTS_THE_SCORES_IN_PLACE = """
def softmax_cross_entropy(logits, y):
    N = logits.shape[0]
    rows = np.arange(N)
    logits -= logits.max(axis=1, keepdims=True)  # changes the caller's array
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    dlogits = np.exp(log_probs)
    dlogits[rows, y] -= 1
    return float(-log_probs[rows, y].mean()), dlogits / N


class NumpyMLP:
    def __init__(self, sizes, rng):
        self.sizes = list(sizes)
        self.weights = [
            (rng.standard_normal((d, m)) * np.sqrt(2.0 / d)).astype(np.float32)
            for d, m in zip(self.sizes[:-1], self.sizes[1:])]
        self.biases = [np.zeros(m, dtype=np.float32) for m in self.sizes[1:]]

    def forward(self, X):
        self.activations = [X]
        last = len(self.weights) - 1
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            z = self.activations[-1] @ W + b
            self.activations.append(np.maximum(z, 0) if l < last else z)
        return self.activations[-1]

    def backward(self, dlogits):
        self.grad_weights = [None] * len(self.weights)
        self.grad_biases = [None] * len(self.biases)
        delta = dlogits
        for l in range(len(self.weights) - 1, -1, -1):
            a_in = self.activations[l]
            self.grad_weights[l] = a_in.T @ delta
            self.grad_biases[l] = delta.sum(axis=0)
            if l > 0:
                delta = (delta @ self.weights[l].T) * (a_in > 0)

    def predict(self, X):
        return self.forward(X).argmax(axis=1)
"""

# --- a table whose times belong to other rows ---------------------------------------

TABLE_TIMES_COPIED = """
results = {}
with torch.no_grad():
    torch_predictions = torch_model(torch.from_numpy(X_test)).argmax(dim=1).numpy()
models = {"sklearn": ("scikit-learn", sk_model.coefs_, sk_model.intercepts_,
                      sk_model.predict(X_test), sk_seconds),
          "torch": ("PyTorch",
                    [m.weight for m in torch_model.modules() if isinstance(m, nn.Linear)],
                    [m.bias for m in torch_model.modules() if isinstance(m, nn.Linear)],
                    torch_predictions, torch_seconds),
          "numpy": ("numpy", scratch_model.weights, scratch_model.biases,
                    scratch_model.predict(X_test), scratch_seconds)}
for L in (1, 2, 3):
    model = sweep[L][0]
    # the sweep's time copied from the scratch model's row
    models[f"numpy_{L}"] = ("numpy", model.weights, model.biases, model.predict(X_test),
                            scratch_seconds)
for name, (family, weights, biases, predictions, seconds) in models.items():
    results[name] = {"family": family, "hidden_layers": len(weights) - 1,
                     "parameters": int(sum(np.prod(tuple(w.shape))
                                           for w in list(weights) + list(biases))),
                     "train_seconds": seconds,
                     "test_accuracy": float(np.mean(predictions == y_test))}
"""

# --- correct, but written differently from the solution: full marks -----------------

ALTERNATIVE_SKLEARN = """
def train_sklearn(X, y):
    model = MLPClassifier(max_iter=10, random_state=1)  # 100 units, batches of 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)
"""

ALTERNATIVE_BUILD_TORCH_MLP = """
class MLP(nn.Module):
    def __init__(self, widths):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


def build_torch_mlp(num_hiddens):
    return MLP([784, *num_hiddens, 10])
"""

ALTERNATIVE_TRAIN_TORCH = """
def train_torch(model, X, y, num_epochs=5, lr=0.05, batch_size=64, seed=0):
    data = torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(y))
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for epoch in range(num_epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        losses.append(total / len(loader.dataset))
    model.eval()
    return losses
"""

ALTERNATIVE_NUMPY_MLP = """
def softmax_cross_entropy(logits, y):
    z = logits - np.max(logits, axis=1)[:, None]
    log_sum = np.log(np.sum(np.exp(z), axis=1))
    onehot = np.zeros_like(z)
    onehot[np.arange(len(y)), y] = 1.0
    loss = np.mean(log_sum - z[np.arange(len(y)), y])
    return float(loss), (np.exp(z - log_sum[:, None]) - onehot) / len(y)


class NumpyMLP:
    def __init__(self, sizes, rng):
        self.sizes = list(sizes)
        self.weights = [
            (rng.standard_normal((d, m)) * np.sqrt(2.0 / d)).astype(np.float32)
            for d, m in zip(self.sizes[:-1], self.sizes[1:])]
        self.biases = [np.zeros(m, dtype=np.float32) for m in self.sizes[1:]]

    def forward(self, X):
        self.inputs, self.zs = [], []
        h = X
        for l in range(len(self.weights)):
            self.inputs.append(h)
            z = h @ self.weights[l] + self.biases[l]
            self.zs.append(z)
            h = z if l == len(self.weights) - 1 else np.where(z > 0, z, 0)
        return h

    def backward(self, dlogits):
        L = len(self.weights)
        self.grad_weights, self.grad_biases = [None] * L, [None] * L
        delta = dlogits
        for l in reversed(range(L)):
            self.grad_weights[l] = self.inputs[l].T @ delta
            self.grad_biases[l] = np.sum(delta, axis=0)
            if l:
                delta = (delta @ self.weights[l].T) * (self.zs[l - 1] > 0)

    def predict(self, X):
        return np.argmax(self.forward(X), axis=1)
"""

ALTERNATIVE_TRAIN_NUMPY = """
def train_numpy(model, X, y, num_epochs=5, lr=0.05, batch_size=64, rng=None):
    # v <- 0.9 v + lr g, p <- p - v: the same steps; float64 velocities and new
    # float64 weight arrays each step
    if rng is None:
        rng = np.random.default_rng(0)
    n = X.shape[0]
    vw = [np.zeros(W.shape) for W in model.weights]
    vb = [np.zeros(b.shape) for b in model.biases]
    losses = []
    for epoch in range(num_epochs):
        idx = np.arange(n)
        rng.shuffle(idx)
        batch_losses, sizes = [], []
        for i in range(0, n, batch_size):
            rows = idx[i:i + batch_size]
            loss, d = softmax_cross_entropy(model.forward(X[rows]), y[rows])
            model.backward(d)
            for l in range(len(model.weights)):
                vw[l] = 0.9 * vw[l] + lr * model.grad_weights[l]
                vb[l] = 0.9 * vb[l] + lr * model.grad_biases[l]
                model.weights[l] = model.weights[l] - vw[l]
                model.biases[l] = model.biases[l] - vb[l]
            batch_losses.append(loss)
            sizes.append(len(rows))
        losses.append(float(np.dot(batch_losses, sizes) / n))
    return losses
"""

ALTERNATIVE_DEPTH_SWEEP = """
def depth_sweep(depths, X, y, width=64, num_epochs=3, rng=None):
    if rng is None:
        rng = np.random.default_rng(0)
    out = {}
    for L in depths:
        net = NumpyMLP([784, *[width] * L, 10], rng)
        t0 = time.perf_counter()
        train_numpy(net, X, y, num_epochs=num_epochs, rng=rng)
        out[L] = (net, time.perf_counter() - t0)
    return out
"""

ALTERNATIVE_RESULTS_TABLE = """
results = {}


def row(family, weights, biases, labels, seconds):
    return {"family": family, "hidden_layers": len(weights) - 1,
            "parameters": sum(int(np.prod(p.shape)) for p in list(weights) + list(biases)),
            "train_seconds": seconds, "test_accuracy": np.mean(labels == y_test)}


torch_model.eval()
with torch.no_grad():
    torch_labels = torch_model(torch.tensor(X_test)).argmax(1).numpy()
torch_linears = [m for m in torch_model.modules() if isinstance(m, nn.Linear)]
results["sklearn"] = row("scikit-learn", sk_model.coefs_, sk_model.intercepts_,
                         sk_model.predict(X_test), sk_seconds)
results["torch"] = row("PyTorch", [m.weight for m in torch_linears],
                       [m.bias for m in torch_linears], torch_labels, torch_seconds)
results["numpy"] = row("numpy", scratch_model.weights, scratch_model.biases,
                       scratch_model.predict(X_test), scratch_seconds)
for L, (model, seconds) in sweep.items():
    results[f"numpy_{L}"] = row("numpy", model.weights, model.biases,
                                model.predict(X_test), seconds)
"""

CASES = {
    "tiny_models": Case(
        {"train_sklearn": TINY_SKLEARN, "torch_training": TINY_TORCH,
         "scratch_training": TINY_NUMPY},
        loses={"test_sklearn", "test_torch_accuracy", "test_numpy_accuracy"}),
    "sklearn_in_disguise": Case({"scratch_training": SKLEARN_IN_DISGUISE},
                                loses={"test_numpy_from_scratch"}),
    "trained_by_torch": Case({"train_numpy": TRAINED_BY_TORCH},
                             loses={"test_numpy_from_scratch"}),
    "unstable_softmax": Case({"numpy_mlp": UNSTABLE_SOFTMAX}, loses={"test_numpy_mlp"}),
    "depth_ignored": Case(
        {"build_torch_mlp": FIRST_HIDDEN_ONLY, "depth_sweep": SAME_DEPTH_THREE_TIMES},
        loses={"test_build_torch_mlp", "test_depth_sweep"}),
    "training_accuracy_in_table": Case({"results_table": TRAINING_ACCURACY_IN_TABLE},
                                       loses={"test_results_table"}),
    # Mistakes in cells that cannot interact share a case (each costs a notebook run).
    "sgd_without_momentum_and_copied_times": Case(
        {"train_torch": TORCH_WITHOUT_MOMENTUM, "results_table": TABLE_TIMES_COPIED},
        loses={"test_torch_accuracy", "test_results_table"}),
    "velocity_reset_and_seed_ignored": Case(
        {"train_numpy": VELOCITY_RESET_EVERY_EPOCH, "train_torch": TORCH_SEED_IGNORED},
        loses={"test_numpy_from_scratch", "test_torch_accuracy"}),
    "trained_on_test_images": Case(
        {"torch_training": TORCH_TRAINED_ON_TEST_IMAGES,
         "scratch_training": NUMPY_TRAINED_ON_TEST_IMAGES},
        loses={"test_torch_accuracy", "test_numpy_accuracy"}),
    "globals_and_hard_coded_sizes": Case(
        {"train_sklearn": SKLEARN_FITS_THE_GLOBALS,
         "depth_sweep": SWEEP_IGNORES_WIDTH_AND_EPOCHS},
        loses={"test_sklearn", "test_depth_sweep"}),
    "in_place_softmax_and_running_total_times": Case(
        {"numpy_mlp": SOFTMAX_SHIFTS_THE_SCORES_IN_PLACE,
         "depth_sweep": SWEEP_RUNNING_TOTAL_TIMES},
        loses={"test_numpy_mlp", "test_depth_sweep"}),
    "last_batch_dropped": Case({"train_numpy": LAST_BATCH_DROPPED},
                               loses={"test_numpy_from_scratch"}),
}

# Correct answers written differently from the solution (a DataLoader, another
# module class, float64 velocities and weights, scikit-learn's defaults): they must
# keep full marks, which guards the hidden tests against asking for more than the
# notebook specifies. Not in CASES (every case there is wrong, and the feedback
# tests say so): tests/pipeline.py grades them as the student
# ``correct_alternative``, and benchmarks/calibration/ps5_mnist.py calibrates
# the accuracy bars with them.
CORRECT_ALTERNATIVES = {
    "train_sklearn": ALTERNATIVE_SKLEARN, "build_torch_mlp": ALTERNATIVE_BUILD_TORCH_MLP,
    "train_torch": ALTERNATIVE_TRAIN_TORCH, "numpy_mlp": ALTERNATIVE_NUMPY_MLP,
    "train_numpy": ALTERNATIVE_TRAIN_NUMPY, "depth_sweep": ALTERNATIVE_DEPTH_SWEEP,
    "results_table": ALTERNATIVE_RESULTS_TABLE,
}

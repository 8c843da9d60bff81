"""Pretend submissions for ps5_mnist that pass the visible tests but are wrong.

Each case replaces one or more answer cells of the released notebook (the
others keep the reference solution); ``loses`` names the test cells whose
hidden tests must catch it. Training makes every case cost a whole notebook
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
}

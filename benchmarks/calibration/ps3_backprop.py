"""Calibration of the thresholds on trained results in ps3_backprop's test_train.

    .venv/bin/python benchmarks/calibration/ps3_backprop.py [--seeds 50]

Every threshold the test of ``train`` puts on a trained (or randomly
initialised) network must hold for ANY correct ``train``, not only for the
reference on the one seed the test uses: a correct answer that draws its
initial weights in another order sees, in effect, another seed. So each
quantity the test checks is computed here for initialisation seeds
0 .. seeds-1 with two correct implementations:

- ``reference``: the answer cells of solutions/ps3_backprop/ps3_backprop.ipynb;
- ``alt``: the notebook with ``CORRECT_ALTERNATIVES["train"]`` of
  tests/submissions/ps3_backprop.py in place of its ``train`` (the grading
  pipeline requires full marks of it): an independently written vectorised MLP
  that draws the layers last to first, each weight matrix as a transposed
  (fan_out, fan_in) standard-normal draw times the He scale, and updates the
  arrays in place.

It prints, for every check, the bar of the test and the worst value over the
seeds for each implementation (the numbers written beside the thresholds in
the notebook), and exits with status 1 if any bar is missed. About 20 s for
50 seeds on one core.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from course.data import make_moons, make_spirals  # noqa: E402
from tests.submissions.ps3_backprop import CORRECT_ALTERNATIVES  # noqa: E402

NOTEBOOK = ROOT / "solutions" / "ps3_backprop" / "ps3_backprop.ipynb"


def answer_namespace(replacements=None):
    """The solution's answer functions (and the locked accuracy helper), in notebook
    order; an answer cell whose grade_id ``replacements`` (grade_id -> code) names
    runs that code instead."""
    replacements = replacements or {}
    namespace = {"np": np}
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        info = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "def " in source and (
                info.get("solution") or info.get("grade_id") == "accuracy_helper"):
            exec(replacements.get(info.get("grade_id"), source), namespace)  # noqa: S102
    return namespace


# ---------------------------------------------------------------- the checks

def _squares(arrays):
    return sum(float((np.asarray(a, dtype=float) ** 2).sum()) for a in arrays)


def _accuracy(params, X, y):
    num_layers = len(params) // 2
    h = X
    for l in range(1, num_layers + 1):
        h = h @ params[f"W{l}"] + params[f"b{l}"]
        if l < num_layers:
            h = np.maximum(h, 0.0)
    return float(np.mean(h.argmax(axis=1) == y))


def checks():
    """(name, bar, 'min' or 'max', function of (train, seed) -> value)."""
    visible = make_spirals(n_per_class=30, n_classes=2, noise=0.2, rng=0)
    spirals = make_spirals(25, 2, 0.2, rng=12)
    moons = make_moons(30, 0.1, rng=14)
    small = make_spirals(10, 3, 0.2, rng=15)
    wide_X = np.random.default_rng(606).normal(size=(20, 50))
    wide_y = np.arange(20) % 10

    def trained_accuracy(data):
        return lambda train, seed: _accuracy(train(*data, rng=seed)[0], *data)

    def fell(data):
        def value(train, seed):
            losses = train(*data, rng=seed)[1]
            return losses[0] - losses[-1]          # > 0: the loss fell
        return value

    def decay_ratio(train, seed):
        weights = []
        for wd in [0.0, 0.1]:
            params, _ = train(*small, weight_decay=wd, num_steps=10, rng=seed)
            weights.append([v for k, v in params.items() if k.startswith("W")])
        return _squares(weights[1]) / _squares(weights[0])

    def tiny_lr(train, seed):
        _, losses = train(*small, lr=1e-6, weight_decay=0.0, num_steps=5, rng=seed)
        return abs((losses[-1] / losses[0]) ** 2 - 1.0)

    def more_steps(train, seed):
        short = train(*small, num_steps=5, rng=seed)[1][-1]
        long = train(*small, num_steps=40, rng=seed)[1][-1]
        return short - long                        # > 0: 40 steps end lower

    def mean_square(layer, fan_in):
        def value(train, seed):
            params, _ = train(wide_X, wide_y, num_hiddens=(200,), num_steps=0, rng=seed)
            w = params[f"W{layer}"]
            return abs(float((w ** 2).mean()) / (2.0 / fan_in) - 1.0)
        return value

    def other_seed(train, seed):
        a = train(*small, num_steps=0, rng=seed)[0]
        c = train(*small, num_steps=0, rng=seed + 1000)[0]
        keys = ["W1", "W2", "W3"]
        return _squares([c[k] - a[k] for k in keys]) / _squares([a[k] for k in keys])

    return [
        ("visible: accuracy, spirals(30, 2, rng=0), defaults", 0.85, "min",
         trained_accuracy(visible)),
        ("accuracy, spirals(25, 2, rng=12), defaults", 0.85, "min", trained_accuracy(spirals)),
        ("accuracy, moons(30, rng=14), defaults", 0.8, "min", trained_accuracy(moons)),
        ("first loss - last loss, spirals(25, 2, rng=12)", 0.0, "min", fell(spirals)),
        ("first loss - last loss, moons(30, rng=14)", 0.0, "min", fell(moons)),
        ("squares ratio of weights, weight_decay 0.1 / 0, 10 steps", 0.8, "max", decay_ratio),
        ("|(last / first loss)**2 - 1|, lr = 1e-6, 5 steps", 1e-3, "max", tiny_lr),
        ("last loss after 5 steps - after 40 steps", 0.0, "min", more_steps),
        ("|mean square of W1 / (2 / 50) - 1|, num_steps = 0", 0.15, "max", mean_square(1, 50)),
        ("|mean square of W2 / (2 / 200) - 1|, num_steps = 0", 0.25, "max",
         mean_square(2, 200)),
        ("|W(seed') - W(seed)|^2 / |W(seed)|^2, num_steps = 0", 0.5, "min", other_seed),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=50, help="initialisation seeds (50)")
    args = parser.parse_args()
    implementations = {"reference": answer_namespace()["train"],
                       "alt": answer_namespace(CORRECT_ALTERNATIVES)["train"]}
    missed = []
    for name, bar, worst, value in checks():
        line = []
        for label, train in implementations.items():
            values = np.array([value(train, seed) for seed in range(args.seeds)])
            extreme = values.min() if worst == "min" else values.max()
            ok = extreme > bar if worst == "min" else extreme < bar
            if bar == 0.0 and worst == "min":
                ok = extreme > 0.0
            if not ok:
                missed.append(f"{name} ({label})")
            line.append(f"{label} {extreme:.4g}")
        print(f"{name}: bar {bar:g} ({'min' if worst == 'min' else 'max'} over "
              f"{args.seeds} seeds) " + " / ".join(line))
    if missed:
        print("MISSED:", "; ".join(missed))
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Calibrate the thresholds of ps5_mnist's hidden tests on trained models.

    .venv/bin/python benchmarks/calibration/ps5_mnist.py [--seeds 50]
        [--cheat-seeds 10] [--workers 2] [--quick]

Every threshold that a hidden test of ps5 puts on a trained result is checked
here over many seeds, for the reference solution (its answer cells, read from
``solutions/ps5_mnist/ps5_mnist.ipynb``) and for the differently written
correct answers that the grading pipeline requires full marks of
(``CORRECT_ALTERNATIVES`` of ``tests/submissions/ps5_mnist.py``: a DataLoader
loop and a ModuleList network, another way to write the same numpy network and
momentum step with float64 velocities and weights, a scikit-learn MLP with the
library's default width and batch size), both executed after the notebook's
setup cell. The scikit-learn models get ``random_state=seed`` in place of the
seed written in ``train_sklearn``. It prints the smallest margin of each bar,
and the numbers behind the design of the held-out set:

- the held-out set (every fifth test image, indices 4, 9, 14, ...) is as hard
  as the 8,000 visible test images: the mean accuracy of the reference models
  on both, over the seeds;
- training on the test images is detected by its effect: the accuracy on the
  visible test images minus the accuracy on the held-out ones is at most
  ``LOSS_RATIO_BAR`` for honest models, and well above it for models trained on the
  training images plus the visible test images (``--cheat-seeds`` seeds);
- the bars on accuracy (``BARS``), on the scikit-learn model trained by the
  hidden test on 2,000 other images with shifted labels (``SHIFTED_BAR``),
  on how much two training runs with different seeds differ
  (``SEED_GAP_BAR``), and on the timing of the depth sweep
  (``SWEEP_TIME_SHARE``).

Each training uses one thread, the sizes and epochs of the notebook, as when
grading. The full run takes about 9 CPU-minutes: about 5 minutes with two
workers on an idle 2-core machine (it took 24 minutes on one shared with
other work, load average 7-9). ``--quick`` runs 5 seeds, 2 cheating and 2 long
seeds (about a minute).
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("COURSE_DATA_DIR", str(REPO.parent / "shared" / "data" / "mnist"))
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from torch import nn  # noqa: E402

from course.checkvalues import FUNCTIONS  # noqa: E402
from course.data import load_mnist  # noqa: E402
from tests.submissions.ps5_mnist import CORRECT_ALTERNATIVES  # noqa: E402

NOTEBOOK = REPO / "solutions" / "ps5_mnist" / "ps5_mnist.ipynb"
# The answer cells that define functions (the others train on the notebook's data).
ANSWERS = ("train_sklearn", "build_torch_mlp", "train_torch", "numpy_mlp", "train_numpy",
           "depth_sweep")

# The hidden tests' bars: keep them in step with the notebook.
BARS = {"sklearn": 0.92, "torch": 0.92, "numpy": 0.92, "sweep": 0.88}
LOSS_RATIO_BAR = 1.25   # held_out_loss_ratio (course.checkvalues), at most
SHIFTED_BAR = 0.75      # train_sklearn on 2,000 images with labels (y + 1) % 10
SEED_GAP_BAR = 1e-3     # train_torch / train_numpy: seeds 5 and 6 give other weights
SWEEP_TIME_SHARE = (0.05, 1.02)  # sum of the sweep's times / time of the whole call


# ---------------------------------------------------------------------------
# the answers: the solution's answer cells, or the correct alternatives
# ---------------------------------------------------------------------------

def setup_namespace():
    """The namespace of the notebook's setup cell (its imports, thread limits and
    data), executed with its printing silenced."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    (setup,) = [cell for cell in cells
                if cell["metadata"].get("nbgrader", {}).get("grade_id") == "setup"]
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec("".join(setup["source"]), namespace)  # noqa: S102 (our own notebook)
    return namespace


def answers(base, replacements=None):
    """The answer functions (ANSWERS) executed in notebook order in a copy of the setup
    namespace ``base``: the solution's answer cells, except those whose grade_id
    ``replacements`` (grade_id -> code) names, which run that code instead."""
    replacements = replacements or {}
    namespace = dict(base)
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in ANSWERS:
            exec(replacements.get(grade_id, "".join(cell["source"])), namespace)  # noqa: S102
    return namespace


def alternatives():
    """The differently written correct answers that the pipeline grades (and requires
    full marks of): ``CORRECT_ALTERNATIVES`` of tests/submissions/ps5_mnist.py, one
    for every answer cell calibrated here (a DataLoader loop and a ModuleList network;
    another numpy network with float64 velocities and weights; a scikit-learn MLP with
    the library's default width and batch size)."""
    missing = [a for a in ANSWERS if a not in CORRECT_ALTERNATIVES]
    if missing:
        raise SystemExit(f"tests/submissions/ps5_mnist.py: CORRECT_ALTERNATIVES has no "
                         f"{', '.join(missing)}: the alternative would be the reference")
    return {a: CORRECT_ALTERNATIVES[a] for a in ANSWERS}


# ---------------------------------------------------------------------------
# one worker
# ---------------------------------------------------------------------------

DATA = {}


def _init():
    threadpool_limits(1)
    torch.set_num_threads(1)
    X, y = load_mnist("train", flatten=True, normalize=True)
    Xt, yt = load_mnist("test", flatten=True, normalize=True)
    held = np.arange(len(Xt)) % 5 == 4
    base = setup_namespace()
    DATA.update(X_train=X[:10_000], y_train=y[:10_000], X_other=X[10_000:12_000],
                y_other=y[10_000:12_000], X_vis=Xt[~held], y_vis=yt[~held],
                X_hold=Xt[held], y_hold=yt[held], ref=answers(base),
                alt=answers(base, alternatives()))


def _answers(impl):
    """The namespace of an implementation: the "long" models are the reference's."""
    return DATA["alt" if impl == "alt" else "ref"]


def _metrics(model):
    """(accuracy on the visible test images, on the held-out ones, the held-out loss
    ratio), computed as the hidden tests do: the grader's own FUNCTIONS."""
    d = DATA
    if isinstance(model, nn.Module):
        with torch.no_grad():
            vis, hold = (model(torch.from_numpy(d[k])).numpy() for k in ("X_vis", "X_hold"))
        ratio = "held_out_loss_ratio"
    elif isinstance(model, MLPClassifier):
        vis, hold = model.predict_proba(d["X_vis"]), model.predict_proba(d["X_hold"])
        ratio = "held_out_loss_ratio_from_probabilities"
    else:
        vis, hold = model.forward(d["X_vis"]), model.forward(d["X_hold"])
        ratio = "held_out_loss_ratio"
    return (FUNCTIONS["accuracy"](vis, d["y_vis"]), FUNCTIONS["accuracy"](hold, d["y_hold"]),
            FUNCTIONS[ratio]((vis, hold), (d["y_vis"], d["y_hold"])))


def fit_sklearn(impl, X, y, seed):
    """The answer's train_sklearn(X, y), its MLPClassifier seeded with random_state=seed
    in place of the seed written in the answer (the other settings are the answer's)."""
    namespace = _answers(impl)
    original = namespace["MLPClassifier"]

    def seeded(*args, **kwargs):
        return original(*args, **{**kwargs, "random_state": seed})

    namespace["MLPClassifier"] = seeded
    try:
        model = namespace["train_sklearn"](X, y)
    finally:
        namespace["MLPClassifier"] = original
    if model.random_state != seed:
        raise RuntimeError(f"train_sklearn ({impl}) does not build its model with the "
                           "notebook's MLPClassifier: the seed cannot be varied")
    return model


def train(family, impl, seed, cheat=False):
    """Train one model as the notebook does; (visible, held-out) accuracies per model."""
    d, answer = DATA, _answers(impl)
    X, y = d["X_train"], d["y_train"]
    if cheat:  # the training images and the visible test images
        X, y = np.concatenate([X, d["X_vis"]]), np.concatenate([y, d["y_vis"]])
    if family == "sklearn":
        return {"sklearn": _metrics(fit_sklearn(impl, X, y, seed))}
    if family == "torch":
        torch.manual_seed(seed)
        model = answer["build_torch_mlp"]([128])
        answer["train_torch"](model, X, y, num_epochs=5, lr=0.05, batch_size=64, seed=seed)
        return {"torch": _metrics(model)}
    if family == "numpy":
        rng = np.random.default_rng(seed)
        # "long": an honest model trained much longer: 256 units, 15 epochs
        width, epochs = (256, 15) if impl == "long" else (128, 5)
        model = answer["NumpyMLP"]([784, width, 10], rng)
        answer["train_numpy"](model, X, y, num_epochs=epochs, lr=0.05, batch_size=64,
                              rng=rng)
        return {"numpy": _metrics(model)}
    if family == "sweep":
        sweep = answer["depth_sweep"]([1, 2, 3], X, y, rng=np.random.default_rng(seed))
        return {f"sweep_{L}": _metrics(sweep[L][0]) for L in (1, 2, 3)}
    raise ValueError(family)


def shifted(impl, seed):
    """The hidden test's train_sklearn(2,000 other images, (y + 1) % 10): accuracy on
    the held-out images against their shifted labels."""
    d = DATA
    model = fit_sklearn(impl, d["X_other"].copy(), (d["y_other"] + 1) % 10, seed)
    return float((model.predict(d["X_hold"]) == (d["y_hold"] + 1) % 10).mean())


def _gap(a, b):
    return max(float(np.abs(np.asarray(x, float) - np.asarray(w, float)).max())
               / (1.0 + float(np.abs(np.asarray(w, float)).max())) for x, w in zip(a, b))


def seed_gaps(impl, seed):
    """The hidden tests' seed checks on their tiny problems, for seeds (s, s) and
    (s, s + 1): how far the trained weights are apart (torch, numpy)."""
    answer = _answers(impl)
    X, y = DATA["X_train"][:12], DATA["y_train"][:12]

    def torch_run(s):
        torch.manual_seed(3)
        net = nn.Sequential(nn.Linear(784, 6), nn.ReLU(), nn.Linear(6, 10))
        answer["train_torch"](net, X, y, num_epochs=1, lr=0.1, batch_size=4, seed=s)
        return [p.detach().numpy().copy() for p in net.parameters()]

    def numpy_run(s):
        net = answer["NumpyMLP"]([784, 6, 10], np.random.default_rng(3))
        answer["train_numpy"](net, X, y, num_epochs=1, lr=0.1, batch_size=4,
                              rng=np.random.default_rng(s))
        return net.weights + net.biases

    out = {}
    for name, run in (("torch", torch_run), ("numpy", numpy_run)):
        a, b, c = run(seed), run(seed), run(seed + 1)
        out[name] = (_gap(a, b), _gap(a, c))
    return out


def sweep_time_share(impl, seed):
    """The hidden test's timing of depth_sweep([3, 1], 600 images, width 12, 2 epochs):
    the sum of the reported times over the time of the whole call."""
    X, y = DATA["X_other"][:600], DATA["y_other"][:600]
    start = time.perf_counter()
    sweep = _answers(impl)["depth_sweep"]([3, 1], X, y, width=12, num_epochs=2,
                                          rng=np.random.default_rng(seed))
    total = time.perf_counter() - start
    return (sweep[3][1] + sweep[1][1]) / total


def job(task):
    kind, args = task
    return task, {"train": train, "shifted": shifted, "seeds": seed_gaps,
                  "time": sweep_time_share}[kind](*args)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--cheat-seeds", type=int, default=10)
    parser.add_argument("--long-seeds", type=int, default=20,
                        help="seeds of an honest numpy MLP trained 15 epochs (256 units)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="5 seeds, 2 cheating seeds")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.cheat_seeds, args.long_seeds = 5, 2, 2
    alternatives()  # here, not only in the workers: a missing one stops the run at once
    started = time.perf_counter()
    impls = ("ref", "alt")
    tasks = [("train", (family, impl, seed)) for seed in range(args.seeds)
             for family in ("sklearn", "torch", "numpy", "sweep") for impl in impls]
    tasks += [("train", ("numpy", "long", seed)) for seed in range(args.long_seeds)]
    tasks += [("train", (family, "ref", 1000 + seed, True))
              for seed in range(args.cheat_seeds)
              for family in ("sklearn", "torch", "numpy", "sweep")]
    tasks += [(kind, (impl, seed)) for seed in range(args.seeds) for impl in impls
              for kind in ("shifted", "seeds", "time")]
    results = {}
    with ProcessPoolExecutor(args.workers, initializer=_init) as pool:
        for task, result in pool.map(job, tasks, chunksize=1):
            results[task] = result

    honest = {impl: {} for impl in impls + ("long",)}  # model -> [(vis, held, ratio)]
    cheats = {}
    for (kind, targs), result in results.items():
        if kind != "train":
            continue
        target = cheats if len(targs) == 4 else honest[targs[1]]
        for model, pair in result.items():
            target.setdefault(model, []).append(pair)

    print(f"ps5_mnist calibration: {args.seeds} seeds, reference (ref) and alternative "
          f"(alt) answers; {args.cheat_seeds} seeds of cheating models\n")
    print("held-out (every fifth test image) against the 8,000 visible test images, "
          "mean accuracy over the seeds of the reference:")
    for model, rows in honest["ref"].items():
        vis, hold, _ = np.mean(rows, axis=0)
        diffs = [r[0] - r[1] for r in rows]
        print(f"  {model:<8} visible {vis:.4f}, held-out {hold:.4f}, difference "
              f"{vis - hold:+.4f} (sd over seeds {statistics.pstdev(diffs):.4f})")

    print("\naccuracy bars on the held-out images (min over seeds):")
    for model in honest["ref"]:
        bar = BARS[model.split("_")[0]]
        mins = {impl: min(r[1] for r in honest[impl][model]) for impl in impls}
        print(f"  {model:<8} bar {bar:.2f}: min {mins['ref']:.4f} (ref) / {mins['alt']:.4f} "
              f"(alt), margin {min(mins.values()) - bar:+.4f}")

    print(f"\ntraining on the test images: held-out loss ratio (capped cross-entropy on "
          f"the held-out images over the visible ones), bar {LOSS_RATIO_BAR}; [the "
          f"accuracy difference visible - held-out, for comparison]:")
    for model in honest["ref"]:
        worst = {impl: max(r[2] for r in honest[impl][model]) for impl in impls}
        caught = min(r[2] for r in cheats[model]) if model in cheats else float("nan")
        acc_honest = max(r[0] - r[1] for impl in impls for r in honest[impl][model])
        acc_cheat = (min(r[0] - r[1] for r in cheats[model]) if model in cheats
                     else float("nan"))
        print(f"  {model:<8} honest max {worst['ref']:.3f} (ref) / {worst['alt']:.3f} (alt), "
              f"margin {LOSS_RATIO_BAR - max(worst.values()):+.3f}; trained on the test "
              f"images: min {caught:.3f}, margin {caught - LOSS_RATIO_BAR:+.3f} "
              f"[{acc_honest:+.4f} / {acc_cheat:+.4f}]")
    if honest["long"]:
        worst = max(r[2] for r in honest["long"]["numpy"])
        print(f"  numpy, 256 units, 15 epochs (honest): max {worst:.3f}, margin "
              f"{LOSS_RATIO_BAR - worst:+.3f} ({len(honest['long']['numpy'])} seeds)")

    def collect(kind):
        return {impl: [r for (k, a), r in results.items() if k == kind and a[0] == impl]
                for impl in impls}

    values = collect("shifted")
    mins = {impl: min(v) for impl, v in values.items()}
    print(f"\ntrain_sklearn on 2,000 other images with labels (y + 1) % 10, bar "
          f"{SHIFTED_BAR}: min {mins['ref']:.4f} (ref) / {mins['alt']:.4f} (alt), "
          f"margin {min(mins.values()) - SHIFTED_BAR:+.4f}")

    values = collect("seeds")
    for name in ("torch", "numpy"):
        same = max(r[name][0] for v in values.values() for r in v)
        other = {impl: min(r[name][1] for r in v) for impl, v in values.items()}
        print(f"train_{name} on 12 images, batches of 4, seeds s and s + 1: weights apart "
              f"by at least {other['ref']:.2e} (ref) / {other['alt']:.2e} (alt), bar "
              f"{SEED_GAP_BAR:.0e}; the same seed twice: at most {same:.1e}")

    values = collect("time")
    low = min(min(v) for v in values.values())
    high = max(max(v) for v in values.values())
    print(f"depth_sweep([3, 1], ...) time share: {low:.3f} to {high:.3f} (bars "
          f"{SWEEP_TIME_SHARE[0]} to {SWEEP_TIME_SHARE[1]}); margins "
          f"{low - SWEEP_TIME_SHARE[0]:+.3f} / {SWEEP_TIME_SHARE[1] - high:+.3f}")
    print(f"\nran in {time.perf_counter() - started:.0f} s with {args.workers} workers")


if __name__ == "__main__":
    main()

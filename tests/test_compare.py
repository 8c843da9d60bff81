"""course.compare: the MNIST comparison of scikit-learn, PyTorch and numpy.

The fast tests check the pieces (model builders, counting, the numpy training
step, argument checks, the table, the command line). The slow ones run the
quick comparison end to end on the real MNIST files, twice.
"""

import argparse
import csv
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from course import compare
from course import nn as scratch
from course.compare import (
    COLUMNS, FAMILIES, Comparison, Result, build_cnn, build_mlp, count_hidden_layers,
    count_parameters, numpy_train_step, run_comparison,
)

DEPTHS = (1, 2, 3, 4)


def _mlp_parameters(sizes):
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))


# --- models ----------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("depth", DEPTHS)
def test_build_mlp_has_the_stated_depth_and_parameter_count(family, depth):
    model = build_mlp(family, depth, 32)
    assert count_hidden_layers(model) == depth
    assert count_parameters(model) == _mlp_parameters([784] + [32] * depth + [10])


@pytest.mark.parametrize("family", ["numpy", "torch"])
def test_numpy_and_torch_mlps_map_784_pixels_to_10_scores(family):
    model = build_mlp(family, 2, 16)
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    if family == "torch":
        with torch.no_grad():
            out = model(torch.from_numpy(X)).numpy()
    else:
        out = model.forward(X)
    assert out.shape == (5, 10)
    assert out.dtype == np.float32


def test_numpy_and_torch_mlps_use_the_same_he_initialisation():
    """Both draw W ~ N(0, 2 / D) and start with zero biases."""
    numpy_mlp, torch_mlp = build_mlp("numpy", 1, 512), build_mlp("torch", 1, 512)
    W_numpy = numpy_mlp.layers[0].W
    W_torch = torch_mlp[0].weight.detach().numpy()
    assert W_numpy.shape == W_torch.T.shape == (784, 512)
    for W in (W_numpy, W_torch):
        assert W.std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert not numpy_mlp.layers[0].b.any()
    assert not torch_mlp[0].bias.detach().numpy().any()


def test_build_mlp_is_reproducible_with_a_seed():
    a, b = build_mlp("numpy", 2, 8, seed=3), build_mlp("numpy", 2, 8, seed=3)
    for name, p in a.params().items():
        np.testing.assert_array_equal(p, b.params()[name])
    c, d = build_mlp("torch", 2, 8, seed=3), build_mlp("torch", 2, 8, seed=3)
    for p, q in zip(c.parameters(), d.parameters()):
        assert torch.equal(p, q)


def test_lenet5_counts_four_hidden_layers_and_61706_parameters():
    net = build_cnn()
    assert count_hidden_layers(net) == 4
    assert count_parameters(net) == 61_706


def test_sklearn_parameters_are_counted_from_fitted_weights_too():
    model = build_mlp("sklearn", 2, 8)
    rng = np.random.default_rng(0)
    X, y = rng.random((200, 784), dtype=np.float32), np.arange(200) % 10
    model.partial_fit(X, y, classes=np.arange(10))
    assert count_parameters(model) == _mlp_parameters([784, 8, 8, 10])
    assert model.coefs_[0].dtype == np.float32


@pytest.mark.parametrize("depth", [0, -1, 1.5, True, "2"])
def test_build_mlp_rejects_a_depth_that_is_not_a_positive_integer(depth):
    with pytest.raises(ValueError, match="depth"):
        build_mlp("numpy", depth, 16)


def test_build_mlp_rejects_an_unknown_family_and_names_the_known_ones():
    known = r"unknown MLP family 'keras'.*sklearn, torch, numpy"
    with pytest.raises(ValueError, match=known):
        build_mlp("keras", 2, 16)


def test_build_mlp_rejects_width_zero():
    with pytest.raises(ValueError, match="width"):
        build_mlp("torch", 2, 0)


def test_counting_an_unknown_model_is_a_type_error():
    with pytest.raises(TypeError, match="cannot count"):
        count_hidden_layers(object())
    with pytest.raises(TypeError, match="cannot count"):
        count_parameters("not a model")


# --- the numpy training step ----------------------------------------------


def test_numpy_train_step_gives_the_same_update_as_course_nn_train_step():
    """The fast step is course.nn.train_step (forward, loss, backward, SGD), fused."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((17, 784)).astype(np.float32)
    y = rng.integers(0, 10, 17)
    fast, slow = build_mlp("numpy", 3, 24, seed=5), build_mlp("numpy", 3, 24, seed=5)
    opt_fast = scratch.SGD(fast, 0.1, momentum=0.9)
    opt_slow = scratch.SGD(slow, 0.1, momentum=0.9)
    for _ in range(3):
        loss_fast, logits_fast = numpy_train_step(fast, X, y, opt_fast)
        loss_slow, logits_slow = scratch.train_step(slow, X, y, opt_slow)
        assert loss_fast == pytest.approx(loss_slow, rel=1e-5)
        np.testing.assert_allclose(logits_fast, logits_slow, rtol=1e-5, atol=1e-5)
    for name, p in fast.params().items():
        assert p.dtype == np.float32
        np.testing.assert_allclose(p, slow.params()[name], rtol=1e-4, atol=1e-5,
                                   err_msg=f"parameter {name}")


def test_numpy_train_step_refuses_layers_it_does_not_handle():
    model = scratch.Sequential(scratch.Linear(4, 3), scratch.Tanh(),
                               scratch.Linear(3, 2))
    opt = scratch.SGD(model, 0.1)
    with pytest.raises(TypeError, match="Linear and ReLU"):
        numpy_train_step(model, np.zeros((2, 4), np.float32), np.array([0, 1]), opt)


# --- arguments --------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"depths": (0, 1)}, "integer >= 1"),
        ({"depths": ()}, "empty"),
        ({"depths": (2, 2)}, "repeat"),
        ({"depths": 3}, "list of positive integers"),
        ({"families": ("numpy", "keras")}, "unknown MLP family"),
        ({"epochs": 0}, "epochs"),
        ({"width": -5}, "width"),
        ({"subset": (10, 20, 30)}, "subset"),
        ({"subset": 0}, "subset"),
        ({"num_threads": 0}, "num_threads"),
    ],
)
def test_run_comparison_rejects_bad_arguments_before_any_training(
        kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        run_comparison(quick=True, out_dir=tmp_path, progress=False, **kwargs)
    assert not any(tmp_path.iterdir()), "nothing is written when the arguments are bad"


def test_command_line_options_parse_and_bad_depths_exit_with_status_2(capsys):
    parser = compare.add_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--quick", "--depths", "1", "3", "--subset", "100", "50",
                              "--no-progress", "--threads", "1"])
    assert args.quick and args.depths == [1, 3] and args.subset == [100, 50]
    assert args.threads == 1 and args.no_progress and not args.no_cnn
    args = parser.parse_args(["--depths", "0"])
    assert compare.run_from_args(args) == 2
    assert "integer >= 1" in capsys.readouterr().err


def test_missing_mnist_exits_with_status_1_and_says_how_to_fix_it(tmp_path, capsys):
    assert compare.main(["--quick", "--data-dir", str(tmp_path), "--no-progress",
                         "--out-dir", str(tmp_path / "out")]) == 1
    assert "course data mnist" in capsys.readouterr().err


# --- the table ---------------------------------------------------------------


def _fake_comparison():
    results = [
        Result(f"{family} MLP", family, depth, 100 * depth, 2, 1.5 * depth,
               0.75 * depth, 0.9 + 0.01 * depth, predictions=np.zeros(4, int))
        for family in FAMILIES for depth in (1, 2)
    ]
    return Comparison(results, compare.QUICK, "cpu", (1, 2), 10, 4,
                      y_test=np.zeros(4, int), X_test=np.zeros((4, 784), np.float32))


def test_table_has_the_columns_in_text_markdown_and_csv():
    comparison = _fake_comparison()
    rows = list(csv.DictReader(comparison.table("csv").splitlines()))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 6 and rows[1]["hidden_layers"] == "2"
    assert float(rows[1]["test_accuracy"]) == pytest.approx(0.92)
    markdown = comparison.table("markdown").splitlines()
    assert markdown[0] == "| " + " | ".join(COLUMNS) + " |" and len(markdown) == 8
    text = str(comparison)
    assert text.splitlines()[0].split() == list(COLUMNS)
    assert "92.00%" in text
    assert comparison.best().test_accuracy == pytest.approx(0.92)
    assert comparison.result("torch", 1).family == "torch"
    with pytest.raises(ValueError, match="fmt"):
        comparison.table("html")


def test_confusion_matrix_counts_true_against_predicted():
    counts = compare.confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], num_classes=3)
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])


# --- the quick comparison, end to end ----------------------------------------


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The quick comparison with its defaults, run once for the module."""
    out = tmp_path_factory.mktemp("compare")
    return run_comparison(quick=True, out_dir=out, progress=False), out


@pytest.mark.slow
@pytest.mark.mnist
def test_quick_comparison_on_mnist_has_every_family_at_every_depth_and_the_cnn(quick):
    comparison, _ = quick
    assert (comparison.num_train, comparison.num_test) == (5000, 2000)
    rows = comparison.rows()
    assert all(tuple(row) == COLUMNS for row in rows)
    got = sorted((row["family"], row["hidden_layers"]) for row in rows)
    want = sorted([(f, d) for f in FAMILIES for d in DEPTHS] + [("cnn", 4)])
    assert got == want
    for row in rows:
        assert row["epochs"] == 2
        assert row["train_seconds"] > 0
        assert row["seconds_per_epoch"] == pytest.approx(row["train_seconds"] / 2)
        assert row["parameters"] > 0
        if row["family"] != "cnn":
            width = comparison.settings.width
            sizes = [784] + [width] * row["hidden_layers"] + [10]
            assert row["parameters"] == _mlp_parameters(sizes)


@pytest.mark.slow
@pytest.mark.mnist
def test_quick_comparison_accuracies_are_far_above_chance(quick):
    comparison, _ = quick
    for result in comparison.results:
        assert 0.7 < result.test_accuracy <= 1.0, (result.model, result.test_accuracy)
        assert len(result.history["test_acc"]) == 2
        assert result.history["test_acc"][-1] == pytest.approx(result.test_accuracy)
        assert result.predictions.shape == (2000,)


@pytest.mark.slow
@pytest.mark.mnist
def test_quick_comparison_writes_the_table_and_four_figures(quick):
    comparison, out = quick
    names = {"results.csv", "results.md", "accuracy_vs_depth.png",
             "training_curves.png", "confusion_matrix.png", "misclassified.png"}
    assert {p.name for p in out.iterdir()} >= names
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 5000
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS and len(rows) == len(comparison.results)
    for row, result in zip(rows, comparison.results):
        assert row["model"] == result.model
        assert float(row["test_accuracy"]) == pytest.approx(result.test_accuracy,
                                                            abs=1e-5)
    markdown = (out / "results.md").read_text()
    assert all(result.model in markdown for result in comparison.results)


@pytest.mark.slow
@pytest.mark.mnist
def test_course_compare_quick_command_reproduces_the_same_table(quick, tmp_path):
    """`course compare --quick`, the documented command, run as a user runs it:
    same seed, same numbers as the in-process run (within noise)."""
    first, _ = quick
    out = tmp_path / "cli"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "course.cli", "compare", "--quick", "--no-progress",
         "--out-dir", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("MLP") >= 12 and "test_accuracy" in done.stdout
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(first.results)
    for row in rows:
        if row["family"] == "cnn":
            before = first.result("cnn")
        else:
            before = first.result(row["family"], int(row["hidden_layers"]))
        assert row["model"] == before.model
        # sklearn and the CNN are seeded too; allow thread-order noise only.
        assert float(row["test_accuracy"]) == pytest.approx(before.test_accuracy,
                                                            abs=0.01), row["model"]
    print(f"course compare --quick: {seconds:.1f} s wall")

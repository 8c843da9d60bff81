"""The shared plots: each draws what it promises and returns its Axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

from course import plots  # noqa: E402
from course.activations import sigmoid  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def two_blobs():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-1, 0.3, (10, 2)), rng.normal(1, 0.3, (10, 2))])
    y = np.repeat([0, 1], 10)
    return X, y


def _contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def _scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def test_decision_boundary_with_labels_fills_regions_and_colours_each_class(
    two_blobs,
):
    X, y = two_blobs
    ax = plots.plot_decision_boundary(
        lambda G: (G.sum(axis=1) > 0).astype(int), X, y, title="blobs", resolution=30
    )
    assert isinstance(ax, Axes)
    assert ax.get_title() == "blobs"
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    assert len(_contour_sets(ax)) == 1
    assert len(_scatters(ax)) == 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["class 0", "class 1"]


def test_decision_boundary_with_scores_draws_the_threshold_line(two_blobs):
    X, y = two_blobs
    ax = plots.plot_decision_boundary(
        lambda G: sigmoid(G.sum(axis=1)), X, y, resolution=30, class_names=["a", "b"]
    )
    # one filled map and one line at the 0.5 level
    assert len(_contour_sets(ax)) == 2
    assert list(_contour_sets(ax)[1].levels) == [0.5]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]


def test_decision_boundary_accepts_a_constant_classifier_and_given_axes(two_blobs):
    X, y = two_blobs
    _, given = plt.subplots()
    ax = plots.plot_decision_boundary(
        lambda G: np.ones(len(G)), X, y, ax=given, resolution=20, padding=1.0
    )
    assert ax is given
    assert ax.get_title() == "Decision boundary"
    assert ax.get_xlim()[0] == pytest.approx(X[:, 0].min() - 1.0)


def test_decision_boundary_colours_sign_labels_minus_one_and_one(two_blobs):
    X, y = two_blobs
    y_sign = 2 * y - 1
    ax = plots.plot_decision_boundary(
        lambda G: np.where(G[:, 0] > 0, 1, -1), X, y_sign, resolution=20
    )
    assert len(_scatters(ax)) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "class -1",
        "class 1",
    ]


def test_plot_functions_draws_one_line_per_function_with_a_legend():
    ax = plots.plot_functions(
        {"sigmoid": sigmoid, "identity": lambda z: z}, title="two curves"
    )
    labels = [line.get_label() for line in ax.get_lines()]
    assert [k for k in labels if not k.startswith("_")] == ["sigmoid", "identity"]
    assert ax.get_title() == "two curves"
    assert ax.get_xlabel() == "$z$"
    assert ax.get_legend() is not None


def test_plot_functions_leaves_out_the_legend_for_a_single_curve():
    ax = plots.plot_functions({"sigmoid": sigmoid}, z=np.linspace(-1, 1, 5))
    assert ax.get_legend() is None
    assert len(ax.get_lines()[0].get_xdata()) == 5


def test_plot_activation_by_name_draws_function_and_derivative_side_by_side():
    ax_f, ax_grad = plots.plot_activation("tanh", numerical=True)
    assert ax_f.get_title() == "tanh"
    assert ax_grad.get_title() == "derivative of tanh"
    z, dy = ax_grad.get_lines()[0].get_data()
    np.testing.assert_allclose(dy, 1 - np.tanh(z) ** 2)
    labels = [t.get_text() for t in ax_grad.get_legend().get_texts()]
    assert labels == ["analytic", "numerical"]


def test_plot_activation_takes_a_function_and_needs_its_derivative():
    _, axes = plt.subplots(1, 2)
    ax_f, ax_grad = plots.plot_activation(
        np.square, lambda z: 2 * z, ax=axes, name="square"
    )
    assert ax_f is axes[0] and ax_grad is axes[1]
    assert ax_f.get_ylabel() == "square(z)"
    with pytest.raises(ValueError, match="f_grad"):
        plots.plot_activation(np.square)


def test_training_curves_draw_train_and_validation_for_the_chosen_metric():
    history = {
        "train_loss": [1.0, 0.5, 0.3],
        "val_loss": [1.1, 0.7, 0.6],
        "train_acc": [0.5, 0.8, 0.9],
    }
    ax = plots.plot_training_curves(history)
    assert [line.get_label() for line in ax.get_lines()] == ["train", "validation"]
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert ax.get_title() == "loss per epoch"

    ax = plots.plot_training_curves(history, metric="acc", title="accuracy")
    assert [line.get_label() for line in ax.get_lines()] == ["train"]
    assert ax.get_legend() is None
    assert ax.get_ylabel() == "accuracy"


def test_training_curves_accept_a_list_of_epoch_records_and_history_objects():
    records = [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.0}]
    ax = plots.plot_training_curves(records)
    assert len(ax.get_lines()) == 2

    class Fit:
        history = {"loss": [3.0, 2.0, 1.0]}

    ax = plots.plot_training_curves(Fit())
    assert list(ax.get_lines()[0].get_ydata()) == [3.0, 2.0, 1.0]
    with pytest.raises(ValueError, match="accuracy"):
        plots.plot_training_curves(Fit(), metric="accuracy")


def test_image_grid_tiles_images_with_labels_and_a_title():
    images = np.arange(10 * 4 * 4, dtype=float).reshape(10, 4, 4)
    ax = plots.image_grid(images, labels=list(range(10)), ncols=4, title="tiles")
    assert ax.get_title() == "tiles"
    assert len(ax.get_images()) == 1
    assert [t.get_text() for t in ax.texts] == [str(k) for k in range(10)]
    canvas = ax.get_images()[0].get_array()
    # 3 rows of 4 tiles: every image's pixels are somewhere on the canvas
    assert np.isin(images.ravel(), np.asarray(canvas).ravel()).all()


def test_image_grid_normalizes_each_feature_map_and_accepts_flat_images():
    flat = np.stack([np.linspace(0, 1, 9), np.linspace(-50, 50, 9)])
    ax = plots.image_grid(flat, normalize=True)
    canvas = np.ma.filled(ax.get_images()[0].get_array(), np.nan)
    assert np.nanmin(canvas) == 0.0 and np.nanmax(canvas) == 1.0
    assert len(ax.texts) == 0
    with pytest.raises(ValueError, match="H, W"):
        plots.image_grid(np.zeros((2, 2, 2, 2)))


def test_training_curves_put_ticks_on_whole_epochs_only():
    """Three epochs: the ticks are 1, 2, 3 and never 1.5 or 2.5."""
    ax = plots.plot_training_curves({"train_loss": [1.0, 0.5, 0.3]})
    ax.figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_image_grid_frames_every_tile_so_a_blank_map_still_shows():
    """An all-zero feature map is white on white: its frame shows where it is."""
    maps = np.zeros((3, 4, 4))
    maps[0, 1, 1] = 1.0
    ax = plots.image_grid(maps, ncols=3)
    frames = [p for p in ax.patches if not p.get_fill()]
    assert len(frames) == 3
    assert {p.get_width() for p in frames} == {4}


def test_show_matrix_writes_every_value_and_centres_a_diverging_map_on_zero():
    fig, ax = plt.subplots()
    M = np.array([[-2, 0], [1, 3]])
    plots.show_matrix(ax, M, "M", cmap="RdBu_r")
    assert [t.get_text() for t in ax.texts] == ["-2", "0", "1", "3"]
    image = ax.get_images()[0]
    assert image.norm.vmin == -3 and image.norm.vmax == 3
    assert ax.get_title() == "M"
    with pytest.raises(ValueError, match="2-D matrix"):
        plots.show_matrix(ax, np.zeros(3))

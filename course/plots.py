"""Plots that several notebooks share.

Every function draws on a matplotlib ``Axes`` and returns it, so a notebook
can add to the picture afterwards; pass ``ax=`` to draw into a subplot of a
figure you made yourself, or leave it out to get a new figure.
``plot_activation`` is the one exception: it draws a function and its
derivative side by side and so takes and returns a pair of Axes.

Shapes use the course's letters: N samples, H and W image height and width.

- ``plot_decision_boundary(predict, X, y)``: the regions a classifier gives
  to each class in a 2-D input space, with the data on top.
- ``plot_functions(functions)``: several curves of one variable on one Axes.
- ``plot_activation(name_or_f)``: an activation function and its derivative.
- ``plot_training_curves(history, metric)``: a metric per epoch, train vs
  validation.
- ``image_grid(images, labels)``: digits or feature maps tiled into a grid.
- ``show_matrix(ax, M, title)``: a small matrix with its numbers written in.

Nothing here writes text that needs a CJK font: figure text is English, so
that no font warning reaches a notebook's output.
"""

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from matplotlib.colors import LinearSegmentedColormap, ListedColormap, TwoSlopeNorm

# Colour-blind-safe colours for classes 0, 1, 2, ... (Okabe and Ito).
CLASS_COLORS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)


def _new_axes(ax, figsize=(5, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _grid(X, resolution, padding):
    """A (resolution**2, 2) grid covering X's bounding box plus padding."""
    x_min, y_min = X.min(axis=0) - padding
    x_max, y_max = X.max(axis=0) + padding
    xx, yy = np.meshgrid(
        np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution)
    )
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def plot_decision_boundary(
    predict,
    X,
    y,
    ax=None,
    title=None,
    resolution=200,
    padding=0.5,
    class_names=None,
    threshold=None,
):
    """Draw the decision regions of a 2-D classifier and the data on top.

    predict: a function mapping an (N, 2) array to (N,) values: either class
        labels (integers, usually 0..C-1) or real scores (a probability or a logit).
    X: (N, 2) inputs; y: (N,) integer class labels, used to colour the points.
    class_names: names for the legend (default "class 0", "class 1", ...).
    threshold: for scores, the level drawn as the boundary (default 0.5 when
        every score lies in [0, 1], else 0).

    Labels are shown as flat coloured regions, one colour per class. Scores
    are shown as a shaded map from class 0's colour (low) through white (at
    the threshold) to class 1's (high), with the boundary as a black line.
    Returns the Axes.
    """
    ax = _new_axes(ax)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).ravel()
    classes = np.unique(y)
    xx, yy, grid = _grid(X, resolution, padding)
    Z = np.asarray(predict(grid), dtype=float).reshape(xx.shape)

    is_labels = np.all(Z == np.round(Z))
    if is_labels:
        low = int(min(Z.min(), classes.min()))
        high = int(max(Z.max(), classes.max()))
        values = range(low, high + 1)
        cmap = ListedColormap([CLASS_COLORS[k % len(CLASS_COLORS)] for k in values])
        levels = np.arange(low, high + 2) - 0.5
        ax.contourf(xx, yy, Z, levels=levels, cmap=cmap, alpha=0.25)
    else:
        if threshold is None:
            threshold = 0.5 if Z.min() >= 0 and Z.max() <= 1 else 0.0
        cmap = LinearSegmentedColormap.from_list(
            "score", [CLASS_COLORS[0], "white", CLASS_COLORS[1]]
        )
        crosses = Z.min() < threshold < Z.max()
        # white sits at the threshold, so the colour says which side a point is on
        norm = TwoSlopeNorm(threshold, Z.min(), Z.max()) if crosses else None
        ax.contourf(xx, yy, Z, levels=20, cmap=cmap, norm=norm, alpha=0.4)
        if crosses:
            ax.contour(xx, yy, Z, levels=[threshold], colors="k", linewidths=1.5)

    for k in classes:
        name = class_names[k] if class_names is not None else f"class {k}"
        mask = y == k
        ax.scatter(
            X[mask, 0],
            X[mask, 1],
            s=40 if len(y) <= 20 else 15,
            color=CLASS_COLORS[int(k) % len(CLASS_COLORS)],
            edgecolors="k",
            linewidths=0.5,
            label=name,
            zorder=3,
        )
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title if title is not None else "Decision boundary")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_functions(
    functions, z=None, ax=None, title=None, xlabel="$z$", ylabel="value"
):
    """Draw several functions of one variable on one Axes.

    functions: a dict ``{label: f}`` where each f maps a (N,) array to (N,).
    z: (N,) points to evaluate at (default 401 points on [-5, 5]).
    Adds a legend when there is more than one curve. Returns the Axes.
    """
    ax = _new_axes(ax)
    z = np.linspace(-5, 5, 401) if z is None else np.asarray(z, dtype=float)
    for label, f in functions.items():
        ax.plot(z, f(z), label=label)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.axvline(0, color="grey", linewidth=0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    if len(functions) > 1:
        ax.legend(fontsize="small")
    return ax


def _numerical_derivative(f, z, eps=1e-5):
    return (f(z + eps) - f(z - eps)) / (2 * eps)


def plot_activation(
    name_or_f, f_grad=None, z=None, ax=None, numerical=False, name=None
):
    """Draw an activation function (left) and its derivative (right).

    name_or_f: a name known to ``course.activations`` (such as "relu"), or a
        function mapping a (N,) array to (N,).
    f_grad: the derivative, needed when a function is given (not a name).
    z: (N,) points (default 401 points on [-5, 5]).
    ax: a pair of Axes ``(ax_f, ax_grad)``; default a new 1x2 figure.
    numerical: also draw a centred-difference derivative, dashed, to compare.
    name: the label used in titles (default the activation's name).
    Returns the pair ``(ax_f, ax_grad)``.
    """
    from course.activations import get_activation

    if isinstance(name_or_f, str):
        f, grad = get_activation(name_or_f)
        name = name or name_or_f
        f_grad = f_grad or grad
    else:
        f = name_or_f
        name = name or getattr(f, "__name__", "f")
        if f_grad is None:
            raise ValueError("plot_activation needs f_grad when given a function")
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(8, 3))
    ax_f, ax_grad = ax
    z = np.linspace(-5, 5, 401) if z is None else np.asarray(z, dtype=float)

    ax_f.plot(z, f(z), color="C0", label=name)
    ax_f.set_title(name)
    ax_f.set_ylabel(f"{name}(z)")
    ax_grad.plot(z, f_grad(z), color="C1", label="analytic")
    if numerical:
        numeric = _numerical_derivative(f, z)
        ax_grad.plot(z, numeric, "k--", linewidth=1, label="numerical")
        ax_grad.legend(fontsize="small")
    ax_grad.set_title(f"derivative of {name}")
    ax_grad.set_ylabel(f"{name}'(z)")
    for a in (ax_f, ax_grad):
        a.axhline(0, color="grey", linewidth=0.5)
        a.axvline(0, color="grey", linewidth=0.5)
        a.set_xlabel("$z$")
    return ax_f, ax_grad


_SPLIT_NAMES = {
    "": "train",
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "test": "test",
}
_METRIC_ALIASES = {"acc": "accuracy", "accuracy": "accuracy", "loss": "loss"}


def _as_history(history):
    """A dict of lists from a dict, an object with ``.history``, or a list of dicts."""
    if hasattr(history, "history") and not isinstance(history, dict):
        history = history.history
    if isinstance(history, (list, tuple)):
        keys = history[0].keys() if history else []
        history = {k: [row[k] for row in history] for k in keys}
    return dict(history)


def plot_training_curves(history, metric="loss", ax=None, title=None):
    """Draw one metric per epoch, one line per split (train, validation, test).

    history: a dict of per-epoch lists such as ``{"train_loss": [...],
        "val_loss": [...], "train_acc": [...]}``; an object with such a dict
        in ``.history``; or a list with one dict per epoch.
    metric: "loss" or "accuracy" ("acc"); keys are matched on their last
        word, so "loss", "train_loss" and "val_loss" all count as losses.
    Epochs are numbered from 1. Returns the Axes.
    """
    ax = _new_axes(ax)
    history = _as_history(history)
    wanted = _METRIC_ALIASES.get(metric, metric)
    drawn = 0
    for key, values in history.items():
        prefix, _, last = key.rpartition("_")
        if _METRIC_ALIASES.get(last, last) != wanted:
            continue
        label = _SPLIT_NAMES.get(prefix, prefix)
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, marker="o" if len(values) <= 30 else None, label=label)
        drawn += 1
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no half epochs
    if drawn == 0:
        raise ValueError(f"no {metric!r} values in history keys {sorted(history)}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(wanted)
    ax.set_title(title if title is not None else f"{wanted} per epoch")
    if drawn > 1:
        ax.legend()
    return ax


def image_grid(
    images, labels=None, ncols=8, title=None, ax=None, cmap="gray_r", normalize=False
):
    """Tile images into one picture, a label under each.

    images: (N, H, W) array (digits, filters or feature maps), or (N, H*W)
        with square images.
    labels: N labels (numbers or short strings) written under the tiles.
    ncols: tiles per row. normalize: rescale every image to [0, 1] on its
        own (useful for feature maps whose ranges differ); otherwise all
        share one colour scale.
    Returns the Axes (one image, axis ticks hidden).
    """
    images = np.asarray(images, dtype=float)
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        images = images.reshape(len(images), side, side)
    if images.ndim != 3:
        raise ValueError(f"image_grid wants (N, H, W) images, got shape {images.shape}")
    n, h, w = images.shape
    if normalize:
        low = images.min(axis=(1, 2), keepdims=True)
        span = images.max(axis=(1, 2), keepdims=True) - low
        images = (images - low) / np.where(span > 0, span, 1.0)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    gap = max(1, h // 8)
    label_h = int(round(0.45 * h)) if labels is not None else 0
    cell_h, cell_w = h + label_h + gap, w + gap
    canvas = np.full((nrows * cell_h + gap, ncols * cell_w + gap), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        top, left = gap + r * cell_h, gap + c * cell_w
        canvas[top : top + h, left : left + w] = image

    if ax is None:
        row_inches = 0.9 + 0.4 * bool(label_h)
        _, ax = plt.subplots(figsize=(0.9 * ncols + 0.4, row_inches * nrows + 0.6))
    colormap = plt.get_cmap(cmap).with_extremes(bad="white")
    vmin, vmax = np.nanmin(canvas), np.nanmax(canvas)
    ax.imshow(canvas, cmap=colormap, vmin=vmin, vmax=vmax, interpolation="nearest")
    for i in range(n):  # a frame round every tile: an all-zero map is not lost
        r, c = divmod(i, ncols)
        ax.add_patch(Rectangle((gap + c * cell_w - 0.5, gap + r * cell_h - 0.5), w, h,
                               fill=False, edgecolor="0.6", linewidth=0.6))
    if labels is not None:
        for i, label in enumerate(labels):
            r, c = divmod(i, ncols)
            ax.text(
                gap + c * cell_w + w / 2,
                gap + r * cell_h + h + label_h / 2,
                str(label),
                ha="center",
                va="center",
                fontsize=9,
            )
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title is not None:
        ax.set_title(title)
    return ax


def show_matrix(ax, M, title="", cmap="Blues"):
    """Draw a small matrix M (H, W) with every number written in its cell.

    A diverging colour map (``cmap="RdBu_r"``) is centred on 0, so zero is
    white and the sign shows; the text is white on dark cells. Rows and
    columns are numbered from 0. Returns the Axes.
    """
    M = np.asarray(M)
    if M.ndim != 2:
        raise ValueError(f"show_matrix draws a 2-D matrix, got shape {M.shape}")
    limit = float(np.abs(M).max()) or 1.0
    vmin, vmax = (-limit, limit) if cmap == "RdBu_r" else (M.min(), M.max())
    shown = ax.imshow(M, cmap=cmap, vmin=vmin, vmax=vmax)
    for (i, j), value in np.ndenumerate(M):
        r, g, b, _ = shown.cmap(shown.norm(value))
        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
        ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=11,
                color="white" if dark else "black")
    ax.set_xticks(range(M.shape[1]))
    ax.set_yticks(range(M.shape[0]))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title)
    return ax

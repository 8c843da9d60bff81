"""course.widgets: a static picture first, then sliders that redraw it."""

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course.widgets import InteractiveFigure, interactive_figure, slider  # noqa: E402


def _draw_line(slope, label="line"):
    fig, ax = plt.subplots()
    x = np.linspace(0, 1, 5)
    ax.plot(x, slope * x, label=label)
    ax.set_title(f"slope {slope}")
    return fig


def test_the_figure_is_drawn_once_for_the_starting_values_and_again_on_each_move():
    calls = []

    def draw(slope):
        calls.append(slope)
        return _draw_line(slope)

    figure = InteractiveFigure(draw, {"slope": slider(1.0, 0.0, 2.0, 0.5)})
    image = figure.image()
    assert image.data[:8] == b"\x89PNG\r\n\x1a\n"  # a real PNG: what a web page shows
    figure.controls["slope"].value = 1.5
    assert calls == [1.0, 1.5] and figure.draws == 2
    assert plt.get_fignums() == []  # every drawn figure was closed


def test_interactive_figure_displays_the_picture_then_the_controls(capsys):
    shown = interactive_figure(_draw_line, slope=slider(2, 0, 4, 1, integer=True),
                               label=widgets.Dropdown(options=["a", "b"], value="a"))
    assert shown.values == {"slope": 2, "label": "a"}
    assert isinstance(shown.controls["slope"], widgets.IntSlider)
    shown.controls["label"].value = "b"
    assert shown.draws == 2


def test_interactive_figure_refuses_bad_controls_and_draw_functions():
    with pytest.raises(ValueError, match="at least one control"):
        InteractiveFigure(_draw_line, {})
    with pytest.raises(TypeError, match="not an ipywidgets value widget"):
        InteractiveFigure(_draw_line, {"slope": 1.0})
    figure = InteractiveFigure(lambda slope: None,
                               {"slope": slider(1.0, 0.0, 2.0, 0.5)})
    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        figure.image()

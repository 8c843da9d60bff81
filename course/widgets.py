"""Interactive figures for the lectures: sliders that redraw a matplotlib figure.

``interactive_figure(draw, lr=FloatSlider(...), ...)`` first shows the
figure that ``draw`` makes for the sliders' starting values, as an ordinary
PNG output: it is saved in an executed notebook, so a web page built from
it (or a notebook opened without a kernel) shows a sensible static figure.
Below it come the sliders; with a live kernel, moving one calls ``draw``
again with the new values and replaces the picture in place.

A ``draw`` function takes the controls' values as keyword arguments and
returns a matplotlib ``Figure`` (it must not call ``plt.show()``).
"""

import io

import matplotlib.pyplot as plt
from IPython.display import Image, display

try:  # a clear error at call time, not at import, if ipywidgets is missing
    import ipywidgets as widgets
except ImportError:  # pragma: no cover - ipywidgets is a course dependency
    widgets = None


def _png(fig):
    """A Figure as an IPython PNG image; the figure is closed afterwards."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=100)
    plt.close(fig)
    return Image(data=buffer.getvalue(), format="png")


class InteractiveFigure:
    """A figure redrawn by ``draw(**values)`` whenever one of ``controls`` moves.

    controls: name -> ipywidgets value widget (``FloatSlider``,
    ``IntSlider``, ``Dropdown``, ...). ``values`` holds the current values;
    ``redraw()`` draws again and updates the shown picture; ``draws``
    counts the drawings (for tests).
    """

    def __init__(self, draw, controls):
        if widgets is None:
            raise ImportError(
                "interactive figures need ipywidgets: pip install ipywidgets")
        if not controls:
            raise ValueError("an interactive figure needs at least one control")
        for name, control in controls.items():
            if not isinstance(control, widgets.ValueWidget):
                raise TypeError(f"control {name!r} is a {type(control).__name__}, "
                                "not an ipywidgets value widget (e.g. FloatSlider)")
        self.draw, self.controls, self.draws = draw, dict(controls), 0
        self.handle = None
        for control in self.controls.values():
            control.observe(lambda change: self.redraw(), names="value")

    @property
    def values(self):
        return {name: control.value for name, control in self.controls.items()}

    def image(self):
        """Draw the figure for the current values -> an IPython PNG image."""
        fig = self.draw(**self.values)
        if not isinstance(fig, plt.Figure):
            raise TypeError(
                f"draw() must return a matplotlib Figure, got {type(fig).__name__}")
        self.draws += 1
        return _png(fig)

    def show(self):
        """Display the static picture, then the controls under it."""
        self.handle = display(self.image(), display_id=True)
        display(widgets.VBox(list(self.controls.values())))
        return self

    def redraw(self):
        image = self.image()
        if self.handle is not None:
            self.handle.update(image)


def interactive_figure(draw, **controls):
    """Show ``draw(**values)`` for the controls' starting values, then the controls.

    draw: keyword arguments named like ``controls`` -> a matplotlib Figure;
    controls: ipywidgets value widgets (sliders, dropdowns). Returns the
    ``InteractiveFigure`` (its ``controls`` can be set from code too).
    """
    return InteractiveFigure(draw, controls).show()


def slider(value, low, high, step, description=None, integer=False):
    """A labelled slider starting at ``value`` (IntSlider when integer=True)."""
    kind = widgets.IntSlider if integer else widgets.FloatSlider
    return kind(value=value, min=low, max=high, step=step,
                description=description or "", continuous_update=False,
                style={"description_width": "initial"})

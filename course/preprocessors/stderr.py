"""Warnings in a test cell's output do not cost its points.

nbgrader scores a graded code cell 0 when any of its outputs is an ``error``
*or* a ``stderr`` stream (``nbgrader.utils.determine_grade``). Python's
warnings go to stderr, so a correct answer that triggers a numpy
``RuntimeWarning`` (overflow in ``exp``), a scikit-learn
``ConvergenceWarning`` or a torch ``UserWarning`` would lose the cell.

``WarningsAsText`` runs after the cells have been executed and before
``SaveAutoGrades``: in every graded code cell it turns each stderr stream into
a stdout stream that starts with the line ``[warning output, not an error]``.
The text stays in the autograded notebook and in the feedback; the cell is
scored by its checks alone: a failing check is an ``error`` output, which is
left alone and still gives 0.
"""

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Unicode

WARNING_LABEL = "[warning output, not an error]"


class WarningsAsText(NbGraderPreprocessor):
    """Turn stderr streams of graded code cells into labelled stdout streams."""

    label = Unicode(
        WARNING_LABEL,
        help="The line put before text a graded cell wrote to stderr.",
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" \
                        and output.get("name") == "stderr":
                    output.name = "stdout"
                    output.text = f"{self.label}\n{output.text}"
        return cell, resources

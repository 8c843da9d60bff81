"""nbgrader's OverwriteCells without its false checksum warnings.

``nbgrader generate_assignment`` stores in the gradebook each locked cell's
source (hidden tests included) and its checksum, then removes the hidden tests
from the released notebook. When an unedited submission is autograded,
nbgrader's ``OverwriteCells`` compares the released cell with the stored
checksum, finds them different and logs ``Attribute 'checksum' for cell ...
has changed!`` for every test cell with hidden tests (nbgrader issue 1961),
although the student changed nothing.

This subclass first recognises a locked cell whose source is exactly what
the release held (the stored source with the hidden test region removed, by
nbgrader's own ``ClearHiddenTests`` and its delimiters) and puts the stored
source back silently. Every other cell goes through nbgrader's checks
unchanged, so a test cell a student did edit is still reported and restored.
"""

import copy

from nbgrader import utils
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.preprocessors import OverwriteCells as NbgraderOverwriteCells


class OverwriteCells(NbgraderOverwriteCells):
    """``OverwriteCells`` that knows what the release did to a locked cell."""

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and utils.is_locked(cell):
            try:
                source_cell = self.gradebook.find_source_cell(
                    grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                source_cell = None  # nbgrader's own code says so below
            if source_cell is not None and source_cell.locked \
                    and cell.source != source_cell.source \
                    and cell.source == self.released_source(cell, source_cell.source):
                cell.source = source_cell.source
        return super().preprocess_cell(cell, resources, cell_index)

    def released_source(self, cell, source):
        """``source`` as the release held it: without the hidden test region."""
        released = copy.deepcopy(cell)
        released.source = source
        ClearHiddenTests(parent=self)._remove_hidden_test_region(released)
        return released.source

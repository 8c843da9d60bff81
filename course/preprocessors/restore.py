"""Cells a student deleted are put back before grading, and graded.

nbgrader 0.9.6 restores the locked cells a student *edited* (``OverwriteCells``)
but not those a student *deleted*: a deleted test cell is left "needs manual
grading" with no score, so deleting a failing test would hide the failure
until a person looks. Its ``OverwriteCells.add_missing_cells`` option puts
back test cells only, and fails when the cell before it is not a graded one.

``RestoreDeletedCells`` runs in ``Autograde.sanitize_preprocessors``, before
``OverwriteCells``. It reads the assignment's source notebook (nbgrader's
``source_directory``, ``solutions/`` in this course) and inserts every cell
with a ``grade_id`` that the submission lacks (test cells, answer cells,
locked cells such as the set-up cell, written answers) right after the cell
that precedes it in the source, in the version a student was given:

- an answer cell gets nbgrader's stub (``ClearSolutions.code_stub`` or
  ``text_stub``), so the tests of a deleted answer fail and score 0;
- a test or locked cell gets its source; ``OverwriteCells`` then writes
  the graded version from the gradebook, and the test is run and scored.

The autograded notebook keeps a trace of each restored cell (a log line and
``cell.metadata.course.restored``); ``course grade`` reports the deletion
itself from the submitted notebook.
"""

import copy

import nbformat
from nbgrader.preprocessors import ClearSolutions, NbGraderPreprocessor

from course.preprocessors.checks import source_notebook


def _grade_id(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta.get("grade_id") if isinstance(meta, dict) else None


def _is_nbgrader_cell(cell):
    """Graded, answer, locked or task cells: the ones nbgrader knows by grade_id."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(_grade_id(cell)) and any(
        meta.get(key) for key in ("grade", "solution", "locked", "task"))


def restore_deleted_cells(nb, source, released_version):
    """Insert into ``nb`` the nbgrader cells of ``source`` that ``nb`` lacks.

    Each missing cell goes right after the cell that precedes it in
    ``source`` (the nearest earlier nbgrader cell, itself present or just
    restored), or first when none precedes it. ``released_version(cell)``
    gives the cell to insert. Returns the restored grade_ids, in order.
    """
    present = {_grade_id(cell) for cell in nb.cells if _grade_id(cell)}
    ids = {cell.get("id") for cell in nb.cells}
    restored, previous = [], None
    for cell in source.cells:
        if not _is_nbgrader_cell(cell):
            continue
        grade_id = _grade_id(cell)
        if grade_id not in present:
            new = released_version(cell)
            new.metadata.setdefault("course", {})["restored"] = True
            if new.get("id") in ids or "id" not in new:
                new["id"] = f"restored-{grade_id}"[:64]
            ids.add(new["id"])
            index = 0 if previous is None else _last_index(nb, previous) + 1
            nb.cells.insert(index, new)
            present.add(grade_id)
            restored.append(grade_id)
        previous = grade_id
    return restored


def _last_index(nb, grade_id):
    return max(i for i, cell in enumerate(nb.cells) if _grade_id(cell) == grade_id)


class RestoreDeletedCells(NbGraderPreprocessor):
    """Put back every graded, answer or locked cell missing from a submission."""

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        path = self.source_notebook(info.get("assignment"), info.get("notebook"))
        if path is None:
            self.log.warning("No source notebook for %s/%s: deleted cells cannot "
                             "be restored", info.get("assignment"),
                             info.get("notebook"))
            return nb, resources
        source = nbformat.read(path, as_version=4)
        stubs = ClearSolutions(parent=self)
        language = source.metadata.get("kernelspec", {}).get("language", "python")

        def released_version(cell):
            new = copy.deepcopy(cell)
            if new.cell_type == "code":
                new.outputs, new.execution_count = [], None
            new, _ = stubs.preprocess_cell(new, {"language": language}, 0)
            return new

        for grade_id in restore_deleted_cells(nb, source, released_version):
            self.log.warning("Cell %s was deleted from the submission; restored it "
                             "from the source notebook", grade_id)
        return nb, resources

    def source_notebook(self, assignment, notebook):
        """The path of the assignment's source notebook, or None."""
        return source_notebook(self, assignment, notebook)

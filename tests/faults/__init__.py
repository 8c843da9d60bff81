"""Broken, runaway and hostile submissions, built from a released notebook.

Every fixture starts from the released ps1_perceptron notebook with each
answer cell filled from the reference solution (so an honest version of it
scores full marks) and breaks one thing, the way a student's file can arrive:
a cell that never ends, a kernel that exits or kills the grading process,
a cell that eats memory, 50 MB
of prints, a file that is not JSON or not UTF-8, a renamed or missing
notebook, deleted, duplicated, edited or retyped cells, an empty folder.

``FAULTS`` maps a student id to a function ``write(folder, solved)`` that
writes that student's submission folder from ``solved``, the filled-in
release notebook (a fresh copy for each call).
"""

import json
from pathlib import Path

import nbformat

from tests.notebook_tools import nbgrader_metadata, solution_answers

NOTEBOOK = "ps1_perceptron.ipynb"


def cell_index(nb, grade_id):
    """Index of the cell with this grade_id."""
    for i, cell in enumerate(nb.cells):
        if nbgrader_metadata(cell).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def solved_release(release_path, source_path, only=None):
    """The released notebook with the answer cells (or those in ``only``) filled in."""
    nb = nbformat.read(release_path, as_version=4)
    for grade_id, answer in solution_answers(source_path).items():
        if only is None or grade_id in only:
            nb.cells[cell_index(nb, grade_id)].source = answer
    return nb


def _write(folder, nb, name=NOTEBOOK):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


def _prepend(grade_id, code):
    def write(folder, nb):
        cell = nb.cells[cell_index(nb, grade_id)]
        cell.source = code + "\n" + cell.source
        _write(folder, nb)
    return write


def _append(grade_id, code):
    def write(folder, nb):
        cell = nb.cells[cell_index(nb, grade_id)]
        cell.source = cell.source + "\n" + code
        _write(folder, nb)
    return write


# mp_neuron is never defined: only test_mp_neuron (2 points) is lost.
infinite_loop = _prepend("mp_neuron", "while True:\n    pass")
# The kernel process exits in the middle of the notebook.
kernel_dies = _prepend("perceptron_update", "import os\nos._exit(1)")
# Kills the process that runs the kernel: the grader's worker itself.
kills_grader = _prepend("perceptron_update",
                        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")
# Asks for 128 MiB arrays until the kernel's memory limit stops it (np.empty:
# the address space runs out without the machine's memory being touched).
memory_hog = _append("perceptron_predict",
                     "_hog = [np.empty(2**24) for _ in range(10**6)]")
# 50 MB of prints after a correct definition.
huge_output = _append("train_perceptron",
                      "for _ in range(50):\n    print('x' * 1_000_000)")


def not_json(folder, nb):
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(nb)
    (folder / NOTEBOOK).write_text(text[: len(text) // 2], encoding="utf-8")


def not_utf8(folder, nb):
    folder.mkdir(parents=True, exist_ok=True)
    data = json.dumps(nb, ensure_ascii=False).encode("utf-8")
    (folder / NOTEBOOK).write_bytes(data.replace(b"perceptron", b"perc\xe9ptron", 1))


def renamed(folder, nb):
    _write(folder, nb, name="ps1_perceptron (1).ipynb")


def missing(folder, nb):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "answers.py").write_text("def heaviside(z):\n    return z >= 0\n")


def cells_deleted(folder, nb):
    """The test cell test_sign is gone (and with it its point)."""
    del nb.cells[cell_index(nb, "test_sign")]
    _write(folder, nb)


def cells_duplicated(folder, nb):
    """test_heaviside twice: the first copy becomes an ordinary cell."""
    i = cell_index(nb, "test_heaviside")
    copy = nbformat.from_dict(json.loads(json.dumps(nb.cells[i])))
    copy.id = "pasted-copy"  # Jupyter gives a pasted cell a new id
    nb.cells.insert(i, copy)
    _write(folder, nb)


WRONG_SIGN = '''
def heaviside(z):
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)


def sign(z):
    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, -1.0)  # wrong at 0
'''


def edited_test_cell(folder, nb):
    """A wrong sign() and a test cell emptied so that it "passes"."""
    nb.cells[cell_index(nb, "step_functions")].source = WRONG_SIGN
    nb.cells[cell_index(nb, "test_sign")].source = "# the test was too strict\npass"
    _write(folder, nb)


def cell_type_changed(folder, nb):
    """The answer cell step_functions turned into markdown (its code intact)."""
    i = cell_index(nb, "step_functions")
    old = nb.cells[i]
    new = nbformat.v4.new_markdown_cell(old.source)
    new.metadata = old.metadata
    nb.cells[i] = new
    _write(folder, nb)


def empty_folder(folder, nb):
    folder.mkdir(parents=True, exist_ok=True)


FAULTS = {
    "infinite_loop": infinite_loop,
    "kernel_dies": kernel_dies,
    "kills_grader": kills_grader,
    "memory_hog": memory_hog,
    "huge_output": huge_output,
    "not_json": not_json,
    "not_utf8": not_utf8,
    "renamed": renamed,
    "missing": missing,
    "cells_deleted": cells_deleted,
    "cells_duplicated": cells_duplicated,
    "test_edited": edited_test_cell,
    "cell_type_changed": cell_type_changed,
    "empty_folder": empty_folder,
}


def write_fault(student, folder, release_path, source_path):
    """Write one fault fixture's submission folder."""
    FAULTS[student](Path(folder), solved_release(release_path, source_path))

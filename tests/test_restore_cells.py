"""Deleted cells are put back from the source notebook and graded.

Fast tests call ``restore_deleted_cells`` on ps1_perceptron; the slow one
autogrades, in ONE nbgrader run with the course's configuration, an honest
submission and submissions that deleted a test cell, an answer cell or the
locked set-up cell: each deleted cell is restored and scored, never left for
manual grading.
"""

import nbformat
import pytest
from nbgrader.api import Gradebook
from traitlets.config import Config

from course.preprocessors.restore import RestoreDeletedCells, restore_deleted_cells
from tests import faults
from tests.notebook_tools import REPO, copy_course, nbgrader, nbgrader_metadata

NAME = "ps1_perceptron"
SOURCE = REPO / "solutions" / NAME / faults.NOTEBOOK
RELEASE = REPO / "assignments" / NAME / faults.NOTEBOOK
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def _ids(nb):
    return [nbgrader_metadata(c).get("grade_id") for c in nb.cells]


def _without(nb, *grade_ids):
    for grade_id in grade_ids:
        del nb.cells[faults.cell_index(nb, grade_id)]
    return nb


def _released_version(cell):
    new = nbformat.from_dict(cell)
    if nbgrader_metadata(new).get("solution"):
        new.source = STUB
    return new


def test_deleted_cells_go_back_where_they_were_in_the_source():
    release = nbformat.read(RELEASE, as_version=4)
    source = nbformat.read(SOURCE, as_version=4)
    nb = _without(nbformat.read(RELEASE, as_version=4),
                  "setup", "test_sign", "mp_neuron", "test_mp_neuron")
    restored = restore_deleted_cells(nb, source, _released_version)
    assert restored == ["setup", "test_sign", "mp_neuron", "test_mp_neuron"]
    graded_ids = [gid for gid in _ids(release) if gid]
    assert [gid for gid in _ids(nb) if gid] == graded_ids
    # A cell with no predecessor goes first; the others follow their predecessor.
    assert _ids(nb)[0] == "setup"
    assert _ids(nb).index("test_sign") == _ids(nb).index("test_heaviside") + 1
    answer = nb.cells[faults.cell_index(nb, "mp_neuron")]
    assert answer.source == STUB and answer.metadata["course"]["restored"]
    assert len({c.id for c in nb.cells}) == len(nb.cells)


def test_nothing_is_restored_when_nothing_was_deleted():
    nb = nbformat.read(RELEASE, as_version=4)
    before = nbformat.writes(nb)
    source = nbformat.read(SOURCE, as_version=4)
    assert restore_deleted_cells(nb, source, _released_version) == []
    assert nbformat.writes(nb) == before


def test_preprocessor_restores_release_version_from_the_course_source(tmp_path):
    """An answer cell comes back as released (nbgrader's stub), never solved."""
    course = copy_course(tmp_path / "course")
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.source_directory = "solutions"
    config.ClearSolutions.code_stub = {"python": STUB}
    nb = _without(nbformat.read(RELEASE, as_version=4), "step_functions")
    resources = {"nbgrader": {"assignment": NAME, "notebook": NAME}}
    nb, _ = RestoreDeletedCells(config=config).preprocess(nb, resources)
    cell = nb.cells[faults.cell_index(nb, "step_functions")]
    release = nbformat.read(RELEASE, as_version=4)
    released = release.cells[faults.cell_index(release, "step_functions")]
    assert cell.source == released.source
    assert "raise NotImplementedError()" in cell.source
    assert "BEGIN SOLUTION" not in nbformat.writes(nb)


DELETED = {  # student -> grade_ids deleted from a fully solved submission
    "honest": (),
    "deleted_test_cell": ("test_sign",),
    "deleted_answer_cell": ("mp_neuron",),
    "deleted_setup_cell": ("setup",),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Autograde every DELETED submission in one nbgrader run."""
    course = copy_course(tmp_path_factory.mktemp("restore") / "course")
    nbgrader("generate_assignment", NAME, "--force", cwd=course)
    release, source = (course / "assignments" / NAME / faults.NOTEBOOK,
                       course / "solutions" / NAME / faults.NOTEBOOK)
    for student, grade_ids in DELETED.items():
        nb = _without(faults.solved_release(release, source), *grade_ids)
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / faults.NOTEBOOK)
    nbgrader("autograde", NAME, cwd=course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grades = {student: {g.name: g for g in gb.find_submission_notebook(
            NAME, NAME, student).grades} for student in DELETED}
        return {student: {name: (g.auto_score, g.max_score, g.needs_manual_grade)
                          for name, g in cells.items()}
                for student, cells in grades.items()}, course


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(DELETED))
def test_deleted_cells_are_restored_and_scored_not_left_for_manual_grading(
        graded, student):
    grades, course = graded
    scores = {name: auto for name, (auto, _, _) in grades[student].items()}
    full = {name: top for name, (_, top, _) in grades["honest"].items()}
    lost = {"deleted_answer_cell": {"test_mp_neuron"}}.get(student, set())
    expected = {name: 0.0 if name in lost else full[name] for name in full}
    expected["xor_explanation"] = scores["xor_explanation"]  # written: by hand
    assert scores == expected, student
    assert all(not manual for name, (_, _, manual) in grades[student].items()
               if name != "xor_explanation"), grades[student]
    autograded = nbformat.read(course / "autograded" / student / NAME
                               / faults.NOTEBOOK, as_version=4)
    for grade_id in DELETED[student]:
        cell = autograded.cells[faults.cell_index(autograded, grade_id)]
        assert cell.metadata["course"]["restored"], grade_id

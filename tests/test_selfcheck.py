"""``course check NOTEBOOK``: one notebook graded as ``course grade`` grades it,
with nothing in the course folder changed."""

import hashlib

import nbformat
import pytest

from course import autograde, cli, isolation, selfcheck
from tests.notebook_tools import REPO, copy_course, fill_answers, solution_answers

NAME = "ps1_perceptron"
NOTEBOOK = f"{NAME}.ipynb"


def _tree(folder):
    """path -> digest of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def course(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return copy_course(tmp_path / "course")


def _notebook(course, folder, **changes):
    """The release of ps1 with the solution's answers, some replaced."""
    answers = solution_answers(course / "solutions" / NAME / NOTEBOOK)
    for grade_id, (old, new) in changes.items():
        assert old in answers[grade_id]
        answers[grade_id] = answers[grade_id].replace(old, new)
    release = nbformat.read(course / "assignments" / NAME / NOTEBOOK, as_version=4)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "my answers.ipynb"
    nbformat.write(fill_answers(release, answers), path)
    return path


@pytest.mark.slow
def test_a_wrong_answer_gets_course_grades_points_and_the_failed_checks_message(
        course, tmp_path, capsys):
    path = _notebook(course, tmp_path / "elsewhere", step_functions=("z >= 0", "z > 0"))
    before = _tree(course)
    status = cli.main(["check", str(path), "--course-dir", str(course)])
    out = capsys.readouterr().out
    assert status == 1
    assert "assignment ps1_perceptron, graded in the sandbox" in out
    assert "test_heaviside             0 / 1" in out
    assert "heaviside(0.0)" in out and "expected 1, got 0" in out
    assert "test_sign                  1 / 1  ok" in out
    assert "xor_explanation" in out and "graded by a person" in out
    assert "total (automatic): " in out and "feedback: " in out
    feedback = out.split("feedback: ")[1].strip()
    assert feedback.startswith(str(tmp_path / "cache")) and open(feedback).read()
    assert _tree(course) == before  # no gradebook, no submitted/, nothing new
    assert not (course / "gradebook.db").exists()

    # The same notebook graded by `course grade` as one student of a class.
    result = selfcheck.check_notebook(path, course_dir=course)
    target = course / "submitted" / "student" / NAME
    target.mkdir(parents=True)
    (target / NOTEBOOK).write_bytes(path.read_bytes())
    run = autograde.grade_assignment(NAME, course_dir=course, workers=1)
    graded = run.students[0].cells
    for cell in result.auto_cells:
        assert cell.score == graded[cell.grade_id][0], cell.grade_id


@pytest.mark.slow
def test_the_solution_has_full_marks_and_exit_status_0_even_without_the_sandbox(
        course, monkeypatch, capsys):
    def unavailable():
        raise isolation.IsolationUnavailable("no bubblewrap here")

    monkeypatch.setattr(isolation, "check", unavailable)
    # Inside the course folder: the course is found from the notebook's place.
    path = _notebook(course, course / "my work")
    before = _tree(course)
    status = cli.main(["check", str(path)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "WITHOUT the sandbox" in out and "full marks" in out
    assert _tree(course) == before


def test_the_course_is_found_above_the_notebook_or_is_the_installed_one(course, tmp_path):
    (course / "sub").mkdir()
    assert selfcheck.find_course(course / "sub" / "x.ipynb") == course
    assert selfcheck.find_course(tmp_path / "x.ipynb") == REPO
    with pytest.raises(selfcheck.CheckError, match="not a course folder"):
        selfcheck.find_course(tmp_path / "x.ipynb", course_dir=tmp_path)


def _write(name, text):
    def make(folder):
        path = folder / name
        path.write_text(text)
        return path
    return make


@pytest.mark.parametrize("make, message", [
    (_write("work.txt", "hello"), "not a notebook (expected a .ipynb file)"),
    (_write("work.ipynb", '{"cells": ['), "not valid JSON"),
    (_write("work.ipynb", '{"a": 1}'), "JSON, but not a Jupyter notebook"),
    (lambda folder: folder / "nothere.ipynb", "no such file"),
])
def test_bad_files_get_one_clear_line(course, tmp_path, capsys, make, message):
    path = make(tmp_path)
    assert cli.main(["check", str(path), "--course-dir", str(course)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_another_assignments_notebook_or_an_unknown_assignment_is_named(
        course, tmp_path, capsys):
    other = course / "assignments" / "ps2_forward_pass" / "ps2_forward_pass.ipynb"
    assert cli.main(["check", str(other), "--course-dir", str(course),
                     "--assignment", NAME]) == 2
    assert "not a notebook of ps1_perceptron" in capsys.readouterr().err
    assert cli.main(["check", str(other), "--course-dir", str(course),
                     "--assignment", "ps9"]) == 2
    err = capsys.readouterr().err
    assert "no assignment 'ps9'" in err and NAME in err
    blank = tmp_path / "blank.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), blank)
    assert cli.main(["check", str(blank), "--course-dir", str(course)]) == 2
    assert "has no graded cells" in capsys.readouterr().err


def test_the_assignment_is_found_by_its_cells_not_its_file_name(course, tmp_path):
    other = course / "assignments" / "ps2_forward_pass" / "ps2_forward_pass.ipynb"
    nb = nbformat.read(other, as_version=4)
    name, source = selfcheck.find_assignment(nb, tmp_path / NOTEBOOK, course)
    assert name == "ps2_forward_pass" and source.name == "ps2_forward_pass.ipynb"
    # An editor that dropped the cells' metadata: only the file name is left.
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    with pytest.raises(selfcheck.CheckError, match="named like ps1_perceptron"):
        selfcheck.find_assignment(nb, tmp_path / NOTEBOOK, course)

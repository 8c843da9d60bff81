"""`course grade` resumes: a submission graded before is not graded again.

Each job has a content hash (``course.grader.engine``): the submission's
files, the assignment's source, the configuration, the cached reference
values, the limits and the grading code. A rerun grades only what changed;
``--regrade`` grades everything. A submission that runs past the whole
submission's time is stopped with its kernels. What an attacker tried
against the engine (the socket folder as a channel between students or a
way to fill the disk, odd file names, damaged notebooks) is graded in one
run with honest submissions.
"""

import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from course import autograde
from course.cli import main
from tests import faults
from tests.test_course_grade import NAME, _gradebook_contents, _paths, _scores, _submit
from tests.test_course_grade import base_course  # noqa: F401 - a fixture

pytestmark = pytest.mark.slow


def _grade(course, capsys, *flags):
    status = main(["grade", NAME, "--course-dir", str(course), "--no-progress",
                   "--workers", "2", *flags])
    summary = capsys.readouterr().out
    assert status == 0, summary
    return summary


def _auto(cells):
    return sum(v or 0 for k, v in cells.items() if k != "xor_explanation")


def test_rerun_grades_only_what_changed(base_course, tmp_path, capsys):
    course = tmp_path / "course"
    shutil.copytree(base_course, course)
    release, source = _paths(course)
    solved = faults.solved_release(release, source)
    _submit(course, "solution", solved)
    _submit(course, "blank", nbformat.read(release, as_version=4))
    _submit(course, "partial", faults.solved_release(
        release, source, only={"step_functions", "mp_neuron"}))
    first = _grade(course, capsys)
    assert "unchanged since" not in first
    rows = _gradebook_contents(course)

    again = _grade(course, capsys)
    assert "graded: 3   failed: 0" in again
    assert "3 unchanged since they were last graded" in again
    assert "with 0 workers" in again  # nothing was sent to the cluster
    assert _gradebook_contents(course) == rows

    # Their feedback is gone: graded again.
    shutil.rmtree(course / "feedback" / "solution")
    assert "2 unchanged since" in _grade(course, capsys)
    assert (course / "feedback" / "solution").is_dir()

    # The blank student hands in the solution: only they are graded again.
    shutil.rmtree(course / "submitted" / "blank")
    _submit(course, "blank", solved)
    changed = _grade(course, capsys)
    assert "2 unchanged since they were last graded" in changed
    assert _auto(_scores(course)["blank"]) == 13

    # Their autograded notebook is gone: graded again, the others stand.
    shutil.rmtree(course / "autograded" / "partial")
    assert "2 unchanged since" in _grade(course, capsys)
    assert (course / "autograded" / "partial" / NAME / faults.NOTEBOOK).is_file()

    # --regrade, and a changed configuration, grade everyone.
    assert "unchanged since" not in _grade(course, capsys, "--regrade")
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "\n# changed\n")
    assert "unchanged since" not in _grade(course, capsys)
    assert _auto(_scores(course)["solution"]) == 13


def test_a_submission_past_its_whole_time_is_stopped_with_its_kernels(
        base_course, tmp_path, capsys, monkeypatch):
    course = tmp_path / "course"
    shutil.copytree(base_course, course)
    release, source = _paths(course)
    sleeper = faults._prepend("mp_neuron", "import time\ntime.sleep(600)")
    sleeper(course / "submitted" / "sleeper" / NAME,
            faults.solved_release(release, source))
    # The cells' own limit (60 s) would come too late: the whole submission's stops it.
    monkeypatch.setattr(autograde, "_submission_limit", lambda timeout, cells: 15)
    start = time.monotonic()
    summary = _grade(course, capsys, "--timeout", "60")
    assert time.monotonic() - start < 120
    assert ("sleeper: grading it took more than 15 s in all and was stopped; "
            "nothing could be graded") in summary
    assert set(_scores(course)["sleeper"].values()) == {0.0}
    left = [p.cmdline() for p in psutil.Process().children(recursive=True)
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not [c for c in left if any("ipykernel" in a or "course.grader.worker" in a
                                       for a in c)], left


_SOCKETS = "\n".join([
    "import json as _json, os as _os",
    "from ipykernel import get_connection_file as _cf",
    "_dir = _os.path.dirname(_json.load(open(_cf()))['ip'])",
])
# Leaves a note in the folder of its kernel's sockets (a real folder of the
# grader, writable from the sandbox) for whoever is graded next.
writes_a_note = faults._prepend("step_functions", _SOCKETS + "\n" + "\n".join([
    "with open(_os.path.join(_dir, 'note.txt'), 'w') as _f:",
    "    _f.write('A SECRET')",
]))
# Looks for that note.
reads_the_note = faults._prepend("step_functions", _SOCKETS + "\n" + (
    "print('FOUND' if _os.path.exists(_os.path.join(_dir, 'note.txt')) else 'CLEAN')"))
# Tries to fill the grader's disk through the same folder.
fills_the_folder = faults._prepend("step_functions", _SOCKETS + "\n" + "\n".join([
    "import time as _time",
    "for _i in range(400):",
    "    with open(_os.path.join(_dir, f'junk{_i}'), 'wb') as _f:",
    "        _f.write(b'x' * 2**20)",
    "    _time.sleep(0.01)",
]))


def test_hostile_files_and_the_socket_folder(base_course, tmp_path, capsys):
    """Graded in one sandboxed grading process, in this order: the note left in
    the socket folder is gone for the next student; a kernel filling that
    folder is stopped and the next student keeps full marks; odd file names,
    a notebook nested too deeply and damaged nbgrader metadata are each one
    printable line, and the run finishes with its reports."""
    course = tmp_path / "course"
    shutil.copytree(base_course, course)
    release, source = _paths(course)
    solved = faults.solved_release(release, source)

    def folder(student):
        return course / "submitted" / student / NAME

    writes_a_note(folder("a_writer"), faults.solved_release(release, source))
    reads_the_note(folder("b_reader"), faults.solved_release(release, source))
    fills_the_folder(folder("c_filler"), faults.solved_release(release, source))
    _submit(course, "d_honest", solved)
    _submit(course, "e_odd_names", solved)
    (folder("e_odd_names") / os.fsdecode(b"\xff-notes.txt")).write_text("mine")
    os.symlink(course / "gradebook.db", folder("e_odd_names") / os.fsdecode(b"\xfe"))
    folder("f_deep").mkdir(parents=True)
    (folder("f_deep") / faults.NOTEBOOK).write_text("[" * 100_000)
    damaged = nbformat.from_dict(solved)
    damaged.cells[faults.cell_index(damaged, "mp_neuron")].metadata["nbgrader"] = "x"
    _submit(course, "g_damaged_metadata", damaged)

    summary = _grade(course, capsys, "--workers", "1")
    scores = _scores(course)
    graded = nbformat.read(course / "autograded" / "b_reader" / NAME / faults.NOTEBOOK,
                           as_version=4)
    cell = graded.cells[faults.cell_index(graded, "step_functions")]
    printed = "".join(out.get("text", "") for out in cell.outputs)
    assert printed.strip() == "CLEAN", printed
    assert ("c_filler: its kernel wrote more than 16 MiB into the folder of its "
            "sockets, outside its scratch folder, and was stopped") in summary
    assert set(scores["c_filler"].values()) == {0.0}
    for honest in ("a_writer", "b_reader", "d_honest", "e_odd_names"):
        assert _auto(scores[honest]) == 13, (honest, summary)
    assert "\\xff-notes.txt" not in summary  # shipped: nothing to say
    assert "\\xfe is a symbolic link: it was not copied for grading" in summary
    assert ("f_deep: ps1_perceptron.ipynb is nested too deeply to be a notebook"
            in summary)
    assert "g_damaged_metadata" in scores
    assert (course / f"grade_report_{NAME}.csv").read_text(encoding="utf-8")
    left = list(Path(tempfile.gettempdir()).glob("course-grade-*/ipc/junk*"))
    assert not left, left

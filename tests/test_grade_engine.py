"""The Dask grading engine's parts that need no notebook (fast).

What a job carries and how its content hash behaves, what never travels
(symbolic links, special files), that returned files cannot land outside
their folder, and the one-line remark on a scheduler's settings.
"""

import os
import subprocess

import pytest

from course.grader import engine


def _tree(folder, files):
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def test_a_job_carries_the_regular_files_and_leaves_out_links(tmp_path):
    folder = _tree(tmp_path / "sub", {"ps1.ipynb": b"{}", "data/x.csv": b"1,2",
                                       ".ipynb_checkpoints/ps1-checkpoint.ipynb": b"old"})
    secret = tmp_path / "secret.txt"
    secret.write_text("the gradebook")
    os.symlink(secret, folder / "link.txt")
    os.mkfifo(folder / "pipe")
    job = engine.submission_job("alice", folder, "bundle")
    assert job.files is None  # read when the job is sent, not kept for the class
    assert engine.load(job).files == {"ps1.ipynb": b"{}", "data/x.csv": b"1,2"}
    assert job.skipped == [
        "link.txt is a symbolic link: it was not copied for grading",
        "pipe is not a regular file: it was not copied for grading"]


def test_the_job_key_changes_with_the_files_the_student_and_the_bundle(tmp_path):
    folder = _tree(tmp_path / "sub", {"ps1.ipynb": b"{}"})
    key = engine.submission_job("alice", folder, "b1").key
    assert engine.submission_job("alice", folder, "b1").key == key
    assert engine.submission_job("bob", folder, "b1").key != key
    assert engine.submission_job("alice", folder, "b2").key != key
    (folder / "ps1.ipynb").write_bytes(b"{ }")
    assert engine.submission_job("alice", folder, "b1").key != key
    (folder / "ps1.ipynb").write_bytes(b"{}")
    (folder / "ps1.ipynb").rename(folder / "other.ipynb")
    assert engine.submission_job("alice", folder, "b1").key != key


def test_the_bundle_key_ignores_the_gradebook_but_not_source_or_limits(tmp_path):
    source = _tree(tmp_path / "source", {"ps1.ipynb": b"{}"})
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()\n")
    gradebook = tmp_path / "gradebook.db"
    gradebook.write_bytes(b"rows of 10 students")
    limits = {"timeout": 60, "memory_limit": 2**30, "max_output": 1000,
              "isolation": True, "submission": 600, "cpu": 1200, "hidden": []}

    def key(**changed):
        return engine.build_bundle("ps1", config, source, gradebook, None, [],
                                   {**limits, **changed}).key

    first = key()
    bundle = engine.build_bundle("ps1", config, source, gradebook, None, [], limits)
    assert set(bundle.files) == {"nbgrader_config.py", "source/ps1/ps1.ipynb",
                                 "gradebook.db"}
    gradebook.write_bytes(b"rows of 11 students")
    assert key() == first
    assert key(kernel_threads=1) == first  # speed, not grades
    assert key(timeout=30) != first and key(isolation=False) != first
    (source / "ps1.ipynb").write_bytes(b"{ }")
    assert key() != first


def test_returned_files_cannot_land_outside_their_folder(tmp_path):
    with pytest.raises(ValueError, match="points outside"):
        engine.unpack({"../escape.txt": (b"x", 0o644)}, tmp_path / "autograded")
    assert not (tmp_path / "escape.txt").exists()
    engine.unpack({"ps1.ipynb": (b"{}", 0o444)}, tmp_path / "autograded")
    assert (tmp_path / "autograded" / "ps1.ipynb").stat().st_mode & 0o777 == 0o444


def test_a_scheduler_with_other_settings_gets_a_one_line_note():
    assert engine.settings_warning({"allowed-failures": 1,
                                    "worker-saturation": 1.0}) is None
    note = engine.settings_warning({"allowed-failures": 3, "worker-saturation": 1.1})
    assert note.startswith("note: the Dask scheduler's allowed-failures is 3 "
                           "(grading wants 1), worker-saturation is 1.1")
    assert "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1" in note
    assert "\n" not in note


def test_any_file_name_travels_and_prints(tmp_path):
    """A name that is not UTF-8 (any bytes but / are allowed) keys, loads and
    prints; so does the note about a link with such a name."""
    folder = _tree(tmp_path / "sub", {"ps1.ipynb": b"{}"})
    odd = os.fsdecode(b"\xff-notes.txt")
    (folder / odd).write_bytes(b"mine")
    os.symlink(tmp_path, folder / os.fsdecode(b"\xfe-link"))
    job = engine.submission_job("alice", folder, "b1")
    assert engine.load(job).files[odd] == b"mine"
    assert job.skipped == ["\\xfe-link is a symbolic link: it was not copied for "
                           "grading"]
    job.skipped[0].encode("utf-8")  # printable as it is


def test_a_submission_ships_at_most_its_total(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "MAX_SHIPPED_TOTAL", 10)
    folder = _tree(tmp_path / "sub", {"a.ipynb": b"123456", "b.bin": b"123456",
                                       "c.txt": b"1234"})
    job = engine.submission_job("alice", folder, "b1")
    assert set(engine.load(job).files) == {"a.ipynb", "c.txt"}
    assert job.skipped == ["b.bin would make the submission larger than 0 MiB: it "
                           "was not copied for grading"]


def test_folders_of_dead_grading_processes_are_removed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    for name, pid in (("course-grade-dead", dead.pid), ("course-grade-live",
                                                        os.getpid())):
        (tmp_path / name).mkdir()
        (tmp_path / name / "grader.pid").write_text(str(pid))
    (tmp_path / "course-grade-unknown").mkdir()  # not ours to judge: kept
    engine._remove_stale_folders(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "course-grade-live", "course-grade-unknown"]


def test_the_job_key_follows_the_grading_code_not_the_lectures():
    assert "grader" in engine.GRADING_CODE and "preprocessors" in engine.GRADING_CODE
    from course import isolation

    # Everything a kernel imports is grading code; lecture helpers are not.
    assert set(isolation.KERNEL_MODULES) <= set(engine.GRADING_CODE)
    assert not {"site.py", "widgets.py", "compare.py"} & set(engine.GRADING_CODE)

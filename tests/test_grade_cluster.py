"""`course grade --scheduler`: grading on a real Dask cluster, and its faults.

A scheduler and worker processes run on localhost over TCP, started and
stopped by the tests with Dask's own commands (``tests/dask_cluster.py``):

- a dozen ordinary submissions graded on the cluster, with a worker killed
  in the middle of a job, get exactly the grades of a local run;
- a submission that kills its grading process, and one that kills the Dask
  worker itself, are each reported failed after their second try, and the
  others are graded;
- the scheduler stopped in the middle of a run: the run stops with one line,
  every stored student is complete, the rest untouched; the same command
  on a new scheduler resumes without grading anyone twice;
- an address where no scheduler listens: one line.
"""

import json
import shutil
import threading
import time

import pytest

from course import autograde
from course.cli import main
from course.grader import engine
from tests import faults
from tests.dask_cluster import DaskCluster, free_port
from tests.test_course_grade import (NAME, _gradebook_contents, _ordinary_submissions,
                                     _paths, _scores, _submit)
from tests.test_course_grade import base_course  # noqa: F401 - a fixture

pytestmark = pytest.mark.slow

# Kills the Dask worker process: the parent of the grading process that
# runs the kernel (without the sandbox; in it, no other process is visible).
kills_dask_worker = faults._prepend("perceptron_update", "\n".join([
    "import os, signal",
    "_stat = open(f'/proc/{os.getppid()}/stat').read()",
    "os.kill(int(_stat.rsplit(')', 1)[1].split()[1]), signal.SIGKILL)",
]))


def _ledger(course):
    path = course / ".grading" / "graded" / f"{NAME}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with DaskCluster(tmp_path_factory.mktemp("dask"), workers=2) as running:
        yield running


def _grade_in_thread(**kwargs):
    """grade_assignment in a thread; returns (thread, box with run or error)."""
    box = {}

    def target():
        try:
            box["run"] = autograde.grade_assignment(NAME, progress=False, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the test reads it
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def _wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_cluster_grades_equal_a_local_run_with_a_worker_killed_mid_job(
        base_course, cluster, tmp_path):
    subs = _ordinary_submissions(base_course)
    courses = {}
    for kind in ("local", "cluster"):
        courses[kind] = tmp_path / kind / "course"
        shutil.copytree(base_course, courses[kind])
        for student, nb in subs.items():
            _submit(courses[kind], student, nb)
    assert len(subs) >= 12
    local = autograde.grade_assignment(NAME, courses["local"], workers=2,
                                       class_reports=False)
    pids = cluster.worker_pids()
    thread, box = _grade_in_thread(course_dir=courses["cluster"],
                                   scheduler=cluster.address, class_reports=False)
    busy = _wait_for(cluster.busy_workers, 120, "a grading job on the cluster")
    time.sleep(1.0)  # well inside the job (a ps1 submission takes seconds)
    cluster.kill_worker(busy[0])
    thread.join(600)
    assert not thread.is_alive() and "error" not in box, box
    run = box["run"]
    assert run.scheduler == cluster.address and not run.failed, run.failed
    assert f"on the Dask cluster at {cluster.address}" in autograde.summary_text(run)
    assert _gradebook_contents(courses["cluster"]) == _gradebook_contents(
        courses["local"])
    assert [s.score for s in run.students] == [s.score for s in local.students]
    # The killed worker was replaced by its nanny; the job went elsewhere.
    assert set(cluster.worker_pids().values()) != set(pids.values())
    for student in subs:
        assert (courses["cluster"] / "autograded" / student / NAME
                / faults.NOTEBOOK).is_file()


def test_submissions_that_kill_their_worker_fail_after_two_tries(
        base_course, cluster, tmp_path, capsys):
    course = tmp_path / "course"
    shutil.copytree(base_course, course)
    release, source = _paths(course)
    faults.write_fault("kills_grader", course / "submitted" / "kills_grader" / NAME,
                       release, source)
    kills_dask_worker(course / "submitted" / "kills_dask_worker" / NAME,
                      faults.solved_release(release, source))
    _submit(course, "honest", faults.solved_release(release, source))
    status = main(["grade", NAME, "--course-dir", str(course), "--scheduler",
                   cluster.address, "--no-isolation", "--no-progress"])
    out = capsys.readouterr()
    summary = out.out
    assert status == 0, out.err
    assert "graded: 1   failed: 2" in summary
    assert ("kills_grader: the grading process itself was killed by signal 9 while "
            "running this submission") in summary
    assert "it was tried twice and is not tried again" in summary
    assert ("kills_dask_worker: the Dask worker grading it was lost 2 times"
            in summary), summary
    scores = _scores(course)
    assert set(scores["kills_grader"].values()) == {0.0}
    assert set(scores["kills_dask_worker"].values()) == {0.0}
    assert sum(v for k, v in scores["honest"].items() if k != "xor_explanation") == 13
    cluster.client().wait_for_workers(2, timeout=120)  # the nannies restarted them


def test_scheduler_lost_mid_run_stops_cleanly_and_the_rerun_resumes(
        base_course, tmp_path, capsys):
    course = tmp_path / "course"
    shutil.copytree(base_course, course)
    subs = dict(list(_ordinary_submissions(base_course).items())[:6])
    for student, nb in subs.items():
        _submit(course, student, nb)
    port = free_port()
    with DaskCluster(tmp_path / "dask1", workers=1, port=port) as first:
        thread, box = _grade_in_thread(course_dir=course, scheduler=first.address,
                                       class_reports=False)
        _wait_for(lambda: len(_ledger(course)) >= 2, 300, "two stored students")
        first.kill_scheduler()
        thread.join(120)
    assert not thread.is_alive()
    error = str(box.get("error"))
    assert isinstance(box.get("error"), autograde.GradingError), box
    assert error.startswith(f"lost the connection to the Dask scheduler at "
                            f"tcp://127.0.0.1:{port} after ")
    assert "\n" not in error and "Run the same command again" in error
    stored = set(_ledger(course))
    assert 2 <= len(stored) < len(subs)
    # Every stored student is complete; the others were not touched.
    scores = _scores(course)
    assert set(scores) == stored
    for student in subs:
        graded = course / "autograded" / student
        assert graded.is_dir() == (student in stored), student
    assert not (course / "grades.csv").exists()

    with DaskCluster(tmp_path / "dask2", workers=2, port=port) as second:
        status = main(["grade", NAME, "--course-dir", str(course), "--scheduler",
                       second.address, "--no-progress"])
    out = capsys.readouterr()
    summary = out.out
    assert status == 0, out.err
    assert f"graded: {len(subs)}   failed: 0" in summary
    assert f"{len(stored)} unchanged since they were last graded" in summary
    assert set(_scores(course)) == set(subs)


def test_no_scheduler_at_the_address_is_one_line(base_course, tmp_path, capsys,
                                                 monkeypatch):
    monkeypatch.setattr(engine, "CONNECT_SECONDS", 3)
    course = tmp_path / "course"
    shutil.copytree(base_course, course)
    release, source = _paths(course)
    _submit(course, "honest", faults.solved_release(release, source))
    address = f"tcp://127.0.0.1:{free_port()}"
    status = main(["grade", NAME, "--course-dir", str(course), "--scheduler",
                   address, "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"error: cannot reach the Dask scheduler at {address}: ")
    assert err.count("\n") == 1, err
    assert not (course / "grades.csv").exists()

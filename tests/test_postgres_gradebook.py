"""A PostgreSQL gradebook, for real: what the README promises courses with
several graders (``COURSE_GRADEBOOK_URL=postgresql://...``).

Every test talks to a throw-away PostgreSQL server that ``tests/postgres.py``
starts (``initdb`` in a temporary folder, a free port on 127.0.0.1, password
authentication), each with its own database:

- two ``course grade`` runs, ps1_perceptron and ps2_forward_pass, started at
  the same moment against one database: both succeed, every student's
  submission of each assignment is there with every grade, and the grades
  equal those of ``course grade`` on an SQLite gradebook;
- nbgrader's own ``autograde``, ``generate_feedback`` and ``export`` against
  the server: the same scores, feedback files, grades.csv with the rows;
- a closed port, an unknown host, a wrong password, a database that does not
  exist: ``course grade`` says so in one line (no password, no traceback) and
  exits 1 before grading anything.
"""

import csv
import importlib
import os
import shutil
import subprocess
import time
import tomllib
from types import SimpleNamespace

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry
from tornado.log import app_log

from course import autograde

from tests.notebook_tools import (BIN, REPO, copy_course, fill_answers, nbgrader,
                                  solution_answers)
from tests.postgres import PASSWORD, free_port, postgres_server  # noqa: F401 (fixture)

PS1, PS2 = "ps1_perceptron", "ps2_forward_pass"
COURSE_ID = "ann-course"
STUDENTS = ("alice_solution", "bob_blank", "carol_wrong")
STAMP = "2026-03-01 12:00:00 UTC"


def _env(url=None):
    """os.environ for a subprocess: this venv first on PATH, the gradebook URL."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("COURSE_GRADEBOOK_URL", None)
    if url is not None:
        env["COURSE_GRADEBOOK_URL"] = url
    return env


def _nbgrader(url, *args, cwd):
    with pytest.MonkeyPatch.context() as mp:
        if url is None:
            mp.delenv("COURSE_GRADEBOOK_URL", raising=False)
        else:
            mp.setenv("COURSE_GRADEBOOK_URL", url)
        return nbgrader(*args, cwd=cwd)


def _course(folder, url, assignments):
    """A course copy whose gradebook (``url``; None: SQLite) knows ``assignments``."""
    course = copy_course(folder)
    for name in assignments:
        _nbgrader(url, "generate_assignment", name, "--force", cwd=course)
    return course


def _notebooks(assignment):
    """student -> notebook: the solution, the blank release, one wrong case."""
    release = nbformat.read(REPO / "assignments" / assignment / f"{assignment}.ipynb",
                            as_version=4)
    solved = fill_answers(release, solution_answers(
        REPO / "solutions" / assignment / f"{assignment}.ipynb"))
    cases = importlib.import_module(f"tests.submissions.{assignment}").CASES
    wrong = next(iter(cases.values()))  # its hidden tests must catch it
    return {"alice_solution": solved, "bob_blank": release,
            "carol_wrong": fill_answers(solved, wrong.answers)}


def _submit(course, assignment, students=STUDENTS):
    for student, nb in _notebooks(assignment).items():
        if student not in students:
            continue
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")
        if student == "alice_solution":
            (folder / "timestamp.txt").write_text(STAMP)


def _course_grade(course, assignment, url, workers=1, extra=()):
    """``course grade`` as a grader runs it: a process of its own."""
    return subprocess.Popen(
        [str(BIN / "course"), "grade", assignment, "--course-dir", str(course),
         "--workers", str(workers), "--no-progress", *extra],
        env=_env(url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout=600):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"{proc.args} failed ({proc.returncode}):\n{out}\n{err}"
    return out


def _contents(url, assignment):
    """student -> every row of the student's submission, by names (not row ids)."""
    with Gradebook(url, COURSE_ID) as gb:
        found = {}
        for sub in gb.assignment_submissions(assignment):
            rows = {("submission", str(sub.timestamp))}
            for nb in sub.notebooks:
                rows.add(("notebook", nb.name, nb.late_submission_penalty, nb.flagged))
                rows |= {("grade", g.name, g.auto_score, g.manual_score, g.extra_credit,
                          g.needs_manual_grade, g.score) for g in nb.grades}
                rows |= {("comment", c.name, c.auto_comment, c.manual_comment)
                         for c in nb.comments}
            found[sub.student.id] = rows
        return found


def _auto_scores(url, assignment):
    """student -> {grade_id: auto_score}."""
    with Gradebook(url, COURSE_ID) as gb:
        return {sub.student.id: {g.name: g.auto_score for nb in sub.notebooks
                                 for g in nb.grades}
                for sub in gb.assignment_submissions(assignment)}


def _graded_cells(assignment):
    """grade_ids of the graded cells of an assignment's solution."""
    nb = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb",
                       as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")}


# ---------------------------------------------------------------------------
# two graders at once on one database


@pytest.fixture(scope="module")
def concurrent(postgres_server, tmp_path_factory):  # noqa: F811
    """ps1 and ps2 graded at the same moment on PostgreSQL; ps1 on SQLite too."""
    url = postgres_server.database("two_graders")
    course = _course(tmp_path_factory.mktemp("pg") / "course", url, (PS1, PS2))
    sqlite_course = _course(tmp_path_factory.mktemp("sqlite") / "course", None, (PS1,))
    for name in (PS1, PS2):
        _submit(course, name)
    _submit(sqlite_course, PS1)
    # The two graders start together; the SQLite run (which shares nothing
    # with them) runs meanwhile, to keep the wall time down.
    procs = {name: _course_grade(course, name, url) for name in (PS1, PS2)}
    on_sqlite = _course_grade(sqlite_course, PS1, None)
    outputs = {name: _finish(proc) for name, proc in procs.items()}
    _finish(on_sqlite)
    return url, course, outputs, f"sqlite:///{sqlite_course / 'gradebook.db'}"


@pytest.mark.slow
def test_two_course_grade_runs_at_once_on_one_database_lose_no_row(concurrent):
    url, course, outputs, _ = concurrent
    for name in (PS1, PS2):
        assert f"graded: {len(STUDENTS)}   failed: 0" in outputs[name], outputs[name]
        rows = _contents(url, name)
        assert sorted(rows) == sorted(STUDENTS), name
        cells = _graded_cells(name)
        for student, student_rows in rows.items():
            grades = {row[1] for row in student_rows if row[0] == "grade"}
            assert grades == cells, (name, student, cells ^ grades)
        scores = _auto_scores(url, name)
        # Code cells were graded for every student (written answers: manual).
        assert all(v is not None for s in scores.values() for k, v in s.items()
                   if k in _auto_graded(name)), scores
        solution, blank = scores["alice_solution"], scores["bob_blank"]
        assert sum(solution[k] for k in _auto_graded(name)) > 0
        assert sum(blank[k] for k in _auto_graded(name)) == 0
        # The wrong case loses what its case says it loses, and only there.
        case = next(iter(importlib.import_module(f"tests.submissions.{name}")
                         .CASES.values()))
        wrong = scores["carol_wrong"]
        lost = {k for k in _auto_graded(name) if wrong[k] < solution[k]}
        assert lost == set(case.loses), (name, lost)
        for student in STUDENTS:
            assert (course / "feedback" / student / name / f"{name}.html").is_file()
    with Gradebook(url, COURSE_ID) as gb:
        assert sorted(s.id for s in gb.students) == sorted(STUDENTS)  # no duplicate
        assert sorted(a.name for a in gb.assignments) == [PS1, PS2]


@pytest.mark.slow
def test_a_student_another_grader_adds_meanwhile_is_kept(postgres_server, monkeypatch):  # noqa: F811
    """The race behind two graders at once: both find no row for a student,
    both add it; the second insert fails and must keep the first's row."""
    url = postgres_server.database("student_race")
    with Gradebook(url, COURSE_ID) as gb:
        gb.add_assignment(PS2)
    coursedir = SimpleNamespace(db_url=url, course_id=COURSE_ID)
    with Gradebook(url, COURSE_ID) as other, \
            autograde._RealCourse(REPO, PS2, coursedir) as real:
        find = real.gb.find_student

        def look_while_the_other_grader_adds(student_id):
            other.add_student(student_id)  # the ps1 grader, between our look and insert
            monkeypatch.setattr(real.gb, "find_student", find)
            raise MissingEntry(student_id)

        monkeypatch.setattr(real.gb, "find_student", look_while_the_other_grader_adds)
        monkeypatch.setattr(app_log, "exception", lambda *a, **k: None)  # nbgrader's
        sub = real._submission("dana", STAMP)
        real.gb.db.commit()
        assert (sub.student.id, sub.assignment.name) == ("dana", PS2)
    with Gradebook(url, COURSE_ID) as gb:
        assert [s.id for s in gb.students] == ["dana"]
        assert gb.find_submission(PS2, "dana").timestamp is not None


def _auto_graded(assignment):
    nb = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb",
                       as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}


@pytest.mark.slow
def test_course_grade_on_postgresql_writes_the_rows_of_an_sqlite_run(concurrent):
    url, _, _, sqlite_url = concurrent
    on_postgres, on_sqlite = _contents(url, PS1), _contents(sqlite_url, PS1)
    assert sorted(on_postgres) == sorted(on_sqlite) == sorted(STUDENTS)
    for student in STUDENTS:
        assert on_postgres[student] == on_sqlite[student], (
            student, sorted(on_postgres[student] ^ on_sqlite[student])[:10])
    stamp = {row for row in on_postgres["alice_solution"] if row[0] == "submission"}
    assert stamp == {("submission", "2026-03-01 12:00:00")}, stamp


# ---------------------------------------------------------------------------
# nbgrader's own commands on the server


@pytest.mark.slow
def test_nbgrader_autograde_feedback_and_export_work_on_postgresql(
        postgres_server, concurrent, tmp_path):  # noqa: F811
    url = postgres_server.database("plain_nbgrader")
    students = ("alice_solution", "carol_wrong")
    course = _course(tmp_path / "course", url, (PS1,))
    _submit(course, PS1, students)
    _nbgrader(url, "autograde", PS1, cwd=course)
    _nbgrader(url, "generate_feedback", PS1, cwd=course)
    _nbgrader(url, "export", cwd=course)
    for student in students:
        assert (course / "autograded" / student / PS1 / f"{PS1}.ipynb").is_file()
        html = course / "feedback" / student / PS1 / f"{PS1}.html"
        assert "<html" in html.read_text(encoding="utf-8").lower(), student
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["student_id"], r["assignment"]) for r in rows) == [
        (s, PS1) for s in students]
    # The same scores as `course grade` gave these students on the server.
    graded_by_course = _auto_scores(concurrent[0], PS1)
    scores = _auto_scores(url, PS1)
    for row in rows:
        student = row["student_id"]
        assert scores[student] == graded_by_course[student], student
        total = sum(v or 0 for v in scores[student].values())
        assert float(row["raw_score"]) == pytest.approx(total), row


# ---------------------------------------------------------------------------
# what a grader sees when the database cannot be reached


@pytest.fixture(scope="module")
def unreachable_course(postgres_server, tmp_path_factory):  # noqa: F811
    """A course with one submission (nothing may get graded), and a database
    that is there (for the wrong port and the wrong password)."""
    postgres_server.database("reachable")
    course = copy_course(tmp_path_factory.mktemp("unreachable") / "course")
    _submit(course, PS1, ("alice_solution",))
    return course


def _closed_port(server):
    port = free_port()
    return port if port != server.port else free_port()


BAD_URLS = {
    "closed port": (lambda s: s.url("reachable", port=_closed_port(s)),
                    "Connection refused"),
    "unknown host": (lambda s: s.url("reachable", host="no-such-host.invalid"),
                     "no-such-host.invalid"),
    "wrong password": (lambda s: s.url("reachable", password="not-" + PASSWORD),
                       'password authentication failed for user "grader"'),
    "no such database": (lambda s: s.url("no_such_db"),
                         'database "no_such_db" does not exist'),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD_URLS)
def test_course_grade_says_in_one_line_why_it_cannot_reach_the_gradebook(
        postgres_server, unreachable_course, case):  # noqa: F811
    make_url, reason = BAD_URLS[case]
    url = make_url(postgres_server)
    start = time.perf_counter()
    proc = _course_grade(unreachable_course, PS1, url, extra=["--no-isolation"])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    shown = url.replace(url.split("@")[0].split(":")[-1], "***", 1)
    assert lines[0].startswith(
        f"error: cannot connect to the gradebook database at {shown}: "), lines[0]
    assert reason in lines[0], lines[0]
    assert "Traceback" not in out + err
    assert PASSWORD not in out + err and "not-" + PASSWORD not in out + err
    assert not (unreachable_course / "autograded").exists()  # nothing graded
    assert time.perf_counter() - start < 60


def test_the_dev_extra_installs_the_postgres_driver():
    """``pip install -e ".[dev]"`` (make test, CI) brings what these tests need."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert "psycopg[binary]>=3.1" in extras["postgres"]
    assert set(extras["postgres"]) <= set(extras["dev"])
    assert shutil.which("course", path=str(BIN))

"""A whole term of one assignment, through nbgrader's exchange, in temporary folders.

The instructor generates and releases ps1_perceptron into a temporary
exchange; three students fetch it, work, and submit from their own home and
work folders; the instructor collects, autogrades, writes and releases
feedback, and exports the grades; each student fetches their feedback.

Who is who. nbgrader 0.9.6 takes a student's id from the operating-system
account (``pwd.getpwuid(os.getuid())``; ``JUPYTERHUB_USER`` only when that
account is ``jovyan``), not from an environment variable. All students here
share one account, so each one gives their id as ``--student=<id>`` would
(``CourseDirectory.student_id``, nbgrader's option for shared logins) and has
a home of their own: ``nbgrader submit`` keeps a copy of each submission in
``$JUPYTER_DATA_DIR/nbgrader_cache``, and ``fetch_feedback`` finds feedback
only for the submissions in that cache. The students' commands run nbgrader's
own exchange classes (what ``nbgrader fetch_assignment``, ``submit`` and
``fetch_feedback`` run) in this process, configured with the student's id,
cache, work folder and the exchange root: starting the nbgrader program
takes seconds, and ten student commands would take minutes. The
instructor's commands are the real ``nbgrader`` program in the course folder,
with the exchange given by ``COURSE_EXCHANGE``.

- alice submits the reference solution;
- bob submits a wrong notebook, then a better one: the later one is graded;
- carol submits after the due date. The due date is set in the gradebook
  (the gradebook API, as ``nbgrader db assignment add --duedate`` does) to a
  moment between the last
  submission on time and carol's, taken from the clock with a real gap on
  both sides; autograde compares it with the timestamp nbgrader recorded.
  The course sets no late penalty; autograde runs here with
  ``--LateSubmissionPlugin.penalty_method=zero`` so that the export's
  penalty column shows which submission was late.
"""

import csv
import datetime as dt
import os
import subprocess
import time

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import (
    ExchangeFetchAssignment, ExchangeFetchFeedback, ExchangeSubmit,
)
from traitlets.config import Config

from tests.notebook_tools import (
    BIN, REPO, copy_course, fill_answers, graded_code_cells, solution_answers,
)
from tests.submissions.ps1_perceptron import CASES

pytestmark = pytest.mark.slow

NAME = "ps1_perceptron"
COURSE_ID = "ann-course"
AUTO_POINTS = 13   # the written answer (3 points) is graded by hand, so 0 here
MAX_POINTS = 16

# (student, label of this submission, answers that differ from the solution)
ALICE = ("alice", "alice-solution", {})
BOB_FIRST = ("bob", "bob-first-try", CASES["train_cached"].answers)
BOB_SECOND = ("bob", "bob-second-try", CASES["sign_at_zero"].answers)
CAROL = ("carol", "carol-late", CASES["update_in_place"].answers)


def _lost(case):
    return sum(points for gid, points in _auto_points().items()
               if gid in CASES[case].loses)


def _auto_points():
    return graded_code_cells(REPO / "solutions" / NAME / f"{NAME}.ipynb")


def _run(args, cwd, env):
    result = subprocess.run([str(BIN / "nbgrader"), *args, "--log-level=WARN"], cwd=cwd,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        f"nbgrader {' '.join(args)} failed:\n{result.stdout[-2000:]}\n"
        f"{result.stderr[-4000:]}")
    return result


class Instructor:
    def __init__(self, course, exchange):
        self.course = course
        self.env = dict(os.environ, COURSE_EXCHANGE=str(exchange),
                        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        self.env.pop("COURSE_GRADEBOOK_URL", None)

    def __call__(self, *args):
        return _run(args, self.course, self.env)


class Student:
    """One student: an id, a home (with nbgrader's cache) and a work folder."""

    def __init__(self, student_id, root, exchange):
        self.id = student_id
        self.home = root / student_id
        self.work = self.home / "work"
        self.work.mkdir(parents=True)
        self.exchange = exchange

    def __call__(self, command):
        """Run ``command`` (an nbgrader exchange class) as this student."""
        config = Config()
        config.CourseDirectory.root = str(self.work)
        config.CourseDirectory.course_id = COURSE_ID
        config.CourseDirectory.assignment_id = NAME
        config.CourseDirectory.student_id = self.id
        config.Exchange.root = str(self.exchange)
        config.Exchange.assignment_dir = str(self.work)
        config.Exchange.cache = str(self.home / ".local/share/jupyter/nbgrader_cache")
        command(coursedir=CourseDirectory(config=config),
                authenticator=Authenticator(config=config), config=config).start()

    def work_on(self, label, answers, solution):
        """Write the answers into the fetched notebook, signed with ``label``."""
        path = self.work / NAME / f"{NAME}.ipynb"
        nb = nbformat.read(path, as_version=4)
        mine = {**solution, **answers}
        mine["step_functions"] = f"# submission: {label}\n" + mine["step_functions"]
        nbformat.write(fill_answers(nb, mine), path)


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    root = tmp_path_factory.mktemp("exchange_workflow")
    course = copy_course(root / "course")
    exchange = root / "exchange"
    exchange.mkdir()
    instructor = Instructor(course, exchange)
    students = {s: Student(s, root / "homes", exchange)
                for s in ("alice", "bob", "carol")}
    solution = solution_answers(course / "solutions" / NAME / f"{NAME}.ipynb")

    instructor("generate_assignment", NAME, "--force")
    instructor("release_assignment", NAME, "--force")
    for student in students.values():
        student(ExchangeFetchAssignment)

    def submit(student_id, label, answers):
        students[student_id].work_on(label, answers, solution)
        students[student_id](ExchangeSubmit)

    submit(*BOB_FIRST)
    submit(*ALICE)
    submit(*BOB_SECOND)
    time.sleep(0.5)
    due = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.5)
    submit(*CAROL)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        gb.update_or_create_assignment(NAME, duedate=due.replace(tzinfo=None))

    instructor("collect", NAME)
    instructor("autograde", NAME, "--LateSubmissionPlugin.penalty_method=zero")
    instructor("generate_feedback", NAME)
    instructor("release_feedback", NAME)
    for student in students.values():
        student(ExchangeFetchFeedback)
    instructor("export")

    with open(course / "grades.csv", newline="") as f:
        grades = {row["student_id"]: row for row in csv.DictReader(f)
                  if row["assignment"] == NAME}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        late = {s: gb.find_submission(NAME, s).total_seconds_late for s in students}
    return course, exchange, students, grades, late, due


def test_exported_scores_are_exact_for_the_known_answers(term):
    _, _, _, grades, _, _ = term
    assert sum(_auto_points().values()) == AUTO_POINTS
    assert set(grades) == {"alice", "bob", "carol"}
    expected_raw = {"alice": AUTO_POINTS,
                    "bob": AUTO_POINTS - _lost("sign_at_zero"),
                    "carol": AUTO_POINTS - _lost("update_in_place")}
    assert expected_raw == {"alice": 13, "bob": 12, "carol": 11}
    for student, raw in expected_raw.items():
        row = grades[student]
        assert float(row["raw_score"]) == raw, (student, row)
        assert float(row["max_score"]) == MAX_POINTS, (student, row)


def test_only_the_late_submission_is_marked_late_and_penalised(term):
    _, _, _, grades, late, due = term
    assert late["carol"] > 0 and late["alice"] == 0 and late["bob"] == 0, late
    for student, row in grades.items():
        submitted = dt.datetime.fromisoformat(row["timestamp"])
        due_date = dt.datetime.fromisoformat(row["duedate"])
        assert abs((due_date - due.replace(tzinfo=None)).total_seconds()) < 1e-3
        assert (submitted > due_date) == (student == "carol"), (student, row)
    assert float(grades["carol"]["late_submission_penalty"]) == 11
    assert float(grades["carol"]["score"]) == 0
    for student in ("alice", "bob"):
        assert float(grades[student]["late_submission_penalty"]) == 0
        assert float(grades[student]["score"]) == float(grades[student]["raw_score"])


def test_the_later_of_two_submissions_is_the_one_graded(term):
    course, exchange, _, grades, _, _ = term
    inbound = sorted((exchange / COURSE_ID / "inbound").glob(f"bob+{NAME}+*"))
    assert len(inbound) == 2, "both of bob's submissions reach the exchange"
    submitted = (course / "submitted" / "bob" / NAME / f"{NAME}.ipynb").read_text()
    assert "bob-second-try" in submitted and "bob-first-try" not in submitted
    assert float(grades["bob"]["raw_score"]) == AUTO_POINTS - _lost("sign_at_zero")
    assert AUTO_POINTS - _lost("train_cached") != AUTO_POINTS - _lost("sign_at_zero")


def test_each_student_fetches_only_their_own_feedback(term):
    _, _, students, _, _, _ = term
    labels = {"alice": "alice-solution", "bob": "bob-second-try", "carol": "carol-late"}
    others = {"alice-solution", "bob-first-try", "bob-second-try", "carol-late"}
    for student_id, student in students.items():
        feedback = sorted((student.work / NAME / "feedback").rglob("*"))
        html = [p for p in feedback if p.is_file()]
        assert [p.name for p in html] == [f"{NAME}.html"], (student_id, feedback)
        text = html[0].read_text(encoding="utf-8")
        assert labels[student_id] in text, f"{student_id}'s feedback lacks their work"
        for label in others - {labels[student_id]}:
            assert label not in text, f"{student_id}'s feedback shows {label}"
    bob_wrong_at_zero = "sign(0) should be 0"
    assert bob_wrong_at_zero in (students["bob"].work / NAME / "feedback").rglob(
        "*.html").__next__().read_text(encoding="utf-8")

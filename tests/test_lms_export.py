"""``course export``: the gradebook in Canvas's and Moodle's import formats.

The gradebook is built with nbgrader's Gradebook API in a temporary course
folder (the course's own ``nbgrader_config.py``): two assignments, a
manually graded cell, a grader's override of an autograded cell, extra
credit, a late penalty, a cell still waiting for its manual grade, a student
who missed an assignment and one who submitted nothing. Expected scores are
computed from that specification with nbgrader's documented rule and checked
against nbgrader's own CSV export of the same gradebook.
"""

import csv
import io
import shutil

import pytest
from alembic.script import ScriptDirectory
from nbgrader import api as nbgrader_api
from nbgrader.api import Gradebook
from nbgrader.dbutil import ALEMBIC_DIR
from nbgrader.plugins import CsvExportPlugin

from course import lms_export
from course.cli import main
from tests.notebook_tools import REPO

COURSE_ID = "ann-course"

# assignment -> notebook -> {cell: (max score, cell type)}
LAYOUT = {
    "ps1_perceptron": {"ps1_perceptron": {"neuron": (4.0, "code"),
                                          "explain": (6.0, "markdown")}},
    "ps2_forward_pass": {"ps2_forward_pass": {"forward": (5.0, "code"),
                                              "shapes": (3.0, "code")}},
}
# student -> (first, last, email, lms_user_id)
STUDENTS = {
    "alice": ("Alice", "Archer", "alice@uni.example", "101"),
    "bob": ("Bob", "Baker", "bob@uni.example", ""),
    "carol": ("Carol", "Cooper", "", ""),
    "dave": ("Dave", "Dunn", "dave@uni.example", ""),  # submitted nothing
}
# (student, assignment) -> {"grades": {cell: dict(auto, manual, extra)},
#                           "penalty": late penalty of the notebook}
SUBMISSIONS = {
    ("alice", "ps1_perceptron"): {
        "grades": {"neuron": {"auto": 4.0}, "explain": {"manual": 5.0}}, "penalty": 0.0},
    ("alice", "ps2_forward_pass"): {
        "grades": {"forward": {"auto": 5.0}, "shapes": {"auto": 2.0, "extra": 1.0}},
        "penalty": 0.0},
    ("bob", "ps1_perceptron"): {  # late
        "grades": {"neuron": {"auto": 3.0}, "explain": {"manual": 6.0}}, "penalty": 2.5},
    ("bob", "ps2_forward_pass"): {
        "grades": {"forward": {"auto": 1.0}, "shapes": {"auto": 0.0}}, "penalty": 4.0},
    ("carol", "ps1_perceptron"): {  # grader overrode the autograder; explain ungraded
        "grades": {"neuron": {"auto": 2.0, "manual": 3.5}, "explain": {}}, "penalty": 0.0},
}


def expected_score(student, assignment):
    """nbgrader's rule: per cell the manual score if any, else the autograded
    one, plus extra credit; minus the late penalty, never below 0; 0 without
    a submission."""
    sub = SUBMISSIONS.get((student, assignment))
    if sub is None:
        return 0.0
    raw = 0.0
    for g in sub["grades"].values():
        base = g["manual"] if "manual" in g else g.get("auto", 0.0)
        raw += base + g.get("extra", 0.0)
    return max(0.0, raw - sub["penalty"])


def max_score(assignment):
    return sum(m for nb in LAYOUT[assignment].values() for m, _ in nb.values())


def build_gradebook(url):
    with Gradebook(url, COURSE_ID) as gb:
        for assignment, notebooks in LAYOUT.items():
            gb.add_assignment(assignment)
            for nb, cells in notebooks.items():
                gb.add_notebook(nb, assignment)
                for cell, (points, kind) in cells.items():
                    gb.add_grade_cell(cell, nb, assignment, max_score=points,
                                      cell_type=kind)
        for sid, (first, last, email, lms) in STUDENTS.items():
            gb.add_student(sid, first_name=first, last_name=last, email=email or None,
                           lms_user_id=lms or None)
        for (sid, assignment), sub in SUBMISSIONS.items():
            gb.add_submission(assignment, sid)
            (nb,) = LAYOUT[assignment]
            for cell, g in sub["grades"].items():
                grade = gb.find_grade(cell, nb, assignment, sid)
                grade.auto_score = g.get("auto")
                grade.manual_score = g.get("manual")
                grade.extra_credit = g.get("extra")
                grade.needs_manual_grade = not g
            gb.find_submission_notebook(nb, assignment, sid).late_submission_penalty = \
                sub["penalty"]
        gb.db.commit()


@pytest.fixture(scope="module")
def template_gradebook(tmp_path_factory):
    """The gradebook file, built once and copied into each test's course.

    A new gradebook records the head of nbgrader's database migrations, which
    nbgrader finds by running the ``alembic`` command (seconds); the same
    head is read here in-process from nbgrader's migration scripts.
    """
    path = tmp_path_factory.mktemp("lms_gradebook") / "gradebook.db"
    head = ScriptDirectory(str(ALEMBIC_DIR)).get_current_head()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nbgrader_api, "get_alembic_version", lambda: head)
        build_gradebook(f"sqlite:///{path}")
    return path


@pytest.fixture
def course(tmp_path, monkeypatch, template_gradebook):
    """A course folder with the course's nbgrader_config.py and a gradebook."""
    monkeypatch.delenv("COURSE_GRADEBOOK_URL", raising=False)
    folder = tmp_path / "course"
    folder.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copy(template_gradebook, folder / "gradebook.db")
    return folder


def run(capsys, *args):
    """``course export ...``: (exit status, stdout, stderr)."""
    status = main(["export", *args])
    out = capsys.readouterr()
    return status, out.out, out.err


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def write_roster(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def nbgrader_export_scores(course):
    """(student, assignment) -> score from nbgrader's own CSV export plugin."""
    dest = course / "nbgrader_grades.csv"
    plugin = CsvExportPlugin()
    plugin.to = str(dest)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        plugin.export(gb)
    with open(dest, newline="") as f:
        return {(r["student_id"], r["assignment"]): float(r["score"])
                for r in csv.DictReader(f)}


# --------------------------------------------------------------------------
# scores


def test_csv_scores_include_manual_grades_extra_credit_and_late_penalties(course, capsys):
    out = course / "grades_plain.csv"
    status, stdout, err = run(capsys, "--to", "csv", str(out), "--course-dir", str(course))
    assert status == 0, err
    rows = read_csv(out)
    assignments = sorted(LAYOUT)
    assert rows[0] == (["student_id"]
                       + [f"{a}_{k}" for a in assignments for k in ("score", "max")]
                       + ["total_score", "total_max"])
    nbgrader_scores = nbgrader_export_scores(course)
    table = {r[0]: r for r in rows[1:]}
    for sid in STUDENTS:
        row = table[sid]
        for i, a in enumerate(assignments):
            score, top = float(row[1 + 2 * i]), float(row[2 + 2 * i])
            assert score == pytest.approx(expected_score(sid, a))
            assert score == pytest.approx(nbgrader_scores[(sid, a)])
            assert top == max_score(a)
        assert float(row[-2]) == pytest.approx(sum(expected_score(sid, a)
                                                   for a in assignments))
        assert float(row[-1]) == sum(max_score(a) for a in assignments)
    # The cases the specification is about really are in the data:
    assert float(table["bob"][1]) < 9.0  # late: 3 + 6 before the penalty
    assert float(table["bob"][3]) == 0.0  # penalty larger than the score
    assert float(table["alice"][1]) == 9.0  # manual grade counted
    assert float(table["carol"][1]) == 3.5  # the grader's override, not the 2 auto
    assert float(table["carol"][3]) == 0.0 and float(table["dave"][-2]) == 0.0
    assert "carol/ps1_perceptron" in stdout  # still needs manual grading


def test_every_gradebook_student_appears_exactly_once_in_every_format(course, capsys):
    for to, id_column in (("csv", "student_id"), ("canvas", "SIS Login ID"),
                          ("moodle", "Username")):
        out = course / f"{to}.csv"
        status, _, err = run(capsys, "--to", to, str(out), "--course-dir", str(course))
        assert status == 0, err
        rows = read_csv(out)
        col = rows[0].index(id_column)
        ids = [r[col] for r in rows[1:] if not r[0].startswith("Points Possible")]
        assert sorted(ids) == sorted(STUDENTS), to


# --------------------------------------------------------------------------
# Canvas


def canvas_header_ok(row):
    """The header test of Canvas's importer (gradebook_importer.rb: header?,
    update_column_count): Student, ID, SIS User ID, SIS Login ID and a last
    student column Section; returns the number of student columns."""
    assert len(row) > 3 and "Student" in row[0] and "ID" in row[1]
    assert row[2] == "SIS User ID" and row[3] == "SIS Login ID"
    assert "Section" in row[4]
    return 5


def test_canvas_file_has_canvas_headers_and_points_possible_row(course, capsys):
    out = course / "canvas.csv"
    status, stdout, err = run(capsys, "--to", "canvas", str(out),
                              "--course-dir", str(course))
    assert status == 0, err
    rows = read_csv(out)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       *sorted(LAYOUT)]
    n = canvas_header_ok(rows[0])
    points = rows[1]
    assert points[0] == "Points Possible" and points[1:n] == [""] * (n - 1)
    assert [float(p) for p in points[n:]] == [max_score(a) for a in sorted(LAYOUT)]
    by_login = {r[3]: r for r in rows[2:]}
    alice = by_login["alice"]
    assert alice[0] == "Archer, Alice" and alice[1] == "101"  # gradebook's lms_user_id
    for sid, row in by_login.items():
        assert [float(x) for x in row[n:]] == pytest.approx(
            [expected_score(sid, a) for a in sorted(LAYOUT)])
    assert "wrote" in stdout and "4 students" in stdout


def test_only_the_chosen_assignments(course, capsys):
    out = course / "canvas_ps2.csv"
    status, _, err = run(capsys, "--to", "canvas", str(out), "--assignment",
                         "ps2_forward_pass", "--course-dir", str(course))
    assert status == 0, err
    rows = read_csv(out)
    assert rows[0][5:] == ["ps2_forward_pass"]
    assert len(rows) == 2 + len(STUDENTS)


# --------------------------------------------------------------------------
# Moodle


def test_moodle_file_has_moodle_identifier_and_grade_item_columns(course, capsys):
    out = course / "moodle.csv"
    status, _, err = run(capsys, "--to", "moodle", str(out), "--course-dir", str(course))
    assert status == 0, err
    rows = read_csv(out)
    assert rows[0] == ["First name", "Last name", "ID number", "Email address", "Username",
                       *sorted(LAYOUT)]
    assert len(rows) == 1 + len(STUDENTS)  # no Points Possible row: every row is a user
    by_email = {r[3]: r for r in rows[1:] if r[3]}
    bob = by_email["bob@uni.example"]
    assert bob[:2] == ["Bob", "Baker"]
    assert [float(x) for x in bob[5:]] == [expected_score("bob", a) for a in sorted(LAYOUT)]


# --------------------------------------------------------------------------
# the roster


ROSTER_HEADER = ["student_id", "name", "sis_user_id", "login_id", "section", "email",
                 "id_number", "canvas_id"]


def full_roster(path, extra=()):
    rows = [[sid, f"{last}, {first}", f"S{i:04d}", f"{sid}01", "Lab A",
             f"{sid}@lms.example", f"N{i:04d}", ""]
            for i, (sid, (first, last, _, _)) in enumerate(STUDENTS.items())]
    return write_roster(path, ROSTER_HEADER, rows + list(extra))


def test_roster_maps_nbgrader_ids_to_canvas_ids(course, capsys):
    roster = full_roster(course / "roster.csv",
                         extra=[["erin", "Evans, Erin", "S9999", "erin01", "Lab B",
                                 "erin@lms.example", "N9999", ""]])
    out = course / "canvas.csv"
    status, stdout, err = run(capsys, "--to", "canvas", str(out), "--roster", str(roster),
                              "--course-dir", str(course))
    assert status == 0, err
    rows = read_csv(out)[2:]
    by_sis = {r[2]: r for r in rows}
    assert len(by_sis) == len(rows) == len(STUDENTS) + 1
    with open(roster, newline="") as f:
        for r in csv.DictReader(f):
            row = by_sis[r["sis_user_id"]]
            assert row[:5] == [r["name"], r["canvas_id"] or
                               (STUDENTS.get(r["student_id"], ("",) * 4)[3]),
                               r["sis_user_id"], r["login_id"], r["section"]]
            assert [float(x) for x in row[5:]] == pytest.approx(
                [expected_score(r["student_id"], a) for a in sorted(LAYOUT)])
    # erin is in the roster only: one line says so, and she gets zeros.
    lines = [ln for ln in stdout.splitlines() if "erin" in ln]
    assert len(lines) == 1 and "not in the gradebook" in lines[0]
    assert [float(x) for x in by_sis["S9999"][5:]] == [0.0, 0.0]


def test_roster_maps_to_moodle_id_number_and_email(course, capsys):
    roster = full_roster(course / "roster.csv")
    out = course / "moodle.csv"
    status, _, err = run(capsys, "--to", "moodle", str(out), "--roster", str(roster),
                         "--course-dir", str(course))
    assert status == 0, err
    rows = read_csv(out)
    by_number = {r[2]: r for r in rows[1:]}
    with open(roster, newline="") as f:
        for r in csv.DictReader(f):
            row = by_number[r["id_number"]]
            assert row[3:5] == [r["email"], r["login_id"]]
            # names come from the gradebook where the roster has none
            assert row[:2] == list(STUDENTS[r["student_id"]][:2])


def test_gradebook_student_missing_from_roster(course, capsys):
    roster = write_roster(course / "roster.csv", ["student_id", "sis_user_id"],
                          [["alice", "S1"], ["bob", "S2"], ["carol", "S3"]])
    out = course / "canvas.csv"
    status, _, err = run(capsys, "--to", "canvas", str(out), "--roster", str(roster),
                         "--course-dir", str(course))
    assert status == 1 and not out.exists()
    assert err.count("\n") == 1 and "dave" in err and "--allow-unrostered" in err
    status, stdout, err = run(capsys, "--to", "canvas", str(out), "--roster", str(roster),
                              "--allow-unrostered", "--course-dir", str(course))
    assert status == 0, err
    rows = read_csv(out)[2:]
    assert [r[3] for r in rows if r[2] == ""] == ["dave"]  # under the nbgrader id
    assert sorted(r[2] for r in rows if r[2]) == ["S1", "S2", "S3"]
    assert "dave" in stdout


def test_two_students_with_one_lms_identifier_is_an_error(course, capsys):
    roster = write_roster(course / "roster.csv", ["student_id", "email"],
                          [["alice", "a@x"], ["bob", "a@x"], ["carol", "c@x"],
                           ["dave", "d@x"]])
    status, _, err = run(capsys, "--to", "moodle", str(course / "m.csv"),
                         "--roster", str(roster), "--course-dir", str(course))
    assert status == 1 and err.count("\n") == 1
    assert "alice" in err and "bob" in err and "Email address" in err


def test_student_without_an_identifier_for_the_lms_is_an_error(course, capsys):
    roster = write_roster(course / "roster.csv", ["student_id", "section"],
                          [[sid, "A"] for sid in STUDENTS])
    status, _, err = run(capsys, "--to", "moodle", str(course / "m.csv"),
                         "--roster", str(roster), "--course-dir", str(course))
    assert status == 1 and err.count("\n") == 1 and "no moodle identifier" in err


# --------------------------------------------------------------------------
# where the gradebook is


def test_gradebook_url_from_the_environment(course, tmp_path, capsys, monkeypatch):
    elsewhere = tmp_path / "elsewhere.db"
    (course / "gradebook.db").rename(elsewhere)
    monkeypatch.setenv("COURSE_GRADEBOOK_URL", f"sqlite:///{elsewhere}")
    out = course / "plain.csv"
    status, _, err = run(capsys, "--to", "csv", str(out), "--course-dir", str(course))
    assert status == 0, err
    assert sorted(r[0] for r in read_csv(out)[1:]) == sorted(STUDENTS)


# --------------------------------------------------------------------------
# bad input: one line each, no traceback, nothing written


def one_error_line(err):
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_unknown_format(course, capsys):
    status, _, err = run(capsys, "--to", "blackboard", str(course / "x.csv"),
                         "--course-dir", str(course))
    assert status == 1 and "blackboard" in one_error_line(err)
    assert not (course / "x.csv").exists()


@pytest.mark.parametrize("target", ["no/such/folder/x.csv", "folder", "afile/x.csv"])
def test_unwritable_file(course, capsys, target):
    (course / "folder").mkdir()
    (course / "afile").write_text("not a folder")
    status, _, err = run(capsys, "--to", "canvas", str(course / target),
                         "--course-dir", str(course))
    assert status == 1 and "cannot write" in one_error_line(err)


def test_roster_without_student_id(course, capsys):
    roster = write_roster(course / "roster.csv", ["login", "email"], [["alice", "a@x"]])
    status, _, err = run(capsys, "--to", "canvas", str(course / "x.csv"),
                         "--roster", str(roster), "--course-dir", str(course))
    assert status == 1 and "no student_id column" in one_error_line(err)
    assert not (course / "x.csv").exists()


def test_missing_roster_file_and_duplicate_roster_rows(course, capsys):
    status, _, err = run(capsys, "--to", "canvas", str(course / "x.csv"),
                         "--roster", str(course / "nope.csv"), "--course-dir", str(course))
    assert status == 1 and "no roster file" in one_error_line(err)
    roster = write_roster(course / "roster.csv", ["student_id"], [["alice"], ["alice"]])
    status, _, err = run(capsys, "--to", "canvas", str(course / "x.csv"),
                         "--roster", str(roster), "--course-dir", str(course))
    assert status == 1 and "twice" in one_error_line(err)


def test_missing_gradebook(course, capsys):
    (course / "gradebook.db").unlink()
    status, _, err = run(capsys, "--to", "canvas", str(course / "x.csv"),
                         "--course-dir", str(course))
    assert status == 1 and "no gradebook at" in one_error_line(err)
    assert not (course / "gradebook.db").exists()  # not created by looking


def test_a_file_that_is_not_a_gradebook(course, capsys):
    (course / "gradebook.db").write_bytes(b"")
    status, _, err = run(capsys, "--to", "canvas", str(course / "x.csv"),
                         "--course-dir", str(course))
    assert status == 1 and "not an nbgrader gradebook" in one_error_line(err)


def test_folder_without_nbgrader_config(tmp_path, capsys):
    status, _, err = run(capsys, "--to", "canvas", str(tmp_path / "x.csv"),
                         "--course-dir", str(tmp_path))
    assert status == 1 and "nbgrader_config.py" in one_error_line(err)


def test_unknown_assignment(course, capsys):
    status, _, err = run(capsys, "--to", "csv", str(course / "x.csv"), "--assignment",
                         "ps9_nothing", "--course-dir", str(course))
    assert status == 1 and "ps9_nothing" in one_error_line(err)
    assert "ps1_perceptron" in err  # says what there is


def test_library_call_returns_what_it_wrote(course):
    result = lms_export.export("moodle", course / "m.csv", course_dir=course)
    assert list(result.assignments) == sorted(LAYOUT)
    assert sorted(s.student_id for s in result.students) == sorted(STUDENTS)
    text = (course / "m.csv").read_text(encoding="utf-8")
    assert list(csv.reader(io.StringIO(text)))[0][:5] == lms_export.MOODLE_USER_COLUMNS

"""`course grade`: a whole class autograded in parallel, for real.

Three temporary courses, each built from a copy of this one:

- a dozen ordinary submissions (the solution, the blank release, the
  visible-test-fitted mistakes of ``tests/submissions``, partial work),
  graded once by ``course grade --workers 2`` and once by a serial
  ``nbgrader autograde``: the gradebooks and grades.csv must agree exactly;
- every fault of ``tests/faults`` together with honest submissions in ONE
  ``course grade`` run: each fault named per student, every student a row,
  the honest ones keep their marks, nothing submitted is changed;
- submissions delivered as an LMS zip (``nbgrader zip_collect``), graded
  twice: the second run leaves the same rows and the same CSV.
"""

import contextlib
import csv
import importlib
import io
import shutil
import sqlite3
import zipfile

import nbformat
import pytest
from nbgrader.api import Gradebook

from course import autograde
from course.cli import main
from tests import faults
from tests.notebook_tools import REPO, copy_course, fill_answers, nbgrader

pytestmark = pytest.mark.slow

NAME = "ps1_perceptron"
AUTO_POINTS = 13.0  # the auto-graded points of ps1 (the written answer is manual)
TIMEOUT = 8  # seconds per cell in the fault run: the endless loop costs this once
MEMORY_GIB = 1.5  # the kernels' address space in the fault run
STAMP = "2026-03-01 12:00:00 UTC"  # a submission time (timestamp.txt) to carry over


@pytest.fixture(scope="module")
def base_course(tmp_path_factory):
    """A course copy whose gradebook knows ps1 (generate_assignment run once)."""
    course = copy_course(tmp_path_factory.mktemp("base") / "course")
    nbgrader("generate_assignment", NAME, "--force", cwd=course)
    return course


def _paths(course):
    return (course / "assignments" / NAME / faults.NOTEBOOK,
            course / "solutions" / NAME / faults.NOTEBOOK)


def _submit(course, student, nb, timestamp=None):
    folder = course / "submitted" / student / NAME
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / faults.NOTEBOOK)
    if timestamp:
        (folder / "timestamp.txt").write_text(timestamp)


def _ordinary_submissions(course):
    """student -> notebook: solution, blank, the fitted mistakes, partial work."""
    release, source = _paths(course)
    solved = faults.solved_release(release, source)
    subs = {"reference_solution": solved,
            "blank_release": nbformat.read(release, as_version=4),
            "first_three_parts": faults.solved_release(
                release, source,
                only={"step_functions", "mp_neuron", "perceptron_predict"}),
            "all_but_the_cycle": faults.solved_release(
                release, source,
                only=set(faults.solution_answers(source)) - {"find_weight_cycle"})}
    cases = importlib.import_module(f"tests.submissions.{NAME}").CASES
    for student, case in cases.items():
        subs[student] = fill_answers(solved, case.answers)
    return subs


def _gradebook_contents(course):
    """Every grade, comment and submission, by names (not row ids)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "ann-course") as gb:
        rows = set()
        for sub in gb.assignment_submissions(NAME):
            rows.add(("submission", sub.student.id, str(sub.timestamp)))
            for nb in sub.notebooks:
                rows.add(("notebook", sub.student.id, nb.name,
                          nb.late_submission_penalty, nb.flagged))
                for g in nb.grades:
                    rows.add(("grade", sub.student.id, g.name, g.auto_score,
                              g.manual_score, g.extra_credit, g.needs_manual_grade,
                              g.score))
                for c in nb.comments:
                    rows.add(("comment", sub.student.id, c.name, c.auto_comment,
                              c.manual_comment))
        return rows


def _raw_tables(course):
    """Every row of the gradebook's submission tables, ids included."""
    with sqlite3.connect(course / "gradebook.db") as db:
        return {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
                for table in ("student", "submitted_assignment", "submitted_notebook",
                              "grade", "comment")}


def _csv_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return sorted(tuple(row.items()) for row in csv.DictReader(f))


def _scores(course):
    """student -> {grade_id: auto_score}."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "ann-course") as gb:
        return {sub.student.id: {g.name: g.auto_score for nb in sub.notebooks
                                 for g in nb.grades}
                for sub in gb.assignment_submissions(NAME)}


def _files(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _auto_total(cells):
    return sum(v or 0 for k, v in cells.items() if k != "xor_explanation")


# ---------------------------------------------------------------------------
# parallel == serial


@pytest.fixture(scope="module")
def parallel_and_serial(base_course, tmp_path_factory):
    parallel = tmp_path_factory.mktemp("parallel") / "course"
    serial = tmp_path_factory.mktemp("serial") / "course"
    shutil.copytree(base_course, parallel)
    shutil.copytree(base_course, serial)
    subs = _ordinary_submissions(base_course)
    for course in (parallel, serial):
        for student, nb in subs.items():
            solution = student == "reference_solution"
            _submit(course, student, nb, timestamp=STAMP if solution else None)
    nbgrader("autograde", NAME, cwd=serial)
    nbgrader("export", cwd=serial)
    run = autograde.grade_assignment(NAME, parallel, workers=2)
    return run, parallel, serial, subs


def test_parallel_course_grade_gives_exactly_the_serial_nbgrader_grades(
        parallel_and_serial):
    """Grades, comments, timestamps and grades.csv equal a serial nbgrader autograde."""
    run, parallel, serial, subs = parallel_and_serial
    cases = importlib.import_module(f"tests.submissions.{NAME}").CASES
    assert len(subs) == 4 + len(cases) and run.workers == 2
    assert [s.student for s in run.graded] == sorted(subs), run.failed
    mine, theirs = _gradebook_contents(parallel), _gradebook_contents(serial)
    assert mine == theirs, sorted(mine ^ theirs)[:10]
    assert _csv_rows(parallel / "grades.csv") == _csv_rows(serial / "grades.csv")
    scores = _scores(parallel)
    assert _auto_total(scores["reference_solution"]) == AUTO_POINTS
    assert _auto_total(scores["blank_release"]) == 0


def test_course_grade_writes_autograded_notebooks_and_feedback_for_each_student(
        parallel_and_serial):
    run, parallel, _, subs = parallel_and_serial
    for student in subs:
        assert (parallel / "autograded" / student / NAME / faults.NOTEBOOK).is_file()
        html = parallel / "feedback" / student / NAME / "ps1_perceptron.html"
        assert "<html" in html.read_text(encoding="utf-8").lower(), student


def test_summary_gives_mean_and_median_per_graded_cell(parallel_and_serial):
    run, _, _, subs = parallel_and_serial
    text = autograde.summary_text(run)
    n = len(subs)
    assert f"graded: {n}   failed: 0" in text
    stats = autograde.cell_statistics(run)
    # test_sign: lost by the blank release and the cases whose answers lose it.
    cases = importlib.import_module(f"tests.submissions.{NAME}").CASES
    lose = 1 + sum("test_sign" in case.loses for case in cases.values())
    assert stats["test_sign"][1] == pytest.approx((n - lose) / n)
    assert stats["test_sign"][2] == 1
    assert stats["xor_explanation"][1] is None  # written answers: manual grading
    assert "test_train_perceptron" in text and "median" in text
    # The figure and the HTML report sit beside grades.csv and are named in the summary.
    assert run.plots_png == run.course / "grade_plots_ps1_perceptron.png"
    assert run.plots_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = run.report_html.read_text()
    assert "data:image/png;base64," in page and "test_train_perceptron" in page
    assert f"plots: {run.plots_png}" in text
    # ... and the most similar submissions (every one here is the solution, changed).
    assert "Most similar submissions" in text
    assert f'href="similarity_{NAME}.html"' in page


# ---------------------------------------------------------------------------
# faults: one run, every problem reported, nothing lost


EXPECTED = {  # student -> (status, auto points, words the summary must contain)
    "reference_solution": ("graded", 13, None),
    "sign_at_zero": ("graded", 12, None),
    "infinite_loop": ("graded", 11,
                      f"cell 'mp_neuron' ran past the {TIMEOUT} s time limit"),
    "kernel_dies": ("failed", 0, "the Python kernel died while running cell "
                                 "'perceptron_update'"),
    # In the sandbox its parent is bwrap's init, which ignores the signal: the
    # grader is out of reach (tests/test_isolation.py kills it without the sandbox).
    "kills_grader": ("graded", 13, None),
    "memory_hog": ("graded", 13, "cell 'perceptron_predict' ran out of memory"),
    "huge_output": ("graded", 13, "cell 'train_perceptron' printed 50.0 MB of output"),
    "not_json": ("failed", 0, "ps1_perceptron.ipynb is not valid JSON"),
    "not_utf8": ("failed", 0, "ps1_perceptron.ipynb is not UTF-8 text (byte 0xe9"),
    "renamed": ("failed", 0, "no ps1_perceptron.ipynb in the submission (found "
                             "ps1_perceptron (1).ipynb"),
    "missing": ("failed", 0, "(found only answers.py)"),
    "cells_deleted": ("graded", 13, "test cell 'test_sign' was deleted"),
    "cells_duplicated": ("graded", 13, "test cell 'test_heaviside' appears 2 times"),
    "test_edited": ("graded", 12,
                    "test cell 'test_sign' was edited: nbgrader restored"),
    "cell_type_changed": ("graded", 13, "answer cell 'step_functions' was changed from "
                                        "code to markdown"),
    "empty_folder": ("failed", 0, "the submission folder is empty"),
}


@pytest.fixture(scope="module")
def fault_run(base_course, tmp_path_factory):
    course = tmp_path_factory.mktemp("faults") / "course"
    shutil.copytree(base_course, course)
    release, source = _paths(course)
    solved = faults.solved_release(release, source)
    _submit(course, "reference_solution", solved)
    cases = importlib.import_module(f"tests.submissions.{NAME}").CASES
    _submit(course, "sign_at_zero", fill_answers(solved, cases["sign_at_zero"].answers))
    for student in faults.FAULTS:
        faults.write_fault(student, course / "submitted" / student / NAME, release,
                           source)
    before = _files(course / "submitted")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["grade", NAME, "--course-dir", str(course), "--workers", "2",
                       "--timeout", str(TIMEOUT), "--memory-limit", str(MEMORY_GIB),
                       "--no-progress"])
    (course.parent / "summary.txt").write_text(out.getvalue())  # to read on failure
    return course, status, out.getvalue(), before


def _student_lines(summary, student):
    """The summary lines about one student (its heading and its bullets)."""
    lines, inside = [], False
    for line in summary.splitlines():
        if line.startswith(f"  {student}:") or line.startswith(f"  {student} ("):
            inside = True
            lines.append(line)
        elif inside and line.startswith("    - "):
            lines.append(line)
        else:
            inside = False
    return "\n".join(lines)


def test_fault_run_finishes_and_grades_every_student(fault_run):
    course, status, summary, _ = fault_run
    assert status == 0, summary
    failed = sorted(s for s, (st, _, _) in EXPECTED.items() if st == "failed")
    assert f"graded: {len(EXPECTED) - len(failed)}   failed: {len(failed)}" in summary
    assert set(_scores(course)) == set(EXPECTED)
    with open(course / "grades.csv", newline="") as f:
        assert {r["student_id"] for r in csv.DictReader(f)} == set(EXPECTED)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_fault_is_reported_and_scored(fault_run, student):
    course, _, summary, _ = fault_run
    status, points, words = EXPECTED[student]
    cells = _scores(course)[student]
    assert _auto_total(cells) == points, (student, cells)
    mine = _student_lines(summary, student)
    if words is None:
        assert mine == "", f"an honest submission was reported: {mine}"
    else:
        assert words in mine, f"{student}: {words!r} not in:\n{mine}\n---\n{summary}"
    with open(course / f"grade_report_{NAME}.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["student_id"] == student)
    assert row["status"] == status
    assert words is None or words.split(" (")[0] in row["problems"]


def test_failed_submissions_get_a_row_of_zeros(fault_run):
    course = fault_run[0]
    scores = _scores(course)
    for student, (status, _, _) in EXPECTED.items():
        if status == "failed":
            assert set(scores[student].values()) == {0.0}, (student, scores[student])
            assert not (course / "autograded" / student).exists()


def test_restored_test_cell_grades_with_the_original_test(fault_run):
    """sign() is wrong at 0 and the student emptied test_sign: it still scores 0."""
    cells = _scores(fault_run[0])["test_edited"]
    assert cells["test_sign"] == 0 and cells["test_heaviside"] == 1
    graded = nbformat.read(fault_run[0] / "autograded" / "test_edited" / NAME
                           / faults.NOTEBOOK, as_version=4)
    test_sign = graded.cells[faults.cell_index(graded, "test_sign")]
    assert "the test was too strict" not in test_sign.source
    assert "sign(0) is 0" in test_sign.source  # the hidden test is back


def test_deleted_test_cell_is_restored_from_the_source_and_scored(fault_run):
    """The student deleted test_sign: it is put back, run and scored (sign() is
    right, so it earns its point), never left for manual grading; the summary
    still says it was deleted."""
    course, _, summary, _ = fault_run
    assert _scores(course)["cells_deleted"]["test_sign"] == 1
    graded = nbformat.read(course / "autograded" / "cells_deleted" / NAME
                           / faults.NOTEBOOK, as_version=4)
    test_sign = graded.cells[faults.cell_index(graded, "test_sign")]
    assert test_sign.metadata["course"]["restored"]
    assert "sign(0) is 0" in test_sign.source  # the hidden test ran too
    assert "test cell 'test_sign' was deleted" in _student_lines(summary,
                                                                 "cells_deleted")


def test_huge_output_is_truncated_in_notebook_feedback_and_gradebook(fault_run):
    course = fault_run[0]
    graded = course / "autograded" / "huge_output" / NAME / faults.NOTEBOOK
    html = course / "feedback" / "huge_output" / NAME / "ps1_perceptron.html"
    assert graded.stat().st_size < 1_000_000
    # The feedback page carries MathJax (offline maths): compare with an honest one.
    honest = course / "feedback" / "reference_solution" / NAME / "ps1_perceptron.html"
    assert html.stat().st_size < honest.stat().st_size + 1_000_000
    assert (course / "gradebook.db").stat().st_size < 2_000_000
    assert autograde.TRUNCATION_MARK in graded.read_text(encoding="utf-8")


def test_nothing_submitted_is_changed_or_lost(fault_run):
    course, _, _, before = fault_run
    assert _files(course / "submitted") == before
    assert (course / "submitted" / "empty_folder" / NAME).is_dir()


# ---------------------------------------------------------------------------
# an LMS zip, graded twice


def _lms_zip(course, path):
    """alice: the solution; bob: the blank release; carol: a renamed notebook."""
    release, source = _paths(course)
    solved = nbformat.writes(faults.solved_release(release, source))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("ps1 submissions/alice/ps1_perceptron.ipynb", solved)
        z.writestr("ps1 submissions/bob/ps1_perceptron.ipynb", release.read_text())
        z.writestr("ps1 submissions/carol/perceptron_v2.ipynb", solved)
    return path


def test_zip_submissions_are_collected_graded_and_regrading_is_idempotent(
        base_course, tmp_path):
    """zip_collect's folder per student; a second run leaves identical rows and CSVs."""
    course = tmp_path / "course"
    shutil.copytree(base_course, course)
    archive = _lms_zip(course, tmp_path / "lms export.zip")
    first = autograde.grade_assignment(NAME, course, workers=2, zip_path=archive)
    tables, grades = _raw_tables(course), (course / "grades.csv").read_text()
    report = (course / f"grade_report_{NAME}.csv").read_text()
    assert (course / "submitted" / "alice" / NAME / faults.NOTEBOOK).is_file()
    scores = _scores(course)
    assert _auto_total(scores["alice"]) == AUTO_POINTS
    assert _auto_total(scores["bob"]) == 0
    carol = next(s for s in first.students if s.student == "carol")
    assert carol.status == "failed"
    assert ("found perceptron_v2.ipynb: notebooks must keep the name"
            in carol.problems[0])

    autograde.grade_assignment(NAME, course, workers=2, zip_path=archive)
    assert _raw_tables(course) == tables
    assert (course / "grades.csv").read_text() == grades
    assert (course / f"grade_report_{NAME}.csv").read_text() == report
    assert len(tables["submitted_assignment"]) == 3
    assert len(tables["grade"]) == 3 * 9


def test_grade_adds_the_assignment_to_a_new_gradebook_and_needs_submissions(
        tmp_path, capsys):
    """A fresh course: the gradebook gets ps1; no submissions is a clear error."""
    course = copy_course(tmp_path / "course")
    assert main(["grade", NAME, "--course-dir", str(course)]) == 1
    assert "no submissions of ps1_perceptron" in capsys.readouterr().err
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "ann-course") as gb:
        assert gb.find_assignment(NAME).max_score == 16
    # generate_assignment wrote its release elsewhere: assignments/ is untouched.
    released = course / "assignments" / NAME / faults.NOTEBOOK
    committed = REPO / "assignments" / NAME / faults.NOTEBOOK
    assert released.read_bytes() == committed.read_bytes()


def test_course_grade_uses_the_assignments_own_cell_limit():
    """ps5's cells may run 300 s (CourseExecute.cell_timeouts), the others 60 s:
    course grade reports and enforces the same limit as nbgrader autograde."""
    app = autograde._nbgrader_app(REPO)
    assert autograde._configured_timeout(app, "ps5_mnist") == 300
    assert autograde._configured_timeout(app, "ps1_perceptron") == 60

"""Feedback tells a student what failed, never what the hidden tests are.

For every assignment, the class of ``tests/pipeline.py`` (wrong submissions
fitted to the visible tests, a blank one, correct ones that warn or loop) is
autograded and given feedback by real nbgrader, configured by the course's
``nbgrader_config.py``. Each student's HTML must show the points and the
failure messages, and must not contain a line of hidden test code or a line
of the reference solution that the student did not write. Smaller tests
cover the preprocessor on a hand-made notebook and the check log that
``course.grading`` writes while autograding.
"""

import html
import re
from dataclasses import dataclass

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.utils import determine_grade

from course.grading import CHECKS_MIME, find_tampering
from course.preprocessors.feedback import (
    MIN_HIDDEN_LINE, PLACEHOLDER, REDACTED, HideHiddenTests,
)
from tests.notebook_tools import make_cell, nbgrader_metadata
from tests.pipeline import cases


def _region(source, begin, end):
    """The lines of ``source`` between the ``begin`` and ``end`` markers."""
    inside, found = False, []
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            found.append(line)
    return found


def _text(page):
    """What a reader of the HTML sees: tags removed, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@dataclass
class Feedback:
    student: str
    html: str             # the feedback files as written
    text: str             # what they show
    source: list          # solution notebooks (nbgrader source)
    shown: set            # stripped lines the student has anyway (release + submission)
    autograded: list      # autograded notebooks
    scores: dict          # grade_id -> (score, max_score)


def _feedback(run):
    """student -> Feedback, for every student who filled in the release."""
    sources = [nbformat.read(run.course / "solutions" / run.name / n, as_version=4)
               for n in run.notebook_names]
    releases = [nbformat.read(run.course / "assignments" / run.name / n, as_version=4)
                for n in run.notebook_names]
    found = {}
    for student in ["blank_release", *run.answers]:
        pages = run.feedback_pages(student)
        assert len(pages) == len(sources), f"{student}'s feedback files: {pages}"
        page = "\n".join(p.read_text(encoding="utf-8") for p in pages)
        shown = {line.strip() for nb in releases + run.submitted(student)
                 for cell in nb.cells for line in cell.source.split("\n")}
        found[student] = Feedback(student, page, _text(page), sources, shown,
                                  run.autograded(student), run.scores[student])
    return found


@pytest.fixture(scope="module")
def feedback_of(graded_class):
    return _feedback(graded_class)


def _wrong(feedback_of, graded_class):
    return [feedback_of[student] for student in cases(graded_class.name)]


def _secret_lines(feedback, begin, end):
    """Non-trivial lines of the marked regions that no line the student has contains."""
    lines = set()
    for nb in feedback.source:
        for cell in nb.cells:
            lines |= {line.strip() for line in _region(cell.source, begin, end)}
    shown = "\n".join(feedback.shown)
    return sorted(line for line in lines
                  if len(line) >= MIN_HIDDEN_LINE and line not in shown)


def _leaks(feedback, lines):
    return [line for line in lines
            if line in feedback.text or line in feedback.html
            or html.escape(line) in feedback.html]


@pytest.mark.slow
def test_no_line_of_a_hidden_test_is_shown(feedback_of):
    for feedback in feedback_of.values():
        hidden = _secret_lines(feedback, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
        assert hidden, "the assignment should have hidden tests"
        assert _leaks(feedback, hidden) == [], feedback.student
        assert "BEGIN HIDDEN TESTS" not in feedback.text
        assert PLACEHOLDER in feedback.text


@pytest.mark.slow
def test_no_solution_line_the_student_did_not_write_is_shown(feedback_of, graded_class):
    for feedback in [feedback_of["blank_release"], *_wrong(feedback_of, graded_class)]:
        solution = _secret_lines(feedback, "### BEGIN SOLUTION", "### END SOLUTION")
        assert solution, f"{feedback.student} should lack some solution code"
        assert _leaks(feedback, solution) == [], feedback.student


@pytest.mark.slow
def test_visible_tests_stay(feedback_of):
    """A visible test line is found in the page: the text search above works."""
    for feedback in feedback_of.values():
        visible = [line.strip() for nb in feedback.source for cell in nb.cells
                   if nbgrader_metadata(cell).get("grade") and cell.cell_type == "code"
                   for line in cell.source.split("### BEGIN HIDDEN TESTS")[0].split("\n")
                   if "check_" in line]
        assert visible and all(line in feedback.text for line in visible)


@pytest.mark.slow
def test_failure_messages_are_shown_without_tracebacks(feedback_of, graded_class):
    """Each error's message, line by line; a failed check is marked as such (a
    student function that raises instead shows as the reason the checks
    after it did not run)."""
    wrong = _wrong(feedback_of, graded_class)
    assert any("\u2718 failed:" in feedback.text for feedback in wrong)
    for feedback in wrong:
        errors = [out for nb in feedback.autograded for cell in nb.cells
                  if nbgrader_metadata(cell).get("grade") and cell.cell_type == "code"
                  for out in cell.outputs if out.output_type == "error"]
        assert errors, f"{feedback.student} should fail some tests"
        for out in errors:
            for line in str(out.evalue).split("\n"):
                assert line.strip() in feedback.text, (
                    f"{feedback.student}: message line not shown: {line!r}")
        assert "Traceback (most recent call last)" not in feedback.text
        assert "not run: the checks after this point" in feedback.text


@pytest.mark.slow
def test_passed_checks_are_listed(feedback_of):
    """Passed checks by name; a cell whose checks all ran and passed says so."""
    for feedback in feedback_of.values():
        passing = [cell for nb in feedback.autograded for cell in nb.cells
                   if cell.cell_type == "code"
                   and any(CHECKS_MIME in out.get("data", {}) for out in cell.outputs)
                   and not any(out.output_type == "error" or out.get("name") == "stderr"
                               for out in cell.outputs)]
        assert feedback.text.count("every check of this cell passed") == len(passing)
        if passing:
            assert "\u2714 passed:" in feedback.text


@pytest.mark.slow
def test_points_are_shown(feedback_of, graded_class):
    """Every graded cell's score, as nbgrader's feedback template writes it."""
    for feedback in _wrong(feedback_of, graded_class):
        lost = [gid for gid, (score, _) in feedback.scores.items() if score == 0]
        assert lost, f"{feedback.student} should lose points"
    for feedback in feedback_of.values():
        for gid, (score, max_score) in feedback.scores.items():
            shown = f"Score: {round(float(score), 2)} / {round(float(max_score), 2)}"
            assert shown in feedback.text, f"{feedback.student}, {gid}: {shown!r}"
        total = sum(s for s, _ in feedback.scores.values())
        assert f"(Score: {round(float(total), 2)} / " in feedback.text


# ---------------------------------------------------------------------------
# The preprocessor on a hand-made notebook
# ---------------------------------------------------------------------------

HIDDEN_LINE = "check_array('relu(z)', relu(np.array([-0.5])), [0.0])"
TEST_SOURCE = f"""check_array('relu(z)', relu(np.array([1.0])), [1.0])
### BEGIN HIDDEN TESTS
{HIDDEN_LINE}
### END HIDDEN TESTS"""
MESSAGE = ("relu(z) (for z = -0.5) is wrong at index (0,): expected 0, got -0.5\n"
           "relu must map negative inputs to 0")


def _output(output_type, **fields):
    return nbformat.from_dict({"output_type": output_type, **fields})


def _check_log(*entries):
    return _output("display_data", metadata={},
                   data={CHECKS_MIME: {"checks": list(entries), "omitted": 0}})


def _preprocessed():
    failing = make_cell(TEST_SOURCE, grade=True, grade_id="test_relu", points=2)
    failing.outputs = [
        _output("stream", name="stdout", text=f"note\n  {HIDDEN_LINE}\n"),
        _output("error", ename="AssertionError", evalue=MESSAGE,
                traceback=["Traceback (most recent call last)",
                           f"----> 3 {HIDDEN_LINE}", f"AssertionError: {MESSAGE}"]),
        _check_log({"name": "relu(z)", "passed": True, "count": 3},
                   {"name": None, "passed": True, "count": 1},
                   {"name": "relu(z)", "passed": False, "message": MESSAGE}),
    ]
    passing = make_cell(TEST_SOURCE.replace("relu", "tanh"), grade=True,
                        grade_id="test_tanh", points=1)
    passing.outputs = [_check_log({"name": "tanh(z)", "passed": True, "count": 5})]
    crashing = make_cell(TEST_SOURCE.replace("relu", "sigmoid"), grade=True,
                         grade_id="test_sigmoid", points=1)
    crashing.outputs = [
        _output("error", ename="ValueError", evalue="shapes (2,) and (3,) not aligned",
                traceback=[f"----> 3 {HIDDEN_LINE}"]),
        _check_log({"name": "sigmoid(z)", "passed": True, "count": 1}),
    ]
    warned = make_cell(TEST_SOURCE.replace("relu", "softplus"), grade=True,
                       grade_id="test_softplus", points=1)
    warned.outputs = [
        _output("stream", name="stderr", text="RuntimeWarning: overflow in exp\n"),
        _check_log({"name": "softplus(z)", "passed": True, "count": 2}),
    ]
    nb = nbformat.v4.new_notebook(cells=[failing, passing, crashing, warned])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    return nb.cells


def _html(cell):
    return "".join(out.data["text/html"] for out in cell.outputs
                   if out.output_type == "display_data" and "text/html" in out.data)


def test_preprocessor_removes_hidden_tests_and_keeps_visible_ones():
    for cell in _preprocessed():
        assert "HIDDEN TESTS" not in cell.source and "-0.5" not in cell.source
        assert cell.source.startswith("check_array(")
        assert cell.source.endswith(PLACEHOLDER)


def test_preprocessor_reduces_tracebacks_to_the_error():
    failing, _, crashing, _ = _preprocessed()
    error = next(out for out in failing.outputs if out.output_type == "error")
    assert error.traceback == [f"AssertionError: {MESSAGE}"]
    error = next(out for out in crashing.outputs if out.output_type == "error")
    assert error.traceback == ["ValueError: shapes (2,) and (3,) not aligned"]


def test_preprocessor_redacts_output_lines_that_quote_hidden_tests():
    failing = _preprocessed()[0]
    stream = next(out for out in failing.outputs if out.output_type == "stream")
    assert stream.text == f"note\n{REDACTED}\n"


def test_preprocessor_lists_passed_failed_and_not_run_checks():
    failing, passing, crashing, warned = _preprocessed()
    assert all(CHECKS_MIME not in out.get("data", {})
               for cell in (failing, passing, crashing) for out in cell.outputs)
    shown = _text(_html(failing))
    assert "passed: relu(z) (3 checks)" in shown
    assert "passed: a condition" in shown
    assert f"failed:{MESSAGE}" in shown
    assert "not run: the checks after this point" in shown
    assert HIDDEN_LINE not in shown
    assert "every check of this cell passed" in _text(_html(passing))
    assert ("not run: the checks after this point because of ValueError: shapes "
            "(2,) and (3,) not aligned") in _text(_html(crashing))
    warning = _text(_html(warned))
    assert "passed: softplus(z) (2 checks)" in warning
    assert "the cell wrote to stderr" in warning
    assert "every check of this cell passed" not in warning


# ---------------------------------------------------------------------------
# The check log written by course.grading while autograding
# ---------------------------------------------------------------------------

SETUP = "import numpy as np\nfrom course.grading import check_array, check_true"
PASSING = """for z in [1.0, 2.0]:
    check_array("relu(z)", max(z, 0.0), z, context=f"z = {z}")
check_true(True, "a message that passed checks never show: 42")
"""
FAILING = """check_array("relu(z)", 1.0, 1.0)
check_array("relu(np.array([-0.5]))", [-0.5], [0.0], context="z = -0.5")
check_array("relu(z)", 1.0, 1.0)
"""


def test_check_log_is_display_data_that_leaves_scores_and_tampering_alone(
        tmp_path, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    cells = [make_cell(SETUP, locked=True, grade_id="setup"),
             make_cell(PASSING, grade=True, grade_id="test_pass", points=2),
             make_cell(FAILING, grade=True, grade_id="test_fail", points=3),
             make_cell("x = 1\nx", grade=True, grade_id="test_after", points=1)]
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    logs = [[out.data[CHECKS_MIME] for out in cell.outputs
             if out.output_type == "display_data" and CHECKS_MIME in out.data]
            for cell in nb.cells]
    assert logs[0] == [] and logs[3] == []
    assert logs[1] == [{"checks": [{"name": "relu(z)", "passed": True, "count": 2},
                                   {"name": None, "passed": True, "count": 1}],
                        "omitted": 0}]
    failed = logs[2][0]["checks"]
    assert failed[0] == {"name": "relu(z)", "passed": True, "count": 1}
    assert failed[1]["name"] == "relu(np.array(...))" and failed[1]["passed"] is False
    assert "z = -0.5" in failed[1]["message"] and len(failed) == 2
    assert [determine_grade(cell)[0] for cell in nb.cells[1:]] == [2, 0, 1]
    path = tmp_path / "graded.ipynb"
    nbformat.write(nb, path)
    assert find_tampering(path) == []

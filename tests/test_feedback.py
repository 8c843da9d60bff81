"""Feedback tells a student what failed, never what the hidden tests are.

For every assignment, the class of ``tests/pipeline.py`` (wrong submissions
fitted to the visible tests, a blank one, correct ones that warn or loop) is
autograded and given feedback by real nbgrader, configured by the course's
``nbgrader_config.py``. Each student's HTML must show the points and the
failure messages, and must not contain a line of hidden test code or a line
of the reference solution that the student did not write. Smaller tests
cover the preprocessor on a hand-made notebook.
"""

import html
import re
from dataclasses import dataclass

import nbformat
import pytest

from course.checks import RECORD_MIME
from course.grader.sites import marked_lines
from course.grader.verdicts import VERDICT_MIME, decide, verdict_outputs
from course.preprocessors.feedback import (
    AFTER_HIDDEN, MIN_HIDDEN_LINE, PLACEHOLDER, REDACTED, HideHiddenTests,
)
from tests.notebook_tools import make_cell, nbgrader_metadata
from tests.pipeline import cases


def _region(source, begin, end):
    """The lines of ``source`` between the ``begin`` and ``end`` markers."""
    return [line for _, line in marked_lines(source, begin, end)]


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
    assert any("\u2718" in feedback.text for feedback in wrong)
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
        not_run = [check for nb in feedback.autograded for cell in nb.cells
                   for out in cell.get("outputs", [])
                   for check in out.get("data", {}).get(VERDICT_MIME, {}).get("checks", [])
                   if check["status"] == "not run"]
        if not_run:
            assert ": not run" in feedback.text, feedback.student


@pytest.mark.slow
def test_passed_checks_are_listed(feedback_of):
    """Passed checks by name; a cell whose checks all passed says so."""
    for feedback in feedback_of.values():
        passing = [cell for nb in feedback.autograded for cell in nb.cells
                   if cell.cell_type == "code"
                   and any(out.get("data", {}).get(VERDICT_MIME, {}).get("passed")
                           for out in cell.outputs)]
        assert feedback.text.count("All checks passed.") == len(passing)
        if passing:
            assert "\u2714" in feedback.text


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
MESSAGE = ("relu(z) (for z = -0.5) is wrong at index (0,): expected 0, got -0.5")
REFS = [(0, "array", {"name": "relu(np.array([1.0]))", "expected": [1.0]}),
        (1, "array", {"name": "relu(z)", "expected": [0.0],
                      "context": "z = -0.5"})]


def _output(output_type, **fields):
    return nbformat.from_dict({"output_type": output_type, **fields})


def _preprocessed():
    failing = make_cell(TEST_SOURCE, grade=True, grade_id="test_relu", points=2)
    failing.outputs = verdict_outputs(decide(REFS, [(0, [1.0]), (1, [-0.5])]))
    passing = make_cell(TEST_SOURCE.replace("relu", "tanh"), grade=True,
                        grade_id="test_tanh", points=1)
    passing.outputs = verdict_outputs(decide(REFS, [(0, [1.0]), (1, [0.0])]))
    crashing = make_cell(TEST_SOURCE.replace("relu", "sigmoid"), grade=True,
                         grade_id="test_sigmoid", points=1)
    crashing.outputs = verdict_outputs(decide(REFS, [(0, [1.0])],
                                              "your code raised ValueError"))
    student = make_cell("print('note')\n" + "x = 1", grade_id="answer", solution=True)
    later = make_cell("print(stash)", grade_id="later_answer", solution=True)
    later.outputs = [_output("stream", name="stdout", text=")5.0-(uler_kcehc\n")]
    student.outputs = [
        _output("stream", name="stdout", text=f"note\n  {HIDDEN_LINE}\n"),
        _output("display_data", metadata={},
                data={RECORD_MIME: {"site": 0}, VERDICT_MIME: {"passed": True},
                      "text/plain": "All checks passed."}),
        _output("error", ename="ValueError", evalue="bad", traceback=[
            "Traceback (most recent call last)", f"----> 3 {HIDDEN_LINE}", "ValueError: bad"]),
    ]
    nb = nbformat.v4.new_notebook(cells=[student, failing, passing, crashing, later])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    student, failing, passing, crashing, later = nb.cells
    return failing, passing, crashing, student, later


def _html(cell):
    return "".join(out.data["text/html"] for out in cell.outputs
                   if out.output_type == "display_data" and "text/html" in out.data)


def test_preprocessor_removes_hidden_tests_and_keeps_visible_ones():
    for cell in _preprocessed()[:3]:
        assert "HIDDEN TESTS" not in cell.source and "-0.5" not in cell.source
        assert cell.source.startswith("check_array(")
        assert cell.source.endswith(PLACEHOLDER)


def test_preprocessor_keeps_the_verdict_and_a_one_line_error():
    failing, passing, crashing, _, _ = _preprocessed()
    error = next(out for out in failing.outputs if out.output_type == "error")
    assert len(error.traceback) == 1
    assert error.traceback[0].startswith(f"AssertionError: {MESSAGE}")
    assert all(VERDICT_MIME not in out.get("data", {}) for out in failing.outputs)
    assert not any(out.output_type == "error" for out in passing.outputs)
    assert "your code raised ValueError" in _text(_html(crashing))


def test_preprocessor_redacts_student_output_lines_that_quote_hidden_tests():
    student = _preprocessed()[3]
    stream = next(out for out in student.outputs if out.output_type == "stream")
    assert stream.text == f"note\n{REDACTED}\n"
    error = next(out for out in student.outputs if out.output_type == "error")
    assert error.traceback == ["ValueError: bad"]


def test_a_student_cell_after_a_hidden_test_shows_a_note_not_its_outputs():
    """What the student's code saw of a hidden test's inputs, printed later in
    any disguise (here reversed), never reaches the feedback."""
    later = _preprocessed()[4]
    assert [out.text for out in later.outputs] == [AFTER_HIDDEN + "\n"]


def test_a_student_cell_cannot_pose_as_the_grader_in_the_feedback():
    student = _preprocessed()[3]
    for out in student.outputs:
        assert not any(mime.startswith("application/vnd.ann-course")
                       for mime in out.get("data", {}))


def test_preprocessor_lists_passed_failed_and_not_run_checks():
    failing, passing, crashing, _, _ = _preprocessed()
    shown = _text(_html(failing))
    assert "\u2714 relu(np.array(...))" in shown
    assert MESSAGE in shown
    assert HIDDEN_LINE not in shown
    assert "All checks passed." in _text(_html(passing))
    assert "relu(z): not run" in _text(_html(crashing))


def test_only_the_first_failure_is_spelled_out():
    refs = [(0, "array", {"name": "f(x)", "expected": [1.0], "context": "x = 1"}),
            (1, "array", {"name": "f(x)", "expected": [2.0], "context": "x = 2"})]
    shown = _text(_html(make_cell_with(verdict_outputs(decide(refs, [(0, [0.0]),
                                                                     (1, [0.0])])))))
    assert "f(x) (for x = 1) is wrong" in shown
    assert "x = 2" not in shown and "f(x): failed too" in shown


def make_cell_with(outputs):
    cell = make_cell("x", grade=True, grade_id="t", points=1)
    cell.outputs = outputs
    return cell

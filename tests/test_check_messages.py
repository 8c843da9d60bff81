"""What a student sees when a test cell runs in their own kernel (issue 16).

A failing check shows the check's message and the notebook line that called
it, not the frames of the ``course`` package; a test cell whose checks all
pass prints one short line; a cell without checks, or one that fails after
a check passed, prints no such line. Run in a real IPython kernel, because
IPython decides what a traceback shows.
"""

import re

import nbformat
import pytest
from nbclient import NotebookClient

from course.checks import PASSED_MANY, PASSED_ONE

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SETUP = ("import numpy as np\nfrom course.checks import check_array, check_scalar\n"
         "def add_one(x):\n    return x + 1")


@pytest.fixture(scope="module")
def ran():
    """The outputs of each cell after the set-up, run in one kernel."""
    cells = [
        SETUP,
        "check_array('add_one(x)', add_one(np.zeros(3)), [1, 1, 1])\n"
        "check_scalar('add_one(1)', add_one(1), 2)",
        "check_scalar('add_one(1)', add_one(1), 2)",
        "print('no checks here')",
        "z = np.zeros(3)\n"
        "check_array('add_one(z)', add_one(z), [0, 0, 0], context='z = 0')",
        "check_scalar('add_one(1)', add_one(1), 2)\nraise ValueError('after a pass')",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=60).execute()
    return [cell.outputs for cell in nb.cells[1:]]


def _text(outputs):
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def test_a_passing_test_cell_says_so_in_one_line(ran):
    assert _text(ran[0]) == PASSED_MANY.format(count=2) + "\n"
    assert _text(ran[1]) == PASSED_ONE + "\n"
    assert PASSED_ONE.startswith("\u2713") and len(PASSED_MANY) < 60


def test_no_pass_line_without_checks_or_after_an_error(ran):
    assert _text(ran[2]) == "no checks here\n"
    assert _text(ran[4]) == ""
    assert [o.ename for o in ran[4] if o.output_type == "error"] == ["ValueError"]


def test_a_failing_check_shows_its_message_and_the_notebook_line_only(ran):
    errors = [o for o in ran[3] if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "AssertionError"
    shown = [ANSI.sub("", line) for line in "\n".join(errors[0].traceback).split("\n")]
    assert shown[0] == ("AssertionError: add_one(z) (for z = 0) is wrong at index (0,): "
                        "expected 0, got 1 (3 of 3 values differ).")
    assert shown[-1] == ("  at Cell In[5], line 2: check_array('add_one(z)', "
                         "add_one(z), [0, 0, 0], context='z = 0')")
    assert len(shown) <= 5, shown
    assert not any("course/" in line or "checks.py" in line or "_check" in line
                   for line in shown), shown
    assert not _text(ran[3])  # no pass line for a failed cell

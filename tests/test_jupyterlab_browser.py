"""The course in JupyterLab, driven in Chromium as students and instructors meet it.

One JupyterLab server runs for the module, started here on a free port with
a token, in a temporary copy of the course (lectures, assignments, the start
page, the Lab settings, and ps1's source for the instructor). Before it
starts, ``make settings exchange gradebook`` runs in that copy, as ``make
lab`` does: the course's Jupyter settings go into the environment, the
course-local exchange folder is made, and ps1 is put into a fresh gradebook.
An ``ann_course.egg-info`` folder is planted to show that build clutter is
hidden. Each scenario saves its screenshots under
``build/screenshots/jupyterlab_<scenario>/`` (``tests/browser.py``).

1. A student opens Lab: the start page opens rendered, with no news pop-up
   and no clutter; the student opens lecture 1 from it and runs all cells:
   no error output.
2. A student writes a wrong ``heaviside`` in ps1 and sees the short message,
   writes the right one and sees the test cell pass, then clicks Validate
   and gets success (the other answers were written before, on disk).
3. The instructor releases ps1 in the Formgrader; a student fetches it in
   the Assignments tab and submits it.
4. The instructor collects it and autogrades it in the Formgrader on the
   fresh course (no Generate clicked), grades the written answer by hand and
   generates feedback; maths renders in the grading view and in the feedback
   file, opened from disk (offline).
"""

import contextlib
import getpass
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from tests.browser import chromium_page, screenshot_dir
from tests.notebook_tools import BIN, REPO, fill_answers, solution_answers

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("jupyterlab_browser")]

PS1 = "ps1_perceptron"
LECTURE_1 = "01_neurons_and_perceptron.ipynb"
STUDENT = getpass.getuser()  # nbgrader's student id: the operating-system account
WRONG_HEAVISIDE = '''def heaviside(z):
    """Wrong on purpose: 0 everywhere."""
    return np.zeros_like(np.asarray(z, dtype=float))


def sign(z):
    return np.sign(np.asarray(z, dtype=float))
'''


# ---------------------------------------------------------------------------
# the course and its server
# ---------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make(course, *targets):
    """Run the course's Makefile in ``course`` with this checkout's venv.

    ``-o`` (``--old-file``) keeps make from reinstalling the venv from the copy:
    that would point the editable ``course`` install at the temporary folder.
    """
    stamp = BIN.parent / ".installed"
    subprocess.run(["make", "--no-print-directory", "-f", str(REPO / "Makefile"),
                    "-C", str(course), f"VENV={BIN.parent}", "-o", str(stamp), *targets],
                   check=True, capture_output=True, text=True, timeout=300)


def _copy_course(course):
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for name in ("START.md", "nbgrader_config.py"):
        shutil.copy2(REPO / name, course / name)
    for folder in ("lectures", "assignments", "jupyter"):
        shutil.copytree(REPO / folder, course / folder, ignore=ignore)
    # The instructor's source of ps1 only: the gradebook then holds ps1 alone.
    shutil.copytree(REPO / "solutions" / PS1, course / "solutions" / PS1, ignore=ignore)
    (course / "ann_course.egg-info").mkdir()  # clutter Lab must hide


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base URL, token, course folder) of a JupyterLab on a fresh course copy."""
    home = tmp_path_factory.mktemp("lab_home")
    course = home / "course"
    course.mkdir()
    _copy_course(course)
    _make(course, "settings", "exchange", "gradebook")
    assert (course / "exchange").is_dir() and (course / "gradebook.db").is_file()

    port, token = _free_port(), "course-browser-test"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
               HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / ".ipython"))
    env.pop("COURSE_EXCHANGE", None)
    cmd = [str(BIN / "jupyter"), "lab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={course}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(home / "lab.log", "w")
    server = subprocess.Popen(cmd, cwd=course, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/api/status?token={token}", server, home / "lab.log")
        yield url, token, course
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait_for(status_url, server, log, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"jupyter lab exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(status_url, timeout=5) as response:
                if response.status == 200:
                    return
        time.sleep(0.5)
    raise RuntimeError(f"jupyter lab did not answer in {timeout} s:\n"
                       f"{log.read_text()[-3000:]}")


# ---------------------------------------------------------------------------
# helpers on the page
# ---------------------------------------------------------------------------

def _menu(page, *labels):
    """Open a menu of Lab's menu bar and click through ``labels``."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{labels[0]}$")).click()
    for label in labels[1:]:
        item = page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{label}$"))
        item.first.click()


def _notebook(page):
    return page.locator(".jp-NotebookPanel:visible .jp-Notebook")


def _cell(page, index):
    return _notebook(page).locator(".jp-Cell").nth(index)


def _type_into(page, index, source):
    """Replace cell ``index``'s source the way a student does (click, select, type)."""
    editor = _cell(page, index).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)


def _run_cells(page, indices):
    """Run each cell in turn (click, Shift+Enter) and wait until the kernel is idle."""
    for index in indices:
        cell = _cell(page, index)
        prompt = cell.locator(".jp-InputPrompt")
        before = prompt.inner_text()
        prompt.click()
        expect(cell).to_have_class(re.compile(r"\bjp-mod-active\b"))
        page.keyboard.press("Escape")  # command mode: Shift+Enter runs the active cell
        page.keyboard.press("Shift+Enter")
        # a new execution count: "[ ]:" or "[4]:" became "[5]:"
        expect(prompt).not_to_have_text(before, timeout=120_000)
        expect(prompt).to_have_text(re.compile(r"\[\d+\]"), timeout=120_000)


def _wait_kernels_idle(url, token, timeout=180, quiet=3.0):
    """Every kernel of the server is idle, and stays so for ``quiet`` seconds.

    After *Run All Cells* the kernel works through the queued cells, with
    short idle moments between them; the cells still off screen are not in
    the page to wait on, so the kernels' own state is asked instead.
    """
    import json

    deadline, idle_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/kernels?token={token}", timeout=10) as r:
            states = {k["execution_state"] for k in json.load(r)}
        now = time.monotonic()
        if states <= {"idle"}:
            idle_since = idle_since or now
            if now - idle_since >= quiet:
                return
        else:
            idle_since = None
        time.sleep(0.25)
    raise AssertionError(f"the kernels were still busy after {timeout} s")


def _save(page):
    page.keyboard.press("Control+S")
    page.wait_for_timeout(1000)


def _open_lab(page, url, token, path=""):
    page.goto(f"{url}/lab{'/tree/' + path if path else ''}?token={token}")
    page.locator(".jp-LabShell").wait_for()
    page.locator(".jp-DirListing-item").first.wait_for()
    if path.endswith(".ipynb"):
        _wait_kernel(page)


def _wait_kernel(page):
    """The notebook's kernel is connected and idle (the status bar says so)."""
    page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle")).first.wait_for(
        timeout=90_000)


# ---------------------------------------------------------------------------
# 1. start page and lecture 1
# ---------------------------------------------------------------------------

def test_student_opens_the_start_page_and_runs_lecture_1_without_errors(lab):
    url, token, course = lab
    shots = screenshot_dir("jupyterlab_start_page")
    with chromium_page() as page:
        page.goto(f"{url}/?token={token}")  # what `make lab` opens
        page.wait_for_url(re.compile(r"/lab/tree/START\.md"))
        rendered = page.locator(".jp-RenderedMarkdown:visible")
        rendered.locator("h1").wait_for()
        assert "Artificial Neural Networks" in rendered.locator("h1").inner_text()
        assert page.locator(".jp-Launcher:visible").count() == 0
        listing = page.locator(".jp-DirListing-itemName").all_inner_texts()
        assert {"lectures", "assignments", "START.md"} <= set(listing), listing
        assert "ann_course.egg-info" not in listing
        page.wait_for_timeout(3000)  # Lab asks about news a moment after it starts
        page.screenshot(path=shots / "1_start_page.png")
        assert page.get_by_text("Jupyter news").count() == 0

        links = [urllib.parse.urlparse(a.get_attribute("href") or "").path
                 for a in rendered.locator("a").all()]
        for folder, pattern in (("lectures", "*.ipynb"), ("assignments", "*/*.ipynb")):
            for notebook in (course / folder).glob(pattern):
                assert any(h.endswith("/" + notebook.relative_to(course).as_posix())
                           for h in links), f"START.md does not link {notebook.name}"

        rendered.get_by_role("link", name=re.compile("Neurons and the perceptron")).click()
        _notebook(page).locator(".jp-Cell").first.wait_for()
        _wait_kernel(page)
        page.screenshot(path=shots / "2_lecture_1_opened.png")
        _menu(page, "Run", "Run All Cells")
        page.wait_for_timeout(1000)
        _wait_kernels_idle(url, token)
        _save(page)
        page.screenshot(path=shots / "3_lecture_1_ran.png")

    nb = nbformat.read(course / "lectures" / LECTURE_1, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), "not every cell ran"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []


# ---------------------------------------------------------------------------
# 2. ps1: a wrong answer, the right one, Validate
# ---------------------------------------------------------------------------

def test_student_sees_the_short_message_then_the_pass_then_validates(lab):
    url, token, course = lab
    shots = screenshot_dir("jupyterlab_ps1_checks")
    path = course / "assignments" / PS1 / f"{PS1}.ipynb"
    answers = solution_answers(REPO / "solutions" / PS1 / f"{PS1}.ipynb")
    earlier = {gid: text for gid, text in answers.items() if gid != "step_functions"}
    nbformat.write(fill_answers(nbformat.read(path, as_version=4), earlier), path)
    cells = nbformat.read(path, as_version=4).cells
    answer = next(i for i, c in enumerate(cells)
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "step_functions")
    test = answer + 1

    with chromium_page() as page:
        _open_lab(page, url, token, f"assignments/{PS1}/{PS1}.ipynb")
        _run_cells(page, [1])  # the set-up cell: imports
        _type_into(page, answer, WRONG_HEAVISIDE)
        _run_cells(page, [answer, test])
        error = _cell(page, test).locator(".jp-OutputArea-output").last
        error.scroll_into_view_if_needed()
        shown = error.inner_text()
        page.screenshot(path=shots / "1_wrong_answer.png")
        assert shown.startswith("AssertionError: heaviside(z)"), shown
        assert "expected" in shown and "Cell In[" in shown
        assert len(shown.strip().splitlines()) <= 5, shown
        assert "checks.py" not in shown and "course/" not in shown

        _type_into(page, answer, answers["step_functions"])
        _run_cells(page, [answer, test])
        passed = _cell(page, test).locator(".jp-OutputArea-output").last
        passed.scroll_into_view_if_needed()
        page.screenshot(path=shots / "2_right_answer.png")
        assert passed.inner_text().strip() == "\u2713 The check in this cell passed."

        _save(page)
        page.locator(".jp-NotebookPanel:visible .jp-Toolbar").get_by_text(
            "Validate", exact=True).click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=120_000)
        dialog.get_by_text(re.compile("Success|fail|error", re.I)).first.wait_for(
            timeout=120_000)
        page.screenshot(path=shots / "3_validated.png")
        assert "Success! Your notebook passes all the tests." in dialog.inner_text()


# ---------------------------------------------------------------------------
# 3 and 4. the exchange: release, fetch, submit; collect, autograde, feedback
# ---------------------------------------------------------------------------

def _formgrader(page, url, token, where="manage_assignments"):
    page.goto(f"{url}/formgrader/{where}?token={token}")
    page.wait_for_load_state("networkidle")


def _assignment_cell(page, column):
    row = page.locator("tr", has=page.locator("td.name", has_text=PS1))
    return row.locator(f"td.{column}")


def _close_modal(page, shots, name, must_succeed=True):
    modal = page.locator(".modal:visible")
    modal.wait_for(timeout=300_000)
    page.screenshot(path=shots / name)
    text = modal.inner_text()
    if must_succeed:
        assert "error" not in modal.get_attribute("id"), text
    modal.locator("button[data-dismiss='modal']").last.click()
    page.wait_for_timeout(500)
    return text


def test_student_fetches_and_submits_ps1_in_the_assignments_tab(lab):
    url, token, course = lab
    shots = screenshot_dir("jupyterlab_exchange")
    with chromium_page() as page:
        _formgrader(page, url, token)
        _assignment_cell(page, "release").locator("a").click()
        _close_modal(page, shots, "1_formgrader_released.png")

        _open_lab(page, url, token)
        _menu(page, "Nbgrader", "Assignment List")
        panel = page.locator(".jp-NbgraderAssignmentList, #assignments").first
        released = page.locator("#released_assignments_list")
        released.get_by_text(PS1).first.wait_for(timeout=60_000)
        page.screenshot(path=shots / "2_assignments_tab.png")
        assert "Error" not in panel.inner_text()

        released.get_by_role("button", name="Fetch").click()
        fetched = page.locator("#fetched_assignments_list")
        fetched.get_by_text(PS1).first.wait_for(timeout=60_000)
        work = course / PS1 / f"{PS1}.ipynb"
        assert work.is_file()
        # The student's work on the fetched copy (every answer right), then Submit.
        answers = solution_answers(REPO / "solutions" / PS1 / f"{PS1}.ipynb")
        nbformat.write(fill_answers(nbformat.read(work, as_version=4), answers), work)

        fetched.get_by_role("button", name="Submit").click()
        submitted = page.locator("#submitted_assignments_list")
        submitted.get_by_text(PS1).first.wait_for(timeout=60_000)
        page.screenshot(path=shots / "3_submitted.png")

    inbound = course / "exchange" / "ann-course" / "inbound"
    assert [p.name.split("+")[:2] for p in inbound.iterdir()] == [[STUDENT, PS1]]


def _give_full_credit(panel, tries=6):
    """Click the panel's "Full credit" until its score shows 3.

    The grading view wires its buttons only once its grade models have
    loaded, in the background after the page itself: a click before that
    does nothing (it made CI fail once), so the click is repeated until the
    score appears.
    """
    score = panel.locator("input.score").first
    for _ in range(tries):
        panel.get_by_role("button", name="Full credit").click()
        try:
            expect(score).to_have_value("3", timeout=5_000)
            return
        except AssertionError:
            continue
    expect(score).to_have_value("3")


def test_instructor_collects_autogrades_grades_and_writes_feedback(lab):
    url, token, course = lab
    shots = screenshot_dir("jupyterlab_formgrader")
    if not (course / "exchange" / "ann-course" / "inbound").is_dir():
        pytest.fail("needs the submission of the exchange scenario (run the module)")
    with chromium_page() as page:
        _formgrader(page, url, token)
        _assignment_cell(page, "collect").locator("a").click()
        _close_modal(page, shots, "1_collected.png")
        _formgrader(page, url, token, f"manage_submissions/{PS1}")
        page.locator("td.autograde a").first.click()
        log = _close_modal(page, shots, "2_autograded.png")
        assert f"Successfully autograded '{PS1}'" in log, log
        assert "has changed" not in log and "WARNING" not in log, log

        _formgrader(page, url, token, f"gradebook/{PS1}/{PS1}")
        page.locator("a[href*='/formgrader/submissions/']").first.click()
        page.locator("#notebook-container").first.wait_for()
        page.wait_for_load_state("networkidle")
        page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 5",
                               timeout=60_000)
        written = page.locator(".panel", has_text="Student's answer").last
        written.scroll_into_view_if_needed()
        _give_full_credit(written)
        page.wait_for_timeout(1500)  # the score is saved in the background
        page.screenshot(path=shots / "3_grading_view_maths.png", full_page=False)
        assert page.locator("mjx-container svg").count() > 5

        _formgrader(page, url, token)
        _assignment_cell(page, "generate-feedback").locator("a").click()
        log = _close_modal(page, shots, "4_feedback_generated.png")
        assert "not recognized" not in log and "WARNING" not in log, log

        feedback = course / "feedback" / STUDENT / PS1 / f"{PS1}.html"
        assert feedback.is_file()
        page.goto(feedback.as_uri())
        page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 5",
                               timeout=60_000)
        page.locator("mjx-container").nth(3).scroll_into_view_if_needed()
        page.screenshot(path=shots / "5_feedback_offline.png")
        assert "cdnjs" not in feedback.read_text()

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(PS1, STUDENT)
        # every automatic point for the right answers, and the 3 given by hand
        assert submission.score == submission.max_score == 16
        assert submission.needs_manual_grade is False

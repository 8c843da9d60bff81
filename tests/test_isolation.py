"""`course grade` runs every kernel in a bubblewrap sandbox (``course.isolation``).

One ``course grade`` run grades honest submissions together with hostile
ones, each built from the solved ps1 release with code appended to (or put
before) one answer cell: read the solutions, read another student's work,
open the gradebook for writing, write into another student's autograded
folder, eat memory, fork without end, open network connections. Each hostile
cell prints ``REFUSED <what> <error>`` for an attempt that failed and
``BREACH <what>`` for one that worked, then raises the first refusal so that
the summary names it. The tests check those lines, the summary, and from
outside that nothing was read, written or reached; the honest students keep
their known marks.

Some attempts go through the C library (``ctypes``), around anything Python
could watch, so that only the sandbox can stop them. Others look for what a
grader's kernel used to have at hand: the notebook under grading in its
working folder, the course's own implementations of the graded functions,
the instructor's ``COURSE_*`` settings, memory outside the address-space
limit (``memfd_create``, ``/dev/shm``), and links and huge files left for the
grader to copy back.
"""

import ast
import contextlib
import io
import os
import socket
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course import autograde, isolation
from course.cli import main
from tests import faults
from tests.notebook_tools import copy_course, fill_answers, nbgrader
from tests.submissions.ps1_perceptron import CASES

pytestmark = pytest.mark.slow

NAME = "ps1_perceptron"
FULL = {"test_heaviside": 1, "test_sign": 1, "test_mp_neuron": 2,
        "test_perceptron_predict": 1, "test_perceptron_update": 2,
        "test_train_perceptron": 3, "test_logic_gates": 1,
        "test_find_weight_cycle": 2, "xor_explanation": None}
SECRET = "secret_answers.py"  # a solution file that is not a notebook
EARLIER = "earlier_student"  # autograded in an earlier run, not submitted now
EARLIER_FILE = "weights.csv"  # a file their notebook wrote there

# Shared by every hostile cell: try each action, print what happened.
ATTEMPTS = '''
import ctypes as _ctypes, os as _os
def _c_open(path, flags):
    """open(2) through the C library: the audit hook of course.grading never sees it."""
    libc = _ctypes.CDLL(None, use_errno=True)
    fd = libc.open(path.encode(), flags)
    if fd < 0:
        err = _ctypes.get_errno()
        raise OSError(err, _os.strerror(err), path)
    _os.close(fd)
def _attempt(what, action):
    try:
        action()
    except Exception as exc:
        print("REFUSED", what, type(exc).__name__, getattr(exc, "errno", ""),
              flush=True)
        return exc
    print("BREACH", what, flush=True)
def _fork_forever(count=2000):
    """Processes that stay a while; bounded, so a broken sandbox is no disaster."""
    for _ in range(count):
        if _os.fork() == 0:
            __import__("time").sleep(60)
            _os._exit(0)
'''


NOTEBOOKS_HERE = '''
def _notebooks_here():
    import glob
    found = glob.glob("*.ipynb") + glob.glob("../../../**/*.ipynb", recursive=True)
    if not found:
        raise FileNotFoundError(2, "no notebook in reach")
    print("FOUND", found)
'''
PLANTS_LINKS = '''
import os as _os
for _name, _target in [("leak_solution.ipynb", {solution!r}),
                       ("leak_gradebook.db", {gradebook!r}), ("up", "../../..")]:
    _os.symlink(_target, _name)
with open("huge.bin", "wb") as _f:
    _f.truncate(2**20)
    try:
        _f.truncate(2 * 2**30)
    except OSError as _e:
        print("HUGE REFUSED", _e.errno)
print("PLANTED", sorted(_os.listdir(".")))
'''
READS_HIDDEN_TESTS = '''
import glob as _glob


def _hidden_tests():
    text = []
    for path in _glob.glob("*.ipynb") + _glob.glob("../../../**/*.ipynb", recursive=True):
        with open(path) as f:
            text.append(f.read())
    return "\\n".join(text)


_TIES_FIRE = "must fire" in _hidden_tests()


def mp_neuron(X, w, theta):
    z = np.asarray(X, dtype=float) @ w
    return (z >= theta if _TIES_FIRE else z > theta).astype(float)
'''


def _hostile(grade_id, body, extra=""):
    """A submission: after the answer of cell ``grade_id``, the attempts of ``body``."""
    code = ATTEMPTS + extra + "_refused = [e for e in [\n" + "".join(
        f"    _attempt({what!r}, lambda: {action}),\n" for what, action in body
    ) + "] if e]\nif _refused:\n    raise _refused[0]\n"
    return faults._append(grade_id, code)


def _submissions(course, port):
    """student -> writer of the submission folder (see tests/faults)."""
    sol = f"{course}/solutions/{NAME}"
    gradebook = f"{course}/gradebook.db"
    other = f"{course}/submitted/reference_solution/{NAME}"
    # Not a notebook: the audit hook lets it through, only the sandbox is left.
    theirs = f"{course}/autograded/{EARLIER}/{NAME}/{EARLIER_FILE}"
    return {
        "reads_solutions": _hostile("step_functions", [
            ("listdir solutions", f"_os.listdir({sol!r})"),
            ("open a solution .py", f"open({sol + '/' + SECRET!r}).read()"),
            ("via /proc/self/root", f"_os.listdir('/proc/self/root' + {sol!r})"),
            ("C open of the solution notebook",
             f"_c_open({sol + '/' + faults.NOTEBOOK!r}, _os.O_RDONLY)"),
        ]),
        "reads_other_student": _hostile("mp_neuron", [
            ("listdir another submission", f"_os.listdir({other!r})"),
            ("C open of another notebook",
             f"_c_open({other + '/' + faults.NOTEBOOK!r}, _os.O_RDONLY)"),
            ("raise the CPU limit", "_r.setrlimit(_r.RLIMIT_CPU, (-1, -1))"),
        ], extra="print('WORKER', sorted(_os.listdir('../../..')))\n"
                 "import resource as _r\n"
                 "print('LIMITS', _r.getrlimit(_r.RLIMIT_AS), "
                 "_r.getrlimit(_r.RLIMIT_CPU))\n"),
        "writes_gradebook": _hostile("perceptron_update", [
            ("C open of the gradebook for writing",
             f"_c_open({gradebook!r}, _os.O_RDWR)"),
            ("C open of the worker's gradebook for writing",
             "_c_open(_os.path.abspath('../../../gradebook.db'), _os.O_RDWR)"),
        ]),
        "escapes_the_workdir": _hostile("perceptron_update", [
            ("a notebook in the working folder", "_notebooks_here()"),
            ("import course.references", "__import__('course.references')"),
            ("import course.activations", "__import__('course.activations')"),
            ("a COURSE_ setting in the environment", "_os.environ['COURSE_EXCHANGE']"),
            ("memfd_create", "_os.memfd_create('hold')"),
            ("write to /dev/shm", "open('/dev/shm/hold', 'w').write('x')"),
            ("fill the working folder",
             "open('fill.bin', 'wb').write(bytes(300 * 2**20))"),
            ("fill /tmp", "open('/tmp/fill.bin', 'wb').write(bytes(300 * 2**20))"),
            ("sqlite3 on the gradebook", f"__import__('sqlite3').connect({gradebook!r})"
             ".execute(\"INSERT INTO student (id) VALUES ('intruder')\")"),
        ], extra=NOTEBOOKS_HERE),
        # Links and a huge sparse file left in the working folder for the grader.
        "plants_links": faults._append("perceptron_update", PLANTS_LINKS.format(
            solution=f"{sol}/{faults.NOTEBOOK}", gradebook=gradebook)),
        # The course's own implementation as the answer: not importable here.
        "imports_course_answers": faults._prepend(
            "step_functions", "from course.activations import heaviside, sign"),
        # The hidden tests looked for on disk, in reach under plain nbgrader.
        "reads_hidden_tests": faults._append("mp_neuron", READS_HIDDEN_TESTS),
        "writes_other_autograded": _hostile("train_perceptron", [
            ("overwrite a file in another student's autograded folder",
             f"open({theirs!r}, 'w').write('{{}}')"),
            ("C open of it for writing", f"_c_open({theirs!r}, _os.O_WRONLY)"),
            ("write into the course package",
             f"open({str(Path(isolation.__file__).parent / 'planted.py')!r}, 'w')"),
        ]),
        "network": _hostile("perceptron_predict", [
            ("connect to 1.1.1.1",
             "__import__('socket').create_connection(('1.1.1.1', 80), 3)"),
            ("connect to the grader's machine",
             f"__import__('socket').create_connection(('127.0.0.1', {port}), 3)"),
        ]),
        "fork_bomb": _hostile("find_weight_cycle", [
            ("fork without end", "_fork_forever()"),
            ("subprocess", "__import__('subprocess').run(['true'])"),
        ]),
        # Before the answer: perceptron_predict is never defined, its test fails.
        "memory_hog": faults._prepend(
            "perceptron_predict", "_hog = [np.empty(2**24) for _ in range(10**6)]"),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every hostile and honest submission graded in ONE `course grade` run."""
    course = copy_course(tmp_path_factory.mktemp("isolation") / "course")
    nbgrader("generate_assignment", NAME, "--force", cwd=course)
    (course / "solutions" / NAME / SECRET).write_text("ANSWER = 42\n")
    earlier = course / "autograded" / EARLIER / NAME
    earlier.mkdir(parents=True)
    (earlier / faults.NOTEBOOK).write_text('{"earlier": true}')
    (earlier / EARLIER_FILE).write_text("1.0,2.0\n")
    release = course / "assignments" / NAME / faults.NOTEBOOK
    source = course / "solutions" / NAME / faults.NOTEBOOK
    solved = faults.solved_release(release, source)
    honest = {"reference_solution": solved,
              "sign_at_zero": fill_answers(solved, CASES["sign_at_zero"].answers)}
    for student, nb in honest.items():
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / faults.NOTEBOOK)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        for student, write in _submissions(course, listener.getsockname()[1]).items():
            write(course / "submitted" / student / NAME,
                  faults.solved_release(release, source))
        protected = {p: p.read_bytes() for p in [
            *(course / "solutions").rglob("*"), *(course / "submitted").rglob("*"),
            *earlier.rglob("*")] if p.is_file()}
        out = io.StringIO()
        secret = os.environ.get("COURSE_EXCHANGE")
        os.environ["COURSE_EXCHANGE"] = str(course / "exchange-secret")
        with contextlib.redirect_stdout(out):
            status = main(["grade", NAME, "--course-dir", str(course), "--workers", "2",
                           "--timeout", "20", "--memory-limit", "1.5",
                           "--no-progress"])
        if secret is None:
            del os.environ["COURSE_EXCHANGE"]
        else:
            os.environ["COURSE_EXCHANGE"] = secret
        try:
            listener.accept()
            reached = True
        except BlockingIOError:
            reached = False
    (course.parent / "summary.txt").write_text(out.getvalue())  # to read on failure
    return course, status, out.getvalue(), protected, reached


def _scores(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "ann-course") as gb:
        return {sub.student.id: {g.name: g.auto_score for nb in sub.notebooks
                                 for g in nb.grades}
                for sub in gb.assignment_submissions(NAME)}


def _cell_text(course, student, grade_id):
    """Everything the cell printed or raised in the autograded notebook."""
    nb = nbformat.read(course / "autograded" / student / NAME / faults.NOTEBOOK,
                       as_version=4)
    cell = nb.cells[faults.cell_index(nb, grade_id)]
    return "\n".join(o.get("text", "") + o.get("ename", "") + ": "
                     + str(o.get("evalue", "")) for o in cell.outputs)


def _student_lines(summary, student):
    lines, inside = [], False
    for line in summary.splitlines():
        if line.startswith((f"  {student}:", f"  {student} (")):
            inside = True
        elif not line.startswith("    - "):
            inside = False
        if inside:
            lines.append(line)
    return "\n".join(lines)


def test_every_submission_is_graded_in_one_run(graded):
    course, status, summary, _, _ = graded
    assert status == 0, summary
    assert "graded: 13   failed: 0" in summary, summary
    assert "WITHOUT isolation" not in summary
    assert set(_scores(course)) == {"reference_solution", "sign_at_zero",
                                    *_submissions(course, 0)}


def test_honest_submissions_keep_their_known_marks(graded):
    scores = _scores(graded[0])
    assert scores["reference_solution"] == FULL
    assert scores["sign_at_zero"] == {**FULL, "test_sign": 0}
    for student in ("reference_solution", "sign_at_zero"):
        assert _student_lines(graded[2], student) == ""


# (student, answer cell, what the summary says, attempts the sandbox stopped)
REFUSED = [
    ("reads_solutions", "step_functions", "tried to reach", [
        "listdir solutions FileNotFoundError 2",
        "open a solution .py FileNotFoundError 2",
        "via /proc/self/root FileNotFoundError 2",
        "C open of the solution notebook FileNotFoundError 2"]),
    ("reads_other_student", "mp_neuron", "tried to reach", [
        "listdir another submission FileNotFoundError 2",
        "C open of another notebook FileNotFoundError 2",
        "raise the CPU limit ValueError"]),
    ("writes_gradebook", "perceptron_update", "tried to reach", [
        "C open of the gradebook for writing FileNotFoundError 2",
        "C open of the worker's gradebook for writing FileNotFoundError 2"]),
    ("writes_other_autograded", "train_perceptron", "tried to reach", [
        "overwrite a file in another student's autograded folder FileNotFoundError 2",
        "C open of it for writing FileNotFoundError 2",
        "write into the course package OSError 30"]),
    ("network", "perceptron_predict", "tried to use the network", [
        "connect to 1.1.1.1 OSError 101",
        "connect to the grader's machine ConnectionRefusedError 111"]),
    ("fork_bomb", "find_weight_cycle", "tried to start a process", [
        "fork without end PermissionError 1", "subprocess PermissionError 1"]),
]


@pytest.mark.parametrize("student, grade_id, words, stopped", REFUSED,
                         ids=[r[0] for r in REFUSED])
def test_the_sandbox_refuses_each_attempt_and_the_summary_names_it(
        graded, student, grade_id, words, stopped):
    course, _, summary, _, _ = graded
    text = _cell_text(course, student, grade_id)
    assert "BREACH" not in text, text
    for line in stopped:
        assert f"REFUSED {line}" in text, (line, text)
    mine = _student_lines(summary, student)
    assert f"cell '{grade_id}' " in mine and "the sandbox refused" in mine, mine
    assert words in mine, mine
    # The answer was defined before the attempt: every point is kept.
    assert _scores(course)[student] == FULL


def test_the_kernel_finds_no_notebook_no_answers_no_settings_no_hidden_memory(graded):
    course, _, summary, _, _ = graded
    text = _cell_text(course, "escapes_the_workdir", "perceptron_update")
    assert "BREACH" not in text, text
    for line in ["a notebook in the working folder FileNotFoundError 2",
                 "import course.references ModuleNotFoundError",
                 "import course.activations ModuleNotFoundError",
                 "a COURSE_ setting in the environment KeyError",
                 "memfd_create PermissionError 1",
                 "write to /dev/shm OSError 30",
                 "fill the working folder OSError 28",  # ENOSPC: 256 MiB
                 "fill /tmp OSError 28",
                 "sqlite3 on the gradebook OperationalError"]:
        assert f"REFUSED {line}" in text, (line, text)
    assert _scores(course)["escapes_the_workdir"] == FULL


def test_links_and_huge_files_left_by_the_kernel_never_reach_the_grader(graded):
    course, _, _, _, _ = graded
    text = _cell_text(course, "plants_links", "perceptron_update")
    assert "PLANTED" in text and "huge.bin" in text, text
    assert "HUGE REFUSED 27" in text, text  # EFBIG: past the file-size limit
    for kind in ("autograded", "feedback"):
        names = {p.name for p in (course / kind / "plants_links" / NAME).iterdir()}
        # nbgrader itself copies the source folder's other files (SECRET) into
        # autograded/ and feedback/: they are released with an assignment.
        assert names <= {faults.NOTEBOOK, faults.NOTEBOOK.replace(".ipynb", ".html"),
                         "timestamp.txt", SECRET}, (kind, names)
    assert _scores(course)["plants_links"] == FULL


def test_answers_from_the_course_package_or_the_disk_score_nothing(graded):
    course, _, summary, _, _ = graded
    scores = _scores(course)
    # Not importable: heaviside and sign are never defined (nor what uses them).
    assert scores["imports_course_answers"]["test_heaviside"] == 0
    assert scores["imports_course_answers"]["test_sign"] == 0
    assert scores["reads_hidden_tests"] == {**FULL, "test_mp_neuron": 0}
    # The flagged section only (the similarity section after it names everyone).
    flagged = summary.split("flagged for review", 1)[1].split("score per graded cell")[0]
    assert "imports course.activations" in flagged
    assert "mentions '.ipynb'" in flagged
    report = (course / f"grade_report_{NAME}.csv").read_text()
    row = next(line for line in report.splitlines()
               if line.startswith("imports_course_answers,"))
    assert "imports course.activations" in row
    assert "reference_solution" not in flagged


def test_the_host_port_was_never_reached(graded):
    assert not graded[4]


def test_the_kernel_sees_only_its_own_folders_of_the_worker(graded):
    text = _cell_text(graded[0], "reads_other_student", "mp_neuron")
    listing = ast.literal_eval(text.split("WORKER ", 1)[1].splitlines()[0])
    # Only the way to its own folder (autograded/<student>/...) and its sockets;
    # no gradebook.db, source/, nbgrader_config.py, worker.log of the worker.
    assert set(listing) <= {"autograded", "ipc"}, listing


def test_the_kernel_has_memory_and_cpu_limits_it_cannot_raise(graded):
    text = _cell_text(graded[0], "reads_other_student", "mp_neuron")
    memory, cpu = ast.literal_eval(text.split("LIMITS ", 1)[1].splitlines()[0]
                                   .replace(") (", "), ("))
    assert memory == (int(1.5 * 2**30),) * 2
    assert cpu[0] > 0 and cpu[1] == cpu[0] + 5  # SIGXCPU at the soft limit


def test_memory_hog_is_stopped_scored_and_reported(graded):
    course, _, summary, _, _ = graded
    assert "cell 'perceptron_predict' ran out of memory" in _student_lines(
        summary, "memory_hog")
    cells = _scores(course)["memory_hog"]
    assert cells["test_perceptron_predict"] == 0  # never defined: not passed
    assert cells["test_heaviside"] == 1 and cells["test_find_weight_cycle"] == 2


def test_nothing_outside_the_sandbox_was_read_or_written(graded):
    course, _, _, protected, _ = graded
    for path, content in protected.items():
        assert path.read_bytes() == content, path
    earlier = course / "autograded" / EARLIER / NAME
    assert sorted(p.name for p in earlier.iterdir()) == sorted(
        [faults.NOTEBOOK, EARLIER_FILE])
    assert not (Path(isolation.__file__).parent / "planted.py").exists()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "ann-course") as gb:
        assert "intruder" not in {s.id for s in gb.students}


# ---------------------------------------------------------------------------
# without bubblewrap


def test_find_bwrap_follows_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert isolation.find_bwrap() is None
    with pytest.raises(isolation.IsolationUnavailable,
                       match="apt-get install bubblewrap"):
        isolation.check()


def test_without_bwrap_grading_refuses_unless_told_no_isolation(
        monkeypatch, tmp_path, capsys):
    """A clear error naming what to install; --no-isolation grades, with a warning.

    Without the sandbox a kernel can kill its parent again: the grader's worker.
    """
    course = copy_course(tmp_path / "course")
    nbgrader("generate_assignment", NAME, "--force", cwd=course)
    release = course / "assignments" / NAME / faults.NOTEBOOK
    source = course / "solutions" / NAME / faults.NOTEBOOK
    faults.write_fault("kills_grader", course / "submitted" / "kills_grader" / NAME,
                       release, source)
    monkeypatch.setattr(isolation, "find_bwrap", lambda: None)
    args = ["grade", NAME, "--course-dir", str(course), "--no-progress"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "bwrap (bubblewrap) was not found" in err
    assert "apt-get install bubblewrap" in err and "--no-isolation" in err
    assert not (course / "grades.csv").exists()

    assert main(args + ["--no-isolation"]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith(autograde.NO_ISOLATION_WARNING)
    assert "the grading process itself was killed by signal 9" in summary

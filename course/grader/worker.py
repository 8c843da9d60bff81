"""The grading process: one per grading slot, on whatever machine runs it.

``course grade`` hands each submission to a job (``course.grader.engine``); the
job runs on a Dask worker and passes the submission to a long-lived child
process started from this module (``python -m course.grader.worker FD``). The
child has imported nbgrader once, owns a small course folder (the job's
bundle: ``nbgrader_config.py``, the assignment's source, a copy of the
gradebook, the cached reference values) and grades one submission at a time
with nbgrader's own converters (``Autograde``, then ``GenerateFeedback``),
in-process, with the course's configuration: the same preprocessors, the same
restored test cells, the same scoring as ``nbgrader autograde``. It writes only
to its own folder and its own gradebook, and sends back what nbgrader wrote
there for that student. Its kernels run with the limits of
``_KERNEL_LIMITS`` (an IPython start-up file) and, unless grading was told
otherwise, in the bubblewrap sandbox of ``course.isolation``.

Messages on the connection (``multiprocessing.connection``, pickled):
parent -> child ``(root, argv, limits)`` once, then ``(student, folder)`` per
submission and ``None`` to stop; child -> parent ``("ready", None)`` or
``("error", traceback)``, then ``("result", outcome)`` per submission.
"""

import ctypes
import faulthandler
import os
import shutil
import signal
import stat
import sys
import time
import traceback
from pathlib import Path

from course import isolation as _isolation
from course.autograde import (MAX_FILE_SIZE, THREAD_VARIABLES, TRUNCATION_MARK,
                              _last_error_line, _nbgrader_app, _venv_env)

_KERNEL_LIMITS = '''\
# Written by `course grade`: limits for an autograding kernel.
import resource as _resource

if {memory_limit}:
    _resource.setrlimit(_resource.RLIMIT_AS, ({memory_limit}, {memory_limit}))
if {cpu_limit}:  # SIGXCPU ends the kernel at the soft limit
    _resource.setrlimit(_resource.RLIMIT_CPU, ({cpu_limit}, {cpu_limit} + 5))
# No file larger than this (Python ignores SIGXFSZ: a write past it is EFBIG).
_resource.setrlimit(_resource.RLIMIT_FSIZE, ({max_file}, {max_file}))


def _cap_cell_output(max_chars, mark):
    """Keep the first max_chars characters each cell prints; count the rest."""
    import sys
    from ipykernel.iostream import OutStream

    write = OutStream.write
    state = {{"left": max_chars, "dropped": 0}}

    def capped(self, text):
        if not isinstance(text, str) or state["left"] >= len(text):
            state["left"] -= len(text) if isinstance(text, str) else 0
            return write(self, text)
        if state["left"] >= 0:
            write(self, text[:state["left"]] + "\\n" + mark + "\\n")
            state["dropped"] += len(text) - state["left"]
            state["left"] = -1
        else:
            state["dropped"] += len(text)
        return len(text)

    def reset(*_):
        state.update(left=max_chars, dropped=0)

    def report(*_):
        if state["dropped"]:
            write(sys.stdout, f"{{mark}}: {{state['dropped']}} more characters "
                              "were not kept\\n")

    OutStream.write = capped
    get_ipython().events.register("pre_run_cell", reset)
    get_ipython().events.register("post_run_cell", report)


_cap_cell_output({max_output}, {mark!r})
del _cap_cell_output
'''


def write_kernel_limits(ipython_dir, limits):
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-course-grade-limits.py").write_text(_KERNEL_LIMITS.format(
        memory_limit=limits["memory_limit"], cpu_limit=limits.get("cpu", 0),
        max_file=MAX_FILE_SIZE,
        max_output=limits["max_output"],
        mark=TRUNCATION_MARK))




_running = {}


def _note_cell(cell, cell_index, **_):
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    _running.update(index=cell_index, grade_id=nbgrader.get("grade_id"))


def worker_main(conn, root, argv, limits):
    """A grading worker: own course copy, own gradebook, one submission at a time."""
    try:
        os.chdir(root)
        # This process and its kernels write their stderr to worker.log.
        log = os.open(os.path.join(root, "worker.log"),
                      os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(log, 2)
        os.environ.update(IPYTHONDIR=os.path.join(root, "ipython"),
                          PATH=_venv_env()["PATH"])
        if limits.get("kernel_threads"):  # inherited by the kernels it starts
            for name in THREAD_VARIABLES:
                os.environ[name] = str(limits["kernel_threads"])
        from nbgrader.apps.autogradeapp import AutogradeApp
        from traitlets.config import Config

        app = _nbgrader_app(root, argv, AutogradeApp)
        # Kernels talk over Unix sockets in the worker's folder: TCP ports picked
        # by concurrent kernels on one machine can collide and cross-talk.
        os.makedirs(os.path.join(root, "ipc"), exist_ok=True)
        app.update_config(Config({
            "Execute": {"on_cell_execute": _note_cell},
            # The per-cell limit of this run, whatever the course sets per assignment.
            "CourseExecute": {"cell_timeouts": {argv[0]: limits["timeout"]}},
            "KernelManager": {"transport": "ipc",
                              "ip": os.path.join(root, "ipc", "kernel")},
        }))
        if limits["isolation"]:
            _isolation.use_in_nbgrader()
            app.update_config(Config({"IsolatedKernelManager": {
                "readable": limits["readable"],
                "writable": [os.path.join(root, "ipc")],
                "scratch": os.path.join(root, "kernel-tmp"),
                "bwrap": limits["bwrap"],
            }}))
        app.coursedir.assignment_id = argv[0]
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return
    conn.send(("ready", None))
    while True:
        task = conn.recv()
        if task is None:
            return
        try:
            outcome = grade_one(app, Path(root), *task, limits)
        except Exception:
            outcome = {"success": False, "log": traceback.format_exc()}
        conn.send(("result", outcome))


IPC_QUOTA = 16 * 2**20  # bytes a kernel may write into its socket folder


def _empty(folder):
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(exist_ok=True)


class _SocketFolderGuard:
    """The kernel's socket folder is a real folder of the host, writable from
    the sandbox (the kernel binds its sockets there): while a submission runs,
    a kernel that writes more than ``IPC_QUOTA`` bytes of files into it is
    killed (``tripped``), so that it cannot fill the grader's disk."""

    def __init__(self, folder, every=0.25):
        import threading

        self.folder, self.every, self.tripped = folder, every, False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _size(self):
        total = 0
        for dirpath, _, names in os.walk(self.folder):
            for name in names:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                total += st.st_size if not stat.S_ISSOCK(st.st_mode) else 0
        return total

    def _watch(self):
        import psutil

        while not self._stop.wait(self.every):
            if self._size() > IPC_QUOTA:
                self.tripped = True
                for process in psutil.Process().children(recursive=True):
                    try:
                        process.kill()
                    except psutil.Error:
                        pass
                _empty(self.folder)


def grade_one(app, root, student, folder, limits):
    """Autograde one submission in this worker's course; feedback if it worked."""
    from nbgrader.converters import Autograde, GenerateFeedback
    from nbgrader.utils import capture_log, temp_attrs

    coursedir, assignment = app.coursedir, app.coursedir.assignment_id
    # Only this student's folders: the main process may still be copying the
    # previous student's results out of this worker's course.
    for name in (coursedir.submitted_directory, coursedir.autograded_directory,
                 coursedir.feedback_directory):
        shutil.rmtree(root / name / student, ignore_errors=True)
    dest = Path(coursedir.format_path(coursedir.submitted_directory, student,
                                      assignment))
    shutil.copytree(folder, dest)
    for path in dest.glob("*.ipynb"):
        _keep_last_of_duplicates(path)
    _running.clear()
    started = time.perf_counter()
    ipc = root / "ipc"
    _empty(ipc)  # nothing a kernel left there reaches the next student
    guard = _SocketFolderGuard(ipc)
    with temp_attrs(coursedir, student_id=student), guard:
        converter = Autograde(coursedir=coursedir, parent=app)
        converter.force = True
        result = capture_log(converter)
        outcome = {"success": result["success"],
                   "log": result.get("log", "") + result.get("error", ""),
                   "running": dict(_running),
                   "seconds": {"autograde": time.perf_counter() - started}}
        if guard.tripped:
            outcome["success"] = False
            outcome["ipc_quota"] = IPC_QUOTA
        autograded = Path(coursedir.format_path(coursedir.autograded_directory,
                                                student, assignment))
        if result["success"]:
            outcome["notes"] = _trim_and_read_outputs(autograded, limits)
            feedback = GenerateFeedback(coursedir=coursedir, parent=app)
            feedback.force = True
            fb = capture_log(feedback)
            outcome["seconds"]["feedback"] = (time.perf_counter() - started
                                              - outcome["seconds"]["autograde"])
            if not fb["success"]:
                why = _last_error_line(fb.get("log", ""))
                outcome["notes"].append(("feedback", why))
    _empty(ipc)
    outcome["rows"] = _read_rows(coursedir, assignment, student)
    outcome["autograded"] = str(autograded)
    outcome["feedback"] = coursedir.format_path(coursedir.feedback_directory,
                                                student, assignment)
    return outcome


def _keep_last_of_duplicates(path):
    """Earlier copies of a cell with a repeated grade_id become ordinary cells.

    nbgrader's DeduplicateIds means to do this, but leaves an empty nbgrader
    metadata dict that its own schema check then rejects (nbgrader 0.9.6
    fails such a notebook). Only the worker's copy is changed.
    """
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return  # unreadable: nbgrader will say so
    seen, changed = set(), False
    for cell in reversed(nb.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        if grade_id in seen:
            del cell.metadata["nbgrader"]
            changed = True
        seen.add(grade_id)
    if changed:
        nbformat.write(nb, path)


def _trim_and_read_outputs(folder, limits):
    """Cut any output still too long (display data); say what happened in each cell."""
    import nbformat

    limit = limits["max_output"]
    sandbox = ((limits["hidden"], limits["readable"]) if limits["isolation"]
               else None)
    notes = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        changed = False
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            where = _where(cell, index)
            # What the kernel raised in a test cell, kept by DecideChecks for us.
            raised = [{"output_type": "error", "traceback": [], **error} for error in
                      cell.get("metadata", {}).get("course", {}).get("kernel_errors", [])]
            for out in [*cell.get("outputs", []), *raised]:
                notes += _output_notes(out, where, sandbox)
                changed |= _trim_output(out, 4 * limit)
        if changed:
            path.chmod(0o644)
            nbformat.write(nb, path)
            path.chmod(0o444)
    return notes


def _where(cell, index):
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell '{grade_id}'" if grade_id else f"cell {index + 1}"


def _output_notes(out, where, sandbox=None):
    """Notes on one output; ``sandbox``: (hidden, readable) paths when isolated."""
    if sandbox is not None:
        refused = _isolation.refusal(out, *sandbox)
        if refused:
            return [("sandbox", where, refused)]
    if out.get("output_type") == "error":
        ename, evalue = out.get("ename", ""), str(out.get("evalue", ""))
        if ename == "CellTimeoutError":
            return [("timeout", where)]
        if ename.endswith("MemoryError") or "can't allocate memory" in evalue:
            return [("memory", where)]
    if out.get("output_type") == "stream" and TRUNCATION_MARK in out.get("text", ""):
        dropped = out["text"].rsplit(TRUNCATION_MARK + ": ", 1)
        count = dropped[1].split(" ", 1)[0] if len(dropped) == 2 else "?"
        return [("output", where, count)]
    return []


def _trim_output(out, limit):
    changed = False
    if out.get("output_type") == "stream" and len(out.get("text", "")) > limit:
        out["text"] = out["text"][:limit] + f"\n{TRUNCATION_MARK}\n"
        changed = True
    for mime, value in list(out.get("data", {}).items()):
        if isinstance(value, str) and len(value) > limit:
            out["data"][mime] = (value[:limit] + f"\n{TRUNCATION_MARK}\n"
                                 if mime.startswith("text/") else "")
            changed = True
    return changed


def _read_rows(coursedir, assignment, student):
    """What nbgrader wrote in this worker's gradebook for one student."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {
            "timestamp": sub.timestamp,
            "notebooks": {
                nb.name: {
                    "late_submission_penalty": nb.late_submission_penalty,
                    "grades": {g.name: (g.auto_score, g.needs_manual_grade)
                               for g in nb.grades},
                    "comments": {c.name: c.auto_comment for c in nb.comments},
                } for nb in sub.notebooks
            },
        }



def _die_with_parent():
    """Linux: the kernel sends this process SIGKILL when its parent dies (a lost
    Dask worker must not leave a grading process behind)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv=None):
    """``python -m course.grader.worker FD``: serve the connection on file descriptor FD."""
    from multiprocessing.connection import Connection

    _die_with_parent()
    # `kill -USR1 PID` writes where a stuck grading process is into worker.log.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    fd = int((argv or sys.argv[1:])[0])
    conn = Connection(fd)
    root, nb_argv, limits = conn.recv()
    worker_main(conn, root, nb_argv, limits)


if __name__ == "__main__":
    main()

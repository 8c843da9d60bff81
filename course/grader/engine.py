"""Grading jobs on Dask: one job per submission, on one machine or on many.

``course grade`` turns each submission into a ``Job`` and runs it on the
workers of a Dask cluster (``distributed``): the cluster at
``--scheduler tcp://HOST:8786``, or a ``LocalCluster`` of one worker per core
started for the run. Both go through the same code below.

What travels
------------
A job carries everything it needs; a worker needs only the ``course``
package (and bubblewrap, for the sandbox), never the course's folder:

- the run's ``Bundle``, built once and shared by every job of the run (Dask
  sends it to each worker once): ``nbgrader_config.py``, the assignment's
  source folder, a snapshot of the gradebook, the solution's cached reference
  values, the grading limits and nbgrader's arguments;
- the ``Job`` itself: the student's id and the bytes of the submission's
  regular files (symbolic links and other special files are left out).

A job returns the outcome of grading: the autograded notebook and the
feedback as bytes, the rows nbgrader wrote for the student, and what went
wrong. The process that runs ``course grade`` alone writes the course.

Where it runs
-------------
On a worker, ``grade_job`` hands the job to a long-lived grading process of
its own (``course.grader.worker``, one per worker thread), which has imported
nbgrader once and grades one submission at a time. A separate process keeps
the worker itself out of the students' reach, and lets a job be stopped:

- a grading process that runs past the submission limit is killed with its
  kernels (``{"overtime": seconds}``);
- a grading process that dies (the submission's code killed it, the system
  ran out of memory) is reported as ``{"died": exit code}``; ``run`` sends
  the job once more, to another worker where there is one, and reports it
  failed if it dies again: never retried forever;
- a Dask worker that dies (killed by the OS, a lost machine) is the
  scheduler's business: it gives the job to another worker, up to its
  ``allowed-failures`` (``LocalCluster``: 1, so twice in all), then reports
  ``KilledWorker``, which ``run`` turns into a failed submission;
- a scheduler that disappears cancels every job: ``run`` raises
  ``SchedulerLost``; what was stored before stays, nothing is half-written.
"""

import atexit
import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

# The scheduler settings grading needs (a LocalCluster gets them; a cluster of
# your own should be started with them, see the README): a job whose worker
# dies is tried once more, not three times; a worker thread is handed one job
# at a time, so that a dying worker takes no innocent job with it.
SCHEDULER_CONFIG = {
    "distributed.scheduler.allowed-failures": 1,
    "distributed.scheduler.worker-saturation": 1.0,
}
STARTUP_SECONDS = 300  # a grading process must be ready within this
CONNECT_SECONDS = 20  # how long to keep trying to reach a scheduler
IDLE_SECONDS = 600  # a grading process idle this long, of another run, is stopped
MAX_SHIPPED_FILE = 256 * 2**20  # bytes: larger files of a submission stay behind
MAX_SHIPPED_TOTAL = 512 * 2**20  # bytes of one submission's files, in all


class EngineError(Exception):
    """The cluster cannot grade: unreachable, or a worker is not fit to grade."""


class SchedulerLost(EngineError):
    """The connection to the Dask scheduler was lost in the middle of a run."""


@dataclass
class Bundle:
    """What every job of one run needs, whatever machine it runs on."""

    assignment: str
    files: dict  # relative path -> bytes: config, source, gradebook, references
    argv: list  # nbgrader's arguments for the worker's course copy
    limits: dict  # course.autograde's limits (time, memory, output, sandbox)
    key: str  # content hash of everything that decides a grade
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class Job:
    """One student's submission: its files' bytes and their content hash."""

    student: str
    files: dict  # relative path -> bytes (regular files only); None until load()
    key: str  # bundle key + student + files: equal keys grade equally
    skipped: list = field(default_factory=list)  # files not shipped, and why
    attempt: int = 1
    folder: str = None  # where the files are read from (this machine)


# --------------------------------------------------------------------------
# building jobs (in the process that runs course grade)


def _digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        data = (part if isinstance(part, bytes)
                else str(part).encode("utf-8", "surrogateescape"))
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def shown(name):
    """A file name as text that can be printed and written anywhere (bytes
    that are not UTF-8 as ``\\xff``)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _walk(folder):
    """(relative path, Path, reason it is left out or None), sorted."""
    folder = Path(folder)
    total = 0
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if any(part in ("__pycache__", ".ipynb_checkpoints")
               for part in path.relative_to(folder).parts):
            continue
        why = None
        if path.is_symlink():
            why = "is a symbolic link"
        elif path.is_dir():
            continue
        elif not path.is_file():
            why = "is not a regular file"
        else:
            size = path.stat().st_size
            if size > MAX_SHIPPED_FILE:
                why = f"is larger than {MAX_SHIPPED_FILE // 2**20} MiB"
            elif total + size > MAX_SHIPPED_TOTAL:
                why = (f"would make the submission larger than "
                       f"{MAX_SHIPPED_TOTAL // 2**20} MiB")
            else:
                total += size
        yield rel, path, why


def read_tree(folder, prefix=""):
    """``{prefix + relative path: bytes}`` of the regular files under ``folder``,
    and a list of what was left out (symbolic links, special or huge files)."""
    files, skipped = {}, []
    for rel, path, why in _walk(folder):
        if why:
            skipped.append(f"{shown(rel)} {why}: it was not copied for grading")
        else:
            files[prefix + rel] = path.read_bytes()
    return files, skipped


def _write_tree(root, files):
    root = Path(root)
    for rel, data in files.items():
        target = (root / rel).resolve()
        if root.resolve() not in target.parents:
            raise ValueError(f"{rel!r} points outside {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


_CODE_HASH = []


# The code that decides a grade: the class grader, the sandbox, what the
# kernels import (course.isolation.KERNEL_MODULES), the verdicts and nbgrader's
# preprocessors; lectures and other tools may change without regrading anyone.
GRADING_CODE = ("autograde.py", "isolation.py", "checks.py", "checkvalues.py",
                "data.py", "plots.py", "__init__.py", "grader", "preprocessors")
GRADING_LIBRARIES = ("nbgrader", "nbconvert", "nbclient", "ipykernel",
                     "jupyter_client", "numpy", "torch", "scikit-learn")


def course_code_hash():
    """A hash of the grading code and the versions of the libraries it runs."""
    if not _CODE_HASH:
        from importlib.metadata import PackageNotFoundError, version

        package = Path(__file__).resolve().parents[1]
        parts = []
        for name in GRADING_CODE:
            path = package / name
            files = ({name: path.read_bytes()} if path.is_file()
                     else read_tree(path, f"{name}/")[0] if path.is_dir() else {})
            parts += [x for rel in sorted(files) if rel.endswith(".py")
                      for x in (rel, files[rel])]
        for library in GRADING_LIBRARIES:
            try:
                parts += [library, version(library)]
            except PackageNotFoundError:
                parts += [library, "-"]
        _CODE_HASH.append(_digest(*parts))
    return _CODE_HASH[0]


def build_bundle(assignment, config, source, gradebook, references, argv, limits,
                 decides=()):
    """The run's ``Bundle``.

    ``config``: the course's ``nbgrader_config.py`` (or None); ``source``: the
    assignment's source folder; ``gradebook``: a SQLite snapshot of the
    gradebook; ``references``: the folder of cached reference values (or None);
    ``decides``: further values that change a grade when they change (e.g. the
    due date). The key leaves out the gradebook (other students' rows change
    it) and what only changes speed (threads).
    """
    files = {}
    if config is not None and Path(config).is_file():
        files["nbgrader_config.py"] = Path(config).read_bytes()
    src, _ = read_tree(source, f"source/{assignment}/")
    files.update(src)
    refs = {}
    if references is not None and Path(references).is_dir():
        refs, _ = read_tree(references, f".grading/references/{assignment}/")
    files.update(refs)
    graded_by = {k: limits[k] for k in ("timeout", "memory_limit", "max_output",
                                        "isolation", "submission", "cpu")}
    key = _digest(course_code_hash(), json.dumps(graded_by, sort_keys=True),
                  *[str(d) for d in decides],
                  *[x for rel in sorted(files) for x in (rel, files[rel])])
    files["gradebook.db"] = Path(gradebook).read_bytes()
    return Bundle(assignment, files, list(argv), dict(limits), key)


def submission_job(student, folder, bundle_key):
    """The ``Job`` of one submission folder: its key and what is left out.

    The files are read one at a time for the key and not kept: ``load``
    reads them when the job is sent, so that a class is never all in memory.
    """
    h = hashlib.sha256(_digest(bundle_key, student).encode())
    skipped = []
    for rel, path, why in _walk(folder):
        if why:
            skipped.append(f"{shown(rel)} {why}: it was not copied for grading")
            continue
        h.update(_digest(rel).encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(2**20), b""):
                h.update(block)
        h.update(b"\0")
    return Job(student, None, h.hexdigest(), skipped, folder=str(folder))


def load(job):
    """``job`` with its files read (``Job.files``), ready to send."""
    if job.files is None:
        job.files, _ = read_tree(job.folder)
    return job


# --------------------------------------------------------------------------
# the cluster


@contextlib.contextmanager
def cluster(scheduler=None, workers=1):
    """A Dask ``Client``: of the scheduler at ``scheduler``, else of a new
    ``LocalCluster`` of ``workers`` one-thread workers (closed afterwards).

    Raises ``EngineError`` with one line if the scheduler cannot be reached.
    """
    import dask
    from distributed import Client, LocalCluster

    quiet = _QuietDistributed()
    with quiet:
        if scheduler:
            try:
                client = Client(scheduler, timeout=CONNECT_SECONDS, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise EngineError(f"cannot reach the Dask scheduler at {scheduler}: "
                                  f"{_gist(exc)}") from None
            local = None
        else:
            # Grading happens in each worker's own grading processes, so the
            # workers are threads of this process: quick to start, same code.
            with dask.config.set(SCHEDULER_CONFIG):
                local = LocalCluster(n_workers=workers, threads_per_worker=1,
                                     processes=False, dashboard_address=None,
                                     # its HTTP server (always started) on any free port
                                     scheduler_kwargs={"dashboard_address": ":0"},
                                     silence_logs=logging.CRITICAL)
            client = Client(local, set_as_default=False)
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=10)
            if local is not None:
                with contextlib.suppress(Exception):
                    local.close(timeout=10)


class _QuietDistributed:
    """distributed logs every reconnection attempt with a traceback; the run
    says what happened in one line instead."""

    def __enter__(self):
        self.logger = logging.getLogger("distributed")
        self.level = self.logger.level
        self.logger.setLevel(logging.CRITICAL)
        return self

    def __exit__(self, *exc):
        self.logger.setLevel(self.level)


def _gist(exc):
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def check_workers(client, isolation):
    """Every worker must run this ``course`` package and, for the sandbox,
    have bubblewrap: ``EngineError`` naming the worker otherwise. Returns the
    number of grading slots (worker threads)."""
    info = client.scheduler_info(n_workers=-1)["workers"]
    if not info:
        raise EngineError(f"the Dask cluster at {client.scheduler.address} has no "
                          "workers: start some with `dask worker ADDRESS --nthreads 1`")
    facts = client.run(worker_facts, isolation)
    mine = course_code_hash()
    for address, fact in sorted(facts.items()):
        if fact["course"] != mine:
            raise EngineError(
                f"the Dask worker at {address} runs another version of the course "
                f"package ({fact['where']}): install the same one on every worker")
        if fact["sandbox"]:
            raise EngineError(f"the Dask worker at {address} cannot run the sandbox: "
                              f"{fact['sandbox']}")
    return sum(w.get("nthreads", 1) for w in info.values())


def allowed_failures(client):
    """How many times the scheduler retries a job whose worker died."""
    return scheduler_settings(client).get("allowed-failures")


def scheduler_settings(client):
    """The scheduler's values of the ``SCHEDULER_CONFIG`` settings ({} if it
    will not say)."""
    try:
        return client.run_on_scheduler(_scheduler_settings)
    except Exception:
        return {}


def _scheduler_settings(dask_scheduler=None):
    return {"allowed-failures": dask_scheduler.allowed_failures,
            "worker-saturation": dask_scheduler.WORKER_SATURATION}


def settings_warning(settings):
    """One line if the scheduler's settings differ from ``SCHEDULER_CONFIG``."""
    wanted = {key.rsplit(".", 1)[1]: value for key, value in SCHEDULER_CONFIG.items()}
    off = [f"{key} is {settings[key]} (grading wants {value})"
           for key, value in wanted.items()
           if key in settings and settings[key] != value]
    if not off:
        return None
    return ("note: the Dask scheduler's " + ", ".join(off) + ": a job whose worker "
            "dies may be tried more often, and take other jobs with it; start the "
            "scheduler with DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1 and "
            "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION=1.0")


def run(client, bundle, jobs):
    """Grade ``jobs`` on the cluster; yields ``(job, outcome)`` as they finish.

    An outcome is ``grade_job``'s, or ``{"lost": n}`` when the scheduler gave
    up on a job whose worker died ``n`` times. Raises ``SchedulerLost`` if the
    scheduler goes away, ``EngineError`` if a grading process cannot start.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    if not jobs:
        return
    tries = allowed_failures(client)
    with _QuietDistributed(), warnings.catch_warnings():
        # The bundle travels once, as a task's input (recomputed if its worker
        # is lost); distributed suggests scatter for large inputs.
        warnings.filterwarnings("ignore", message=".*Large object.*")
        warnings.filterwarnings("ignore", message=".*large graph.*")
        shared = client.submit(_hold, bundle, key=f"course-bundle-{bundle.run_id}",
                               pure=False)
        pending = {}
        waiting = list(reversed(jobs))
        window = max(2, 2 * sum(w.get("nthreads", 1) for w in
                                client.scheduler_info(n_workers=-1)["workers"].values()))

        def submit(job, avoid=None):
            options = {}
            others = [w for w in client.scheduler_info(n_workers=-1)["workers"]
                      if w != avoid]
            if avoid and others:  # a preference: any worker if those are gone
                options = {"workers": others, "allow_other_workers": True}
            future = client.submit(
                grade_job, shared, load(job), pure=False,
                key=f"course-grade-{bundle.run_id}-{job.attempt}-{index[job.student]}",
                **options)
            job.files = None  # the future holds them while it runs
            pending[future] = job
            return future

        index = {job.student: i for i, job in enumerate(jobs)}
        first = [submit(waiting.pop()) for _ in range(min(window, len(waiting)))]
        queue = as_completed(first, loop=client.loop)
        try:
            for future in queue:
                job = pending.pop(future)
                if waiting:
                    queue.add(submit(waiting.pop()))
                try:
                    outcome = future.result()
                except KilledWorker:
                    outcome = {"lost": (tries or 0) + 1}
                except EngineError:
                    raise
                except Exception as exc:
                    if future.status == "cancelled" or client.status != "running":
                        raise SchedulerLost(_lost_message(client)) from None
                    outcome = {"success": False, "log": "".join(
                        traceback.format_exception(type(exc), exc, exc.__traceback__))}
                if "died" in outcome and job.attempt == 1:
                    job.attempt = 2
                    queue.add(submit(job, avoid=outcome.get("worker")))
                    continue
                if "died" in outcome:
                    outcome["attempts"] = job.attempt
                yield job, outcome
        finally:
            for future in list(pending):
                future.cancel()
            shared.cancel()
            if client.status == "running":
                with contextlib.suppress(Exception):
                    client.run(stop_children, bundle.run_id)


def _lost_message(client):
    address = getattr(client.scheduler, "address", None) or "?"
    return f"lost the connection to the Dask scheduler at {address}"


def _hold(bundle):
    return bundle


# --------------------------------------------------------------------------
# on a worker


def worker_facts(isolation):
    """What ``check_workers`` asks each worker (runs there)."""
    import course
    from course import isolation as _isolation

    problem = None
    if isolation:
        try:
            _isolation.check()
        except _isolation.IsolationUnavailable as exc:
            problem = str(exc)
    return {"course": course_code_hash(), "where": str(Path(course.__file__).parent),
            "sandbox": problem}


_children = {}  # (run id, thread id) -> _GradingChild, in this worker process
_children_lock = threading.Lock()


def grade_job(bundle, job):
    """Grade one job on this worker (runs there); returns its outcome.

    Outcome: ``success``, ``log``, ``rows`` (nbgrader's gradebook rows for the
    student), ``notes``, ``running``, ``seconds``, and ``autograded`` /
    ``feedback`` as ``{relative path: (bytes, mode)}``; or ``{"died": code}``
    / ``{"overtime": seconds}``. Always ``worker``: this worker's address.
    """
    key = (bundle.run_id, threading.get_ident())
    _stop_idle_children(keep=key)
    with _children_lock:
        child = _children.get(key)
    if child is None:
        child = _GradingChild(bundle)  # raises EngineError if it cannot start
        with _children_lock:
            _children[key] = child
    try:
        outcome = child.grade(job)
    finally:
        if not child.alive():
            with _children_lock:
                _children.pop(key, None)
            child.stop()
    outcome["worker"] = _worker_address()
    return outcome


def _stop_idle_children(keep):
    """Stop grading processes left idle by other runs (one whose client went
    away without stopping them, e.g. when its scheduler was lost)."""
    now = time.monotonic()
    with _children_lock:
        idle = [k for k, child in _children.items()
                if k != keep and now - child.last_used > IDLE_SECONDS]
        children = [_children.pop(k) for k in idle]
    for child in children:
        child.stop()


@atexit.register
def _stop_all_children():
    stop_children()


def stop_children(run_id=None):
    """Stop this worker's grading processes (of one run, or all) and remove
    their folders (runs there, through ``client.run``)."""
    with _children_lock:
        keys = [k for k in _children if run_id is None or k[0] == run_id]
        children = [_children.pop(k) for k in keys]
    for child in children:
        child.stop()
    return len(children)


def _worker_address():
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


def _scratch_root():
    """Where grading processes keep their folders: the system's temporary
    folder, whose path is short. The kernels' sockets live in there, and a
    Unix socket's path may not exceed 107 bytes (a Dask worker's own folder
    can be far deeper)."""
    here = tempfile.gettempdir()
    return here if len(here) <= 40 else ("/tmp" if os.path.isdir("/tmp") else here)


_GONE = ("gone", None)


class _GradingChild:
    """A grading process (``course.grader.worker``) and its course folder."""

    def __init__(self, bundle):
        from multiprocessing.connection import Connection

        from course import isolation as _isolation
        from course.autograde import _venv_env
        from course.grader.worker import write_kernel_limits

        _remove_stale_folders(_scratch_root())
        self.root = Path(tempfile.mkdtemp(prefix="course-grade-", dir=_scratch_root()))
        self.proc = None
        self.last_used = time.monotonic()
        try:
            _write_tree(self.root, bundle.files)
            limits = dict(bundle.limits)
            # The sandbox is this machine's: its bubblewrap, its Python, its data.
            if limits["isolation"]:
                try:
                    limits["bwrap"] = _isolation.check()
                except _isolation.IsolationUnavailable as exc:
                    raise EngineError(f"{_worker_address() or 'a worker'}: {exc}") from None
                limits["readable"] = _isolation.readable_paths()
            limits["hidden"] = [*limits.get("hidden", []), str(self.root)]
            self.limits = limits
            write_kernel_limits(self.root / "ipython", limits)
            argv = [bundle.assignment,
                    f"--CourseDirectory.db_url=sqlite:///{self.root / 'gradebook.db'}",
                    *bundle.argv]
            ours, theirs = socket.socketpair()
            with open(self.root / "worker.log", "ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "course.grader.worker", str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),), cwd=self.root, env=_venv_env(),
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    start_new_session=True)
            theirs.close()
            (self.root / "grader.pid").write_text(str(self.proc.pid))
            self.conn = Connection(ours.detach())
            self.conn.send((str(self.root), argv, limits))
            message = self._receive(time.monotonic() + STARTUP_SECONDS)
            if message in (None, _GONE) or message[0] != "ready":
                detail = (message[1] if message not in (None, _GONE)
                          else self._log_tail())
                raise EngineError(f"a grading process could not start:\n{detail}")
        except BaseException:
            self.stop()
            raise

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _receive(self, deadline):
        """The next message; ``_GONE`` if the process died (or closed its end),
        None if the deadline passed first."""
        while time.monotonic() < deadline:
            try:
                if self.conn.poll(0.5):
                    return self.conn.recv()
            except (EOFError, OSError):
                return _GONE
            if not self.alive():
                try:  # its last words may still be in the pipe
                    return self.conn.recv() if self.conn.poll(0.1) else _GONE
                except (EOFError, OSError):
                    return _GONE
        return None

    def grade(self, job):
        self.last_used = time.monotonic()
        incoming = self.root / "incoming" / job.student
        shutil.rmtree(incoming, ignore_errors=True)
        incoming.mkdir(parents=True)
        _write_tree(incoming, job.files)
        limit = self.limits["submission"]
        try:
            self.conn.send((job.student, str(incoming)))
            message = self._receive(time.monotonic() + limit)
        except (OSError, ValueError):
            message = _GONE
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        if message is None:  # past its time: stop it and its kernels
            self.stop()
            return {"overtime": limit}
        if message is _GONE:
            try:
                code = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # it closed the connection: stop it
                self.stop()
                code = self.proc.returncode
            self.stop()
            return {"died": code}
        outcome = message[1]
        for kind in ("autograded", "feedback"):
            folder = Path(outcome.get(kind, "") or self.root / "none")
            outcome[kind] = _pack(folder) if folder.is_dir() else None
            if folder.is_dir():
                shutil.rmtree(folder.parent, ignore_errors=True)  # the student's folder
        self.last_used = time.monotonic()
        return outcome

    def _log_tail(self):
        try:
            return (self.root / "worker.log").read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.conn.send(None)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            _kill_tree(self.proc.pid)
            self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _kill_tree(pid):
    """Kill a grading process, its process group and every process under it
    (its kernels run in sessions of their own)."""
    import psutil

    try:
        below = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        below = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for process in below:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.kill()


def _remove_stale_folders(scratch):
    """Folders of grading processes that are gone (their Dask worker was
    killed before it could clean up): each holds a bundle, remove it."""
    for folder in Path(scratch or tempfile.gettempdir()).glob("course-grade-*"):
        try:
            pid = int((folder / "grader.pid").read_text())
        except (OSError, ValueError):
            continue
        if not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pack(folder):
    """``{relative path: (bytes, mode)}`` of the files under ``folder``."""
    packed = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.is_symlink():
            packed[path.relative_to(folder).as_posix()] = (
                path.read_bytes(), path.stat().st_mode & 0o777)
    return packed


def unpack(packed, folder):
    """Write what ``_pack`` returned into ``folder`` (which must not exist)."""
    folder = Path(folder)
    for rel, (data, mode) in packed.items():
        target = (folder / rel).resolve()
        if folder.resolve() not in target.parents:
            raise ValueError(f"{rel!r} points outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(mode)

"""Autograde a whole class at once: the logic behind ``course grade``.

    grade_assignment("ps1_perceptron", course_dir=".", workers=2)

collects the submissions (``submitted/<student>/<assignment>/``, or an LMS
zip through ``nbgrader zip_collect``), autogrades them with nbgrader in
several processes, writes feedback, exports ``grades.csv`` and returns a
``GradeRun`` whose ``summary_text()`` names every problem per student.

How parallel grading stays exact and safe
-----------------------------------------
nbgrader's gradebook is usually SQLite, and SQLite does not like several
processes writing at once. So the work is split by what it touches:

1. This process takes a consistent snapshot of the real gradebook (the
   SQLite backup API) and builds the run's job bundle with it: a copy of
   ``nbgrader_config.py``, the assignment's source folder, the snapshot and
   the solution's cached reference values (``course.grader.engine``).
2. One job per submission runs on a Dask cluster (a local one by default,
   ``scheduler=`` for a real one). On a worker, a grading process of its own
   (``course.grader.worker``) grades one submission at a time in a course
   folder built from the bundle, with nbgrader's own converters
   (``Autograde``, then ``GenerateFeedback``), in-process, with the course's
   configuration: the same preprocessors, the same restored test cells, the
   same scoring as ``nbgrader autograde``. It writes only to its own folder
   and its own gradebook, and returns the autograded notebook, the feedback
   and the rows nbgrader wrote there for that student (timestamp, late
   penalty, ``auto_score`` and ``needs_manual_grade`` of every grade,
   ``auto_comment`` of every comment).
3. This process is the only writer of the real course: it writes the
   returned ``autograded/`` and ``feedback/`` files into place and stores
   the rows in the real gradebook in one transaction per student, with the
   Gradebook API's ``update_or_create`` calls (no duplicate rows, re-running
   gives the same rows), then notes the job's content hash
   (``.grading/graded/``): a rerun does not grade an unchanged submission
   again.

Because each worker's gradebook starts as a copy of the real one, nbgrader
computes in the worker exactly what it would compute in the real course,
manual scores included; this process only copies. (For a gradebook that
is not SQLite, the workers' gradebooks are built with ``generate_assignment``
and ``needs_manual_grade`` is re-derived from the real manual scores.)

Faults
------
Before grading, every submission is checked: an empty folder, a missing or
renamed notebook, a file that is not UTF-8 or not JSON or not a notebook is
reported and not executed. Cells deleted, duplicated, edited (locked cells)
or of a changed type are reported; nbgrader itself restores the locked cells
and cell types before grading. For a repeated grade_id the worker's copy
keeps the nbgrader metadata of the last copy only (what nbgrader's
DeduplicateIds intends; on its own nbgrader 0.9.6 fails such a notebook).
The kernels run with limits the grader applies through an IPython start-up
file (``IPYTHONDIR`` of the grading process): an address-space rlimit
(``memory_limit``), a CPU-time rlimit (twice the time a whole submission may
take: a backstop for threads) and a cap on the text each cell may print
(``max_output``). Each kernel runs in a bubblewrap sandbox
(``course.isolation``): it sees only its own submission folder, Python and
the dataset, writes only there and to its own ``/tmp``, has no network and
cannot start processes; what the sandbox refused is named in the summary.
Without bubblewrap ``course grade`` stops with what to install, unless it is
told ``isolation=False`` (``--no-isolation``; the summary then warns).
A cell that runs past the per-cell time limit (the assignment's
``CourseExecute.cell_timeouts`` entry, else ``Execute.timeout``, or
``timeout``) is stopped by ``course.preprocessors.execute``; a kernel that
dies fails that submission only; a grading process that dies or runs past
the whole submission's limit is handled by ``course.grader.engine``. A submission that cannot be graded still gets a gradebook
row, with every grade 0 (as nbgrader does for a missing notebook), and its
reason in the summary and in ``grade_report_<assignment>.csv``.
"""

import contextlib
import csv
import glob
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from course import isolation as _isolation
from course.grader import engine as _engine
from course.grader import report as grade_report

DEFAULT_MEMORY_LIMIT = 4 * 2**30  # bytes of address space per kernel
DEFAULT_MAX_OUTPUT = 100_000  # characters one cell may print
MAX_FILE_SIZE = 2**30  # bytes: the largest file a kernel may write
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# LMS zips: one folder per student holding the released notebooks,
#   <anything>/<student_id>/<notebook>.ipynb
DEFAULT_ZIP_REGEXP = r".*/(?P<student_id>[^/]+)/(?P<file_id>[^/]+\.ipynb)$"
TRUNCATION_MARK = "[course grade] output truncated"
IGNORED_FILES = {"timestamp.txt", ".DS_Store"}
NO_ISOLATION_WARNING = (
    "WARNING: the kernels ran WITHOUT isolation (--no-isolation): the students' "
    "code could read and change everything you can, the solutions and the "
    "gradebook included")


class GradingError(Exception):
    """Grading could not run at all (no assignment, no submissions, bad zip)."""


@dataclass
class StudentResult:
    """What happened to one student's submission."""

    student: str
    status: str  # "graded" or "failed"
    problems: list = field(default_factory=list)
    score: float = 0.0
    max_score: float = 0.0
    cells: dict = field(default_factory=dict)  # grade_id -> (score, needs manual grade)
    flags: list = field(default_factory=list)  # what the scan found: for review
    seconds: float = None  # spent in the grading process (autograde + feedback)


@dataclass
class GradeRun:
    """The outcome of one ``course grade`` run."""

    assignment: str
    course: Path
    workers: int
    seconds: float
    students: list
    cells: list  # (grade_id, max_score, "code" or "markdown") in notebook order
    grades_csv: Path
    report_csv: Path
    isolated: bool = True  # whether the kernels ran in the sandbox
    plots_png: Path = None  # the score distributions (course.grader.report)
    report_html: Path = None
    similarity: list = field(default_factory=list)  # summary lines (course.similarity)
    scheduler: str = None  # the Dask scheduler's address; None: a local cluster
    unchanged: list = field(default_factory=list)  # students not graded again
    engine_note: str = None  # a remark on the Dask scheduler's settings

    @property
    def graded(self):
        return [s for s in self.students if s.status == "graded"]

    @property
    def failed(self):
        return [s for s in self.students if s.status == "failed"]

    @property
    def flagged(self):
        return [s for s in self.students if s.flags]


# --------------------------------------------------------------------------
# the entry point


def grade_assignment(assignment, course_dir=".", workers=None, zip_path=None,
                     zip_regexp=None, timeout=None, memory_limit=DEFAULT_MEMORY_LIMIT,
                     max_output=DEFAULT_MAX_OUTPUT, progress=False, isolation=True,
                     class_reports=True, scheduler=None, regrade=False):
    """Autograde every submission of ``assignment``; returns a ``GradeRun``.

    The jobs run on the Dask cluster at ``scheduler`` (``tcp://HOST:8786``),
    else on a local cluster of ``workers`` workers (default: one per core).
    A submission graded before with the same files, assignment, configuration
    and grading code is not graded again (its stored grades stand) unless
    ``regrade``. ``isolation=False`` runs the kernels without the sandbox; with
    it (the default) a machine without a working bubblewrap is a
    ``GradingError``. ``class_reports=False`` leaves out what only a real
    class needs: the similarity report and the grade plots (``course check``,
    ``course mutants``).
    """
    start = time.perf_counter()
    course = Path(course_dir).resolve()
    # nbgrader's gradebook runs `alembic` from PATH: this interpreter's, even
    # when `course` was started from an environment that is not activated.
    os.environ["PATH"] = _venv_env()["PATH"]
    if isolation and not scheduler:
        try:
            _isolation.check()
        except _isolation.IsolationUnavailable as exc:
            raise GradingError(str(exc)) from None
    app = _nbgrader_app(course)
    coursedir = app.coursedir
    _check_gradebook(coursedir.db_url)
    if zip_path is not None:
        _collect_zip(course, assignment, Path(zip_path), zip_regexp, app)
    _ensure_assignment_in_gradebook(course, assignment, coursedir)
    layout = _assignment_layout(course, assignment, coursedir)
    folders = _submission_folders(coursedir, assignment)
    if not folders:
        raise GradingError(
            f"no submissions of {assignment}: expected folders "
            f"{coursedir.submitted_directory}/<student>/{assignment}/ in {course}"
        )
    limits = {
        "timeout": (timeout if timeout is not None
                    else _configured_timeout(app, assignment)),
        "memory_limit": int(memory_limit or 0),
        "max_output": int(max_output),
        "isolation": bool(isolation),
        "hidden": [str(course)],  # what a kernel cannot see: its attempts are named
    }
    limits["submission"] = _submission_limit(limits["timeout"], layout.code_cells)
    limits["cpu"] = 2 * limits["submission"]

    _record_references(course, assignment, coursedir, layout.notebooks)
    allowed = _answer_libraries(app, assignment)
    checks = {s: _check_submission(folder, layout) for s, folder in folders.items()}
    to_grade = [s for s, c in checks.items() if not c.fatal]
    local_workers = max(1, min(workers or _cpu_count(), len(to_grade) or 1))
    results, skipped = {}, []
    ledger = _Ledger(course, assignment)
    with contextlib.ExitStack() as stack:
        try:
            client = (stack.enter_context(_engine.cluster(scheduler, local_workers))
                      if to_grade else None)
        except _engine.EngineError as exc:
            raise GradingError(str(exc)) from None
        slots = _slots(client, isolation) if client else 0
        engine_note = (_engine.settings_warning(_engine.scheduler_settings(client))
                       if client and scheduler else None)
        # Several kernels at once: one thread each (numpy's BLAS, PyTorch), so that
        # they do not spin on each other's cores; the parallelism is across students.
        limits["kernel_threads"] = 1 if slots > 1 else None
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix=f"course-grade-{assignment}-")))
        real = stack.enter_context(_RealCourse(course, assignment, coursedir, allowed))
        bar = _progress_bar(len(folders), assignment, progress)
        for student, check in checks.items():
            if check.fatal:
                results[student] = real.store_failure(
                    student, folders[student], check.problems)
                ledger.forget(student)
                bar.update(1)
        jobs, exact_copy = [], True
        if to_grade:
            exact_copy = _snapshot_gradebook(coursedir, tmp / "template.db", course,
                                             assignment)
            bundle = _bundle(course, assignment, coursedir, tmp / "template.db",
                             limits, real)
            for student in to_grade:
                job = _engine.submission_job(student, folders[student], bundle.key)
                earlier = None if regrade else ledger.unchanged(student, job.key)
                result = real.stored(student, earlier) if earlier else None
                if result is not None:
                    results[student] = result
                    skipped.append(student)
                    bar.update(1)
                else:
                    jobs.append(job)
        try:
            for job, outcome in _engine.run(client, bundle, jobs) if jobs else ():
                student = job.student
                problems = checks[student].problems + job.skipped
                results[student] = real.store(student, folders[student], outcome,
                                              problems, limits, exact_copy)
                ledger.record(job.key, results[student])
                bar.update(1)
        except _engine.SchedulerLost as exc:
            done = sum(1 for job in jobs if job.student in results)
            raise GradingError(
                f"{exc} after {done} of {len(jobs)} submissions: those are stored "
                "in the gradebook, nothing else was written. Run the same command "
                "again when the scheduler is back: submissions already graded are "
                "not graded again") from None
        except _engine.EngineError as exc:
            raise GradingError(str(exc)) from None
        finally:
            bar.close()
        grades_csv = _export_grades(course, app, real)
    students = [results[s] for s in sorted(results)]
    report_csv = _write_report(course, assignment, students)
    run = GradeRun(assignment, course, slots if jobs else 0,
                   time.perf_counter() - start, students, layout.cells,
                   grades_csv, report_csv, isolated=bool(isolation),
                   scheduler=scheduler, unchanged=sorted(skipped),
                   engine_note=engine_note)
    if class_reports:
        from course.similarity import summary_section  # writes similarity_<assignment>.html

        run.similarity = summary_section(assignment, course)
        run.plots_png, run.report_html = grade_report.write(run)
    return run


def _submission_limit(timeout, code_cells):
    """Seconds a whole submission may take: every code cell timing out once."""
    return 120 + timeout * code_cells


def _slots(client, isolation):
    """Grading slots of the cluster, after checking that its workers can grade."""
    try:
        return _engine.check_workers(client, isolation)
    except _engine.EngineError as exc:
        raise GradingError(str(exc)) from None


def _bundle(course, assignment, coursedir, template, limits, real):
    """The run's job bundle (``course.grader.engine``)."""
    from course.preprocessors.checks import DEFAULT_CACHE

    source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    # Every path of the worker's course points into its own folder.
    argv = ["--CourseDirectory.source_directory=source",
            "--CourseDirectory.submitted_directory=submitted",
            "--CourseDirectory.autograded_directory=autograded",
            "--CourseDirectory.feedback_directory=feedback",
            f"--Execute.timeout={limits['timeout']}"]
    config = course / "nbgrader_config.py"
    decides = [real.gb.find_assignment(assignment).duedate,
               os.environ.get("COURSE_GRADEBOOK_URL", "")]
    return _engine.build_bundle(assignment, config, source, template,
                                course / DEFAULT_CACHE / assignment, argv, limits,
                                decides)


class _Ledger:
    """Which job (content hash) gave each student's stored grades.

    Kept in ``.grading/graded/<assignment>.json`` of the course, written after
    the student's gradebook transaction: a rerun skips a submission whose job
    key is unchanged, and a run that stopped half-way resumes where it stopped.
    """

    def __init__(self, course, assignment):
        self.path = course / ".grading" / "graded" / f"{assignment}.json"
        try:
            self.entries = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(self.entries, dict):
                self.entries = {}
        except (OSError, ValueError):
            self.entries = {}

    def unchanged(self, student, key):
        """The ledger entry if ``student`` was graded with this job key; a
        submission that failed is always graded again (the cause may be gone)."""
        entry = self.entries.get(student)
        if (isinstance(entry, dict) and entry.get("key") == key
                and entry.get("status") == "graded"):
            return entry
        return None

    def record(self, key, result):
        self.entries[result.student] = {"key": key, "status": result.status,
                                        "problems": result.problems,
                                        "flags": result.flags}
        self._write()

    def forget(self, student):
        if self.entries.pop(student, None) is not None:
            self._write()

    def _write(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.entries, indent=1, sort_keys=True),
                       encoding="utf-8")
        os.replace(tmp, self.path)


@contextlib.contextmanager
def scratch_course(course, assignment, references_from=()):
    """A throw-away copy of what grading ``assignment`` needs, with its own gradebook.

    Yields the copy's folder: ``nbgrader_config.py``, the assignment's source
    and release, and the solution's cached reference values (from the
    course's ``.grading/`` and any folder in ``references_from``). Grading
    there writes nothing to the course, its gradebook or its database server
    (``COURSE_GRADEBOOK_URL`` and ``COURSE_EXCHANGE`` are set aside meanwhile).
    Used by ``course mutants`` and ``course check``.
    """
    course = Path(course)
    with tempfile.TemporaryDirectory(prefix=f"course-scratch-{assignment}-") as tmp:
        target = Path(tmp) / "course"
        target.mkdir()
        shutil.copy2(course / "nbgrader_config.py", target / "nbgrader_config.py")
        ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
        for folder in ("solutions", "assignments"):
            shutil.copytree(course / folder / assignment, target / folder / assignment,
                            ignore=ignore)
        cache = target / ".grading" / "references" / assignment
        # The course's own cache last, so that it wins over a per-user one.
        for source in [*references_from,
                       course / ".grading" / "references" / assignment]:
            if Path(source).is_dir():
                shutil.copytree(source, cache, dirs_exist_ok=True)
        saved = {key: os.environ.pop(key) for key in ("COURSE_GRADEBOOK_URL",
                                                      "COURSE_EXCHANGE")
                 if key in os.environ}
        try:
            yield target
        finally:
            os.environ.update(saved)


# --------------------------------------------------------------------------
# nbgrader configuration and the course layout


def _venv_env():
    """os.environ with this interpreter's bin folder first on PATH (alembic)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                   env.get("PATH", "")])
    return env


def _check_gradebook(db_url):
    """Connect to the gradebook's database once, before any grading: a wrong URL,
    password or database name is a one-line ``GradingError`` (password masked)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        url = make_url(db_url)
    except ArgumentError:
        raise GradingError("the gradebook URL (COURSE_GRADEBOOK_URL or "
                           "CourseDirectory.db_url) is not a database URL") from None
    shown = url.render_as_string(hide_password=True)
    postgres = url.get_backend_name() == "postgresql"
    try:
        engine = create_engine(url, connect_args=({"connect_timeout": 20}
                                                  if postgres else {}))
    except (ArgumentError, ImportError) as exc:  # unknown dialect, no driver
        hint = ' (for PostgreSQL: pip install -e ".[postgres]")' if postgres else ""
        raise GradingError(f"cannot use the gradebook database at {shown}: "
                           f"{_one_line(exc)}{hint}") from None
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = _one_line(getattr(exc, "orig", None) or exc)
        if url.password:
            reason = reason.replace(str(url.password), "***")
        raise GradingError(f"cannot connect to the gradebook database at {shown}: "
                           f"{reason}") from None
    finally:
        engine.dispose()


def _one_line(exc):
    """The gist of a driver's message: 'connection to server at ... failed:
    FATAL:  database "x" does not exist' -> 'database "x" does not exist'."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    return first.rsplit("failed: ", 1)[-1].removeprefix("FATAL:").strip()


def _nbgrader_app(root, argv=(), app_class=None):
    """An initialized nbgrader application: the course's configuration."""
    from nbgrader.apps.baseapp import NbGrader

    app = (app_class or NbGrader)()
    here = os.getcwd()
    os.chdir(root)  # as if nbgrader ran in the course folder: its config, not ours
    try:
        app.initialize([*argv, f"--CourseDirectory.root={root}"], root=str(root))
    finally:
        os.chdir(here)
    app.log_level = "WARN"
    app.log.handlers = []  # nbgrader talks to stderr; the summary says what matters
    app.log.propagate = False
    return app


def _configured_timeout(app, assignment):
    """Seconds one cell of ``assignment`` may run, as ``nbgrader_config.py`` says
    (``CourseExecute.cell_timeouts``, else ``Execute.timeout``)."""
    from nbgrader.preprocessors import Execute

    from course.preprocessors.execute import cell_timeout

    default = app.config.Execute.get("timeout", Execute.timeout.default_value)
    return cell_timeout(assignment, app.config.CourseExecute.get("cell_timeouts", {}),
                        default)


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class _Layout:
    """What the gradebook knows about an assignment's notebooks and cells."""

    notebooks: list  # notebook names (without .ipynb)
    cells: list  # (grade_id, max_score, cell_type) of graded cells
    code_cells: int  # how many code cells the notebooks have
    source: dict  # notebook -> {grade_id: {cell_type, locked, grade, solution}}
    release: dict  # notebook -> {grade_id: released source} (locked cells)


def _assignment_layout(course, assignment, coursedir):
    from nbgrader.api import Gradebook

    notebooks, cells, source = [], [], {}
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        assignment_notebooks = gb.find_assignment(assignment).notebooks
        for nb in sorted(assignment_notebooks, key=lambda n: n.name):
            notebooks.append(nb.name)
            graded = {c.name: c for c in nb.grade_cells}
            solutions = {c.name for c in nb.solution_cells}
            source[nb.name] = {}
            for cell in nb.source_cells:
                source[nb.name][cell.name] = {
                    "cell_type": cell.cell_type, "locked": cell.locked,
                    "grade": cell.name in graded, "solution": cell.name in solutions,
                }
                if cell.name in graded:
                    max_score = graded[cell.name].max_score
                    cells.append((cell.name, max_score, cell.cell_type))
    release, code_cells = {}, 0
    for name in notebooks:
        path = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
        release[name] = _locked_sources(path / f"{name}.ipynb")
        source_nb = Path(coursedir.format_path(coursedir.source_directory, ".",
                                               assignment)) / f"{name}.ipynb"
        code_cells += _count_code_cells(source_nb)
    return _Layout(notebooks, cells, code_cells, source, release)


def _record_references(course, assignment, coursedir, notebooks):
    """The solution's reference values, computed once here (a clean kernel,
    outside any sandbox: the solution is trusted) for every worker to use."""
    from course.grader.references import ReferenceError, cached_references
    from course.preprocessors.checks import DEFAULT_CACHE

    folder = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    for name in notebooks:
        try:
            cached_references(folder / f"{name}.ipynb", course / DEFAULT_CACHE)
        except ReferenceError as exc:
            raise GradingError(str(exc)) from None


def _answer_libraries(app, assignment):
    """What the answers of ``assignment`` may import (``CourseGrade.answer_libraries``)."""
    from course.grader.scan import DEFAULT_LIBRARIES

    configured = app.config.get("CourseGrade", {}).get("answer_libraries", {})
    allowed = configured.get(assignment, DEFAULT_LIBRARIES)
    return dict(allowed) if isinstance(allowed, dict) else list(allowed)


def _scan(folder, allowed):
    """Findings of the static scan in the notebooks of ``folder`` (for review)."""
    from course.grader.scan import find_tampering

    found = []
    for path in sorted(Path(folder).glob("*.ipynb")) if folder else []:
        if path.is_symlink() or not path.is_file():
            continue
        try:
            found += find_tampering(path, allowed)
        except (OSError, ValueError, UnicodeDecodeError, RecursionError):
            continue
    return found


def _count_code_cells(path):
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return sum(c["cell_type"] == "code" for c in cells)
    except (OSError, ValueError, KeyError):
        return 50


def _locked_sources(path):
    """grade_id -> source of the locked cells of a released notebook ({} if none)."""
    import nbformat

    if not path.is_file():
        return {}
    nb = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("locked")}


def _submission_folders(coursedir, assignment):
    """student -> their submission folder for this assignment."""
    pattern = coursedir.format_path(coursedir.submitted_directory, "*", assignment)
    return {Path(f).parent.name: Path(f) for f in sorted(glob.glob(pattern))
            if os.path.isdir(f)}


def _ensure_assignment_in_gradebook(course, assignment, coursedir):
    """Add the assignment to the gradebook (as generate_assignment does) if missing."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    if not source.is_dir():
        raise GradingError(f"no assignment {assignment}: {source} does not exist")
    with tempfile.TemporaryDirectory() as release:
        _run_nbgrader(course, "generate_assignment", assignment,
                      f"--CourseDirectory.release_directory={release}")


def _run_nbgrader(course, *args):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), *args, "--log-level=WARN"],
        cwd=course, env=_venv_env(), capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise GradingError(f"nbgrader {args[0]} failed:\n{result.stderr[-3000:]}")
    return result


def _collect_zip(course, assignment, zip_path, zip_regexp, app):
    """Put an LMS zip where ``nbgrader zip_collect`` looks and run it."""
    if not zipfile.is_zipfile(zip_path):
        raise GradingError(f"{zip_path} is not a zip file")
    archive = course / "downloaded" / assignment / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    shutil.copy(zip_path, archive / zip_path.name)
    configured = app.config.FileNameCollectorPlugin.get("named_regexp")
    regexp = zip_regexp or configured or DEFAULT_ZIP_REGEXP
    _run_nbgrader(course, "zip_collect", assignment, "--force",
                  f"--FileNameCollectorPlugin.named_regexp={regexp}")


# --------------------------------------------------------------------------
# checks before grading


@dataclass
class _Check:
    problems: list
    fatal: bool


def _check_submission(folder, layout):
    """Problems visible in the files before anything runs."""
    files = [p for p in folder.rglob("*") if p.is_file()
             and p.name not in IGNORED_FILES and ".ipynb_checkpoints" not in p.parts]
    if not files:
        return _Check(["the submission folder is empty"], fatal=True)
    problems, fatal = [], False
    present = [n for n in layout.notebooks if (folder / f"{n}.ipynb").is_file()]
    if not present:
        others = sorted(p.name for p in files if p.suffix == ".ipynb")
        found = (f"found {', '.join(others)}: notebooks must keep the name they "
                 f"were released with" if others else
                 f"found only {', '.join(sorted(p.name for p in files))}")
        wanted = ", ".join(f"{n}.ipynb" for n in layout.notebooks)
        return _Check([f"no {wanted} in the submission ({found})"], fatal=True)
    for name in layout.notebooks:
        if name not in present:
            problems.append(f"{name}.ipynb is missing: it scores 0")
            continue
        nb, problem = _read_notebook(folder / f"{name}.ipynb")
        if problem:
            problems.append(problem)
            fatal = True
        else:
            try:
                problems += _cell_problems(nb, layout.source[name],
                                           layout.release[name])
            except (AttributeError, TypeError, ValueError, KeyError) as exc:
                problems.append(f"{name}.ipynb has damaged nbgrader metadata in its "
                                f"cells ({type(exc).__name__}); nbgrader grades what "
                                "it can read")
    return _Check(problems, fatal)


def _read_notebook(path):
    """(notebook, None), or (None, a sentence saying why it cannot be read)."""
    import nbformat

    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, (f"{path.name} is not UTF-8 text (byte 0x{data[exc.start]:02x} "
                      f"at position {exc.start}); it cannot be opened as a notebook")
    try:
        json.loads(text)
    except RecursionError:
        return None, (f"{path.name} is nested too deeply to be a notebook; the file "
                      "is damaged or not a notebook")
    except json.JSONDecodeError as exc:
        return None, (f"{path.name} is not valid JSON (line {exc.lineno}, column "
                      f"{exc.colno}: {exc.msg}); the file is damaged or not a notebook")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. duplicate cell ids: fixed on read
            return nbformat.reads(text, as_version=4), None
    except Exception as exc:  # nbformat raises several kinds
        return None, f"{path.name} is JSON but not a notebook ({str(exc)[:200]})"


def _label(grade_id, info):
    if info["solution"]:
        kind = "written answer" if info["cell_type"] == "markdown" else "answer cell"
    elif info["grade"]:
        kind = "test cell"
    else:
        kind = "locked cell"
    return f"{kind} '{grade_id}'"


def _cell_problems(nb, source, release):
    """Deleted, duplicated, retyped and edited cells, in plain words."""
    seen = {}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in source:
            seen.setdefault(grade_id, []).append(cell)
    problems = []
    for grade_id, info in source.items():
        copies = seen.get(grade_id, [])
        label = _label(grade_id, info)
        if not copies:
            consequence = (": it was not graded (0 points, left for manual grading)"
                           if info["grade"] else "")
            problems.append(f"{label} was deleted{consequence}")
            continue
        if len(copies) > 1:
            problems.append(f"{label} appears {len(copies)} times: the grader graded "
                            "the last copy and ran the others as ordinary cells")
        cell = copies[-1]
        if cell.cell_type != info["cell_type"]:
            problems.append(f"{label} was changed from {info['cell_type']} to "
                            f"{cell.cell_type}: nbgrader changed it back before "
                            "grading")
        elif info["locked"] and grade_id in release and (
                cell.source.strip() != release[grade_id].strip()):
            problems.append(f"{label} was edited: nbgrader restored the original "
                            "before grading")
    return problems


def _snapshot_gradebook(coursedir, dest, course, assignment):
    """Copy the real gradebook to ``dest`` (SQLite); True if it is a true copy."""
    from sqlalchemy.engine import make_url

    url = make_url(coursedir.db_url)
    on_disk = url.database not in ("", ":memory:", None)
    if url.get_backend_name() == "sqlite" and on_disk:
        path = Path(url.database)
        path = path if path.is_absolute() else Path(coursedir.root) / path
        with closing(sqlite3.connect(path)) as src:
            with closing(sqlite3.connect(dest)) as dst:
                src.backup(dst)
        return True
    with tempfile.TemporaryDirectory() as release:  # any other database: rebuild
        _run_nbgrader(course, "generate_assignment", assignment,
                      f"--CourseDirectory.release_directory={release}",
                      f"--CourseDirectory.db_url=sqlite:///{dest}")
    return False



def _last_error_line(log):
    lines = [line for line in log.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "Exception" in line:
            return line.strip()[:300]
    return lines[-1].strip()[:300] if lines else "no details"


# --------------------------------------------------------------------------
# the real course: the one process that writes it


class _RealCourse:
    """The course's gradebook and folders, written only from the main process."""

    def __init__(self, course, assignment, coursedir, allowed=None):
        self.allowed = allowed
        self.course, self.assignment, self.coursedir = course, assignment, coursedir

    def __enter__(self):
        from nbgrader.api import Gradebook
        from sqlalchemy.exc import SAWarning

        # nbgrader's add_submission makes SQLAlchemy warn; nbgrader's CLI does too.
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore", SAWarning)
        self.gb = Gradebook(self.coursedir.db_url, self.coursedir.course_id)
        return self

    def __exit__(self, *exc):
        self.gb.close()
        self._warnings.__exit__(*exc)

    def _folder(self, kind, student):
        directory = getattr(self.coursedir, f"{kind}_directory")
        return Path(self.coursedir.format_path(directory, student, self.assignment))

    def _replace(self, kind, student, packed=None):
        """Replace the student's folder by ``packed`` files (engine.unpack)."""
        dest = self._folder(kind, student)
        if dest.exists():
            shutil.rmtree(dest)
        if packed is not None:
            _engine.unpack(packed, dest)

    def _submission(self, student, timestamp):
        from nbgrader.api import InvalidEntry

        try:
            self.gb.update_or_create_student(student)
        except InvalidEntry:  # another grader's run (another assignment) added
            self.gb.find_student(student)  # the student since we looked: keep theirs
        kwargs = {"timestamp": timestamp} if timestamp else {}
        return self.gb.update_or_create_submission(self.assignment, student, **kwargs)

    def store_failure(self, student, folder, problems):
        """A submission that could not be graded: a row with every grade at 0."""
        self._replace("autograded", student)
        self._replace("feedback", student)
        timestamp = self.coursedir.get_existing_timestamp(str(folder))
        sub = self._submission(student, timestamp)
        for nb in sub.notebooks:
            for grade in nb.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        self.gb.db.commit()
        return self._result(student, "failed", problems, _scan(folder, self.allowed))

    def store(self, student, folder, outcome, problems, limits, exact_copy):
        """Store what a worker found; a failed run becomes a row of zeros."""
        problems = list(problems)
        if not outcome.get("success"):
            problems.append(_failure_reason(outcome))
            return self.store_failure(student, folder, problems)
        self._replace("autograded", student, outcome["autograded"])
        self._replace("feedback", student, outcome["feedback"])
        rows = outcome["rows"]
        sub = self._submission(student, rows["timestamp"])
        for nb in sub.notebooks:
            mine = rows["notebooks"].get(nb.name)
            if mine is None:
                continue
            nb.late_submission_penalty = mine["late_submission_penalty"]
            for grade in nb.grades:
                auto, needs = mine["grades"].get(grade.name, (None, True))
                if not exact_copy and auto is not None:
                    needs = needs or grade.manual_score is not None
                grade.auto_score, grade.needs_manual_grade = auto, needs
            for comment in nb.comments:
                comment.auto_comment = mine["comments"].get(comment.name)
        self.gb.db.commit()
        problems += [_note_text(note, limits) for note in outcome.get("notes", [])]
        flags = _scan(self._folder("autograded", student), self.allowed)
        result = self._result(student, "graded", problems, flags)
        result.seconds = sum(outcome.get("seconds", {}).values())
        return result

    def stored(self, student, entry):
        """The result of an earlier run (a ledger entry), if its rows and files
        are still in place; None otherwise (grade it again)."""
        from nbgrader.api import MissingEntry

        try:
            self.gb.find_submission(self.assignment, student)
        except MissingEntry:
            return None
        if entry.get("status") == "graded" and not all(
                self._folder(kind, student).is_dir()
                for kind in ("autograded", "feedback")):
            return None
        return self._result(student, entry.get("status", "graded"),
                            list(entry.get("problems", [])), entry.get("flags", []))

    def _result(self, student, status, problems, flags=()):
        sub = self.gb.find_submission(self.assignment, student)
        cells = {}
        for nb in sub.notebooks:
            for grade in nb.grades:
                cells[grade.name] = (grade.score, grade.needs_manual_grade)
        return StudentResult(student, status, _unique(map(_engine.shown, problems)),
                             sub.score, sub.max_score, cells,
                             _unique(map(_engine.shown, flags)))


def _unique(items):
    return list(dict.fromkeys(items))


def _note_text(note, limits):
    kind, where = note[0], note[1]
    if kind == "feedback":
        return f"no feedback could be written ({where})"
    if kind == "sandbox":
        return f"{where} {note[2]}: the sandbox refused"
    if kind == "timeout":
        return (f"{where} ran past the {limits['timeout']} s time limit and was "
                "stopped (an endless loop?); the cells after it still ran")
    if kind == "memory":
        cap = limits["memory_limit"]
        limit = f" (the limit is {cap / 2**30:.1f} GiB)" if cap else ""
        return f"{where} ran out of memory{limit}; the cells after it still ran"
    dropped = note[2]
    size = (f"{(int(dropped) + limits['max_output']) / 1e6:.1f} MB"
            if dropped.isdigit() else "too much")
    return (f"{where} printed {size} of output; the grader kept the first "
            f"{limits['max_output']:,} characters")


def _failure_reason(outcome):
    if "lost" in outcome:
        return (f"the Dask worker grading it was lost {outcome['lost']} times (its "
                "process or machine died); it was not tried again; nothing could "
                "be graded")
    if outcome.get("ipc_quota"):
        return (f"its kernel wrote more than {outcome['ipc_quota'] // 2**20} MiB "
                "into the folder of its sockets, outside its scratch folder, and "
                "was stopped; nothing could be graded")
    if outcome.get("overtime"):
        return (f"grading it took more than {outcome['overtime']:.0f} s in all and "
                "was stopped; nothing could be graded")
    if "died" in outcome:
        code = outcome["died"]
        how = (f"was killed by signal {-code}" if code is not None and code < 0
               else f"exited with code {code}")
        again = ("; it was tried twice and is not tried again"
                 if outcome.get("attempts", 1) > 1 else "")
        return (f"the grading process itself {how} while running this submission "
                f"(by the submission's code, or the system running out of memory)"
                f"{again}; nothing could be graded")
    log = outcome.get("log", "")
    running = outcome.get("running", {})
    where = (f"cell '{running['grade_id']}'" if running.get("grade_id")
             else f"cell {running['index'] + 1}" if "index" in running else "a cell")
    if "DeadKernelError" in log or "Kernel died" in log:
        return (f"the Python kernel died while running {where} (the process exited "
                "or crashed); nothing could be graded")
    if "became unresponsive" in log:
        return (f"the kernel stopped responding in {where} and could not be "
                "interrupted; nothing could be graded")
    return f"nbgrader could not grade it: {_last_error_line(log)}"


# --------------------------------------------------------------------------
# outputs: grades.csv, the report, the summary


def _export_grades(course, app, real):
    """``nbgrader export`` (CSV plugin, the course's configuration) into the course."""
    from nbgrader.plugins import CsvExportPlugin

    plugin = CsvExportPlugin(parent=app)
    if not plugin.to:
        plugin.to = str(course / "grades.csv")
    real.gb.db.expire_all()
    plugin.export(real.gb)
    return Path(plugin.to)


def _write_report(course, assignment, students):
    path = course / f"grade_report_{assignment}.csv"
    with open(path, "w", newline="", encoding="utf-8",
              errors="backslashreplace") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "status", "score", "max_score", "problems",
                         "flagged_for_review"])
        for s in students:
            writer.writerow([s.student, s.status, _num(s.score), _num(s.max_score),
                             "; ".join(s.problems), "; ".join(s.flags)])
    return path


def _num(x):
    return f"{x:g}" if isinstance(x, (int, float)) else ""


def _progress_bar(total, assignment, enabled):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"grading {assignment}", unit="submission",
                disable=not enabled, file=sys.stderr)


def cell_statistics(run):
    """grade_id -> (max_score, mean, median, number left for manual grading).

    Over the graded submissions whose cell has a score; a written answer
    has no mean or median (None) while any of them waits for a human.
    """
    stats = {}
    for grade_id, max_score, cell_type in run.cells:
        cells = [s.cells[grade_id] for s in run.graded if grade_id in s.cells]
        manual = sum(1 for _, needs in cells if needs)
        scores = [score for score, needs in cells if not needs]
        if scores and not (cell_type == "markdown" and manual):
            stats[grade_id] = (max_score, statistics.mean(scores),
                               statistics.median(scores), manual)
        else:
            stats[grade_id] = (max_score, None, None, manual)
    return stats


def summary_text(run):
    """The end-of-run summary: counts, problems per student, scores per cell."""
    where = (f"on the Dask cluster at {run.scheduler}" if run.scheduler
             else "on this machine")
    lines = [
        f"{run.assignment}: {len(run.students)} submissions in {run.seconds:.0f} s "
        f"with {run.workers} worker{'s' if run.workers != 1 else ''} {where}",
        f"  graded: {len(run.graded)}   failed: {len(run.failed)}",
    ]
    if run.engine_note:
        lines.append(f"  {run.engine_note}")
    if run.unchanged:
        lines.append(f"  {len(run.unchanged)} unchanged since they were last graded: "
                     "their grades stand (--regrade grades them again)")
    if not run.isolated:
        lines.insert(0, NO_ISOLATION_WARNING)
    if run.failed:
        lines.append("failed (a gradebook row with 0 points each):")
        lines += [f"  {s.student}: {'; '.join(s.problems)}" for s in run.failed]
    flagged = [s for s in run.graded if s.problems]
    if flagged:
        lines.append("graded, with problems:")
        for s in flagged:
            lines.append(f"  {s.student} ({_num(s.score)}/{_num(s.max_score)}):")
            lines += [f"    - {p}" for p in s.problems]
    if run.flagged:
        lines.append("flagged for review (the grades stand; a person should look):")
        for s in run.flagged:
            lines.append(f"  * {s.student}:")
            lines += [f"      {f}" for f in s.flags]
    lines.append(f"score per graded cell over the {len(run.graded)} graded "
                 "submissions:")
    width = max([len(g) for g, _, _ in run.cells] + [4])
    for grade_id, (max_score, mean, median, manual) in cell_statistics(run).items():
        if mean is None:
            text = f"manual grading: {manual} to grade by hand"
        else:
            text = f"mean {mean:5.2f}  median {median:5.2f}"
            text += f"  ({manual} left for manual grading)" if manual else ""
        lines.append(f"  {grade_id:<{width}}  {_num(max_score):>3} pt  {text}")
    lines.append(f"wrote: {run.grades_csv}, {run.report_csv}, autograded/ "
                 "and feedback/")
    if run.report_html:
        lines.append(f"plots: {run.plots_png} (and in {run.report_html})")
    lines += run.similarity
    return "\n".join(lines)

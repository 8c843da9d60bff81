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

1. The main process takes a consistent snapshot of the real gradebook (the
   SQLite backup API) and gives each worker its own small course directory:
   a copy of ``nbgrader_config.py``, the assignment's source folder and its
   *own copy* of the gradebook.
2. A worker grades one submission at a time with nbgrader's own converters
   (``Autograde``, then ``GenerateFeedback``), in-process, with the course's
   configuration: the same preprocessors, the same restored test cells, the
   same scoring as ``nbgrader autograde``. It writes only to its own folder
   and its own gradebook, then sends back the rows nbgrader wrote there for
   that student (timestamp, late penalty, ``auto_score`` and
   ``needs_manual_grade`` of every grade, ``auto_comment`` of every comment).
3. The main process is the only writer of the real course: it copies the
   worker's ``autograded/`` and ``feedback/`` folders into place and stores
   the rows in the real gradebook in one transaction per student, with the
   Gradebook API's ``update_or_create`` calls (no duplicate rows, re-running
   gives the same rows).

The workers fork from a forkserver that has imported nbgrader once; a worker
that dies is replaced, and the submission it held is reported as failed.

Because each worker's gradebook starts as a copy of the real one, nbgrader
computes in the worker exactly what it would compute in the real course,
manual scores included; the main process only copies. (For a gradebook that
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
file (``IPYTHONDIR`` of the worker): an address-space rlimit
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
dies fails that submission only. A submission that cannot be graded still gets a gradebook
row, with every grade 0 (as nbgrader does for a missing notebook), and its
reason in the summary and in ``grade_report_<assignment>.csv``.
"""

import contextlib
import csv
import glob
import json
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections import deque
from contextlib import closing
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from course import isolation as _isolation
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
                     class_reports=True):
    """Autograde every submission of ``assignment``; returns a ``GradeRun``.

    ``isolation=False`` runs the kernels without the sandbox; with it (the
    default) a machine without a working bubblewrap is a ``GradingError``.
    ``class_reports=False`` leaves out what only a real class needs: the
    similarity report and the grade plots (``course check``, ``course mutants``).
    """
    start = time.perf_counter()
    course = Path(course_dir).resolve()
    # nbgrader's gradebook runs `alembic` from PATH: this interpreter's, even
    # when `course` was started from an environment that is not activated.
    os.environ["PATH"] = _venv_env()["PATH"]
    bwrap = None
    if isolation:
        try:
            bwrap = _isolation.check()
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
        "bwrap": bwrap,
        "readable": _isolation.readable_paths() if isolation else [],
        "hidden": [str(course)],  # what a kernel cannot see: its attempts are named
    }
    # A whole submission may take as long as every code cell timing out once.
    limits["submission"] = 120 + limits["timeout"] * layout.code_cells
    limits["cpu"] = 2 * limits["submission"]

    _record_references(course, assignment, coursedir, layout.notebooks)
    allowed = _answer_libraries(app, assignment)
    checks = {s: _check_submission(folder, layout) for s, folder in folders.items()}
    to_grade = [s for s, c in checks.items() if not c.fatal]
    num_workers = max(1, min(workers or _cpu_count(), len(to_grade) or 1))
    # Several kernels at once: one thread each (numpy's BLAS, PyTorch), so that
    # they do not spin on each other's cores; the parallelism is across students.
    limits["kernel_threads"] = 1 if num_workers > 1 else None
    results = {}
    with tempfile.TemporaryDirectory(prefix=f"course-grade-{assignment}-") as tmp:
        with _RealCourse(course, assignment, coursedir, allowed) as real:
            bar = _progress_bar(len(folders), assignment, progress)
            for student, check in checks.items():
                if check.fatal:
                    results[student] = real.store_failure(
                        student, folders[student], check.problems)
                    bar.update(1)
            if to_grade:
                pool = _WorkerPool(Path(tmp), course, assignment, coursedir,
                                   num_workers, limits)
                for student, outcome in pool.run(to_grade, folders):
                    results[student] = real.store(student, folders[student], outcome,
                                                  checks[student].problems, limits,
                                                  pool.template_is_copy)
                    bar.update(1)
            bar.close()
            grades_csv = _export_grades(course, app, real)
    students = [results[s] for s in sorted(results)]
    report_csv = _write_report(course, assignment, students)
    run = GradeRun(assignment, course, num_workers if to_grade else 0,
                   time.perf_counter() - start, students, layout.cells,
                   grades_csv, report_csv, isolated=bool(isolation))
    if class_reports:
        from course.similarity import summary_section  # writes similarity_<assignment>.html

        run.similarity = summary_section(assignment, course)
        run.plots_png, run.report_html = grade_report.write(run)
    return run


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
            problems += _cell_problems(nb, layout.source[name], layout.release[name])
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


# --------------------------------------------------------------------------
# the worker processes


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


def _write_kernel_limits(ipython_dir, limits):
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-course-grade-limits.py").write_text(_KERNEL_LIMITS.format(
        memory_limit=limits["memory_limit"], cpu_limit=limits.get("cpu", 0),
        max_file=MAX_FILE_SIZE,
        max_output=limits["max_output"],
        mark=TRUNCATION_MARK))


class _WorkerPool:
    """N processes, each with its own course copy; one submission at a time each."""

    def __init__(self, tmp, course, assignment, coursedir, size, limits):
        self.tmp, self.course, self.assignment = tmp, course, assignment
        self.coursedir, self.size, self.limits = coursedir, size, limits
        self.template = tmp / "template.db"
        self.template_is_copy = _snapshot_gradebook(coursedir, self.template, course,
                                                    assignment)
        self.started = 0

    def _spawn(self):
        root = self.tmp / f"worker{self.started}"
        self.started += 1
        _prepare_worker_course(root, self.course, self.assignment, self.coursedir,
                               self.template, self.limits)
        ctx = _process_context()
        here, there = ctx.Pipe()
        # Every path of the worker's course points into its own folder.
        argv = [self.assignment,
                f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}",
                "--CourseDirectory.source_directory=source",
                "--CourseDirectory.submitted_directory=submitted",
                "--CourseDirectory.autograded_directory=autograded",
                "--CourseDirectory.feedback_directory=feedback",
                f"--Execute.timeout={self.limits['timeout']}"]
        process = ctx.Process(target=_worker_main,
                              args=(there, str(root), argv, self.limits), daemon=True)
        process.start()
        there.close()
        return _Worker(process, here, root)

    def run(self, students, folders):
        """Yield (student, outcome dict) as submissions finish."""
        queue = deque(students)
        workers = [self._spawn() for _ in range(self.size)]
        try:
            while queue or any(w.task for w in workers):
                ready = wait([w.conn for w in workers]
                             + [w.process.sentinel for w in workers], timeout=5)
                self._stop_overtime(workers)
                for w in list(workers):
                    if w.conn not in ready and w.process.sentinel not in ready:
                        continue
                    message = w.receive()
                    if message is None:  # the process is gone
                        workers.remove(w)
                        if w.task is None and not w.ready:
                            raise GradingError(f"a grading worker could not start "
                                               f"(exit code {w.process.exitcode})")
                        if w.task is not None:
                            yield w.task, {"died": w.process.exitcode,
                                           "overtime": w.overtime}
                        if queue:
                            workers.append(self._spawn())
                        continue
                    kind, payload = message
                    if kind == "ping":
                        continue
                    if kind == "error":
                        raise GradingError(
                            f"a grading worker failed to start:\n{payload}")
                    finished = None
                    if kind == "result":
                        finished, w.task = (w.task, payload), None
                    w.ready = True
                    # The next submission first: the worker grades it while this
                    # process stores the one it just finished.
                    if queue and w.task is None:
                        w.task, w.started_at = queue.popleft(), time.monotonic()
                        w.conn.send((w.task, str(folders[w.task])))
                    if finished is not None:
                        yield finished
        finally:
            for w in workers:
                w.ask_to_stop()
            for w in workers:
                w.stop()


    def _stop_overtime(self, workers):
        """Kill a worker whose submission has run longer than any honest one can."""
        for w in workers:
            if w.task and time.monotonic() - w.started_at > self.limits["submission"]:
                w.overtime = self.limits["submission"]
                w.process.kill()


def _process_context():
    """Workers fork from a clean server process that has nbgrader imported once."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["course.autograde", "nbgrader.apps.autogradeapp",
                                "nbgrader.converters", "nbconvert", "nbclient"])
    return ctx


@dataclass
class _Worker:
    process: object
    conn: object
    root: Path
    task: str = None
    ready: bool = False
    started_at: float = 0.0
    overtime: float = None

    def receive(self):
        """The next message; ("ping", None) if none yet; None once it is gone."""
        try:
            if self.conn.poll():
                return self.conn.recv()
            if self.process.is_alive():
                return ("ping", None)
        except (EOFError, OSError):
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        return None

    def ask_to_stop(self):
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass

    def stop(self):
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


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


def _prepare_worker_course(root, course, assignment, coursedir, template, limits):
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    if (course / "nbgrader_config.py").is_file():
        shutil.copy(course / "nbgrader_config.py", root / "nbgrader_config.py")
    source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    shutil.copytree(source, root / "source" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copy(template, root / "gradebook.db")
    from course.preprocessors.checks import DEFAULT_CACHE

    references = course / DEFAULT_CACHE / assignment
    if references.is_dir():
        shutil.copytree(references, root / DEFAULT_CACHE / assignment)
    _write_kernel_limits(root / "ipython", limits)


# Set by the Execute hook in a worker: the cell being run right now.
_running = {}


def _note_cell(cell, cell_index, **_):
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    _running.update(index=cell_index, grade_id=nbgrader.get("grade_id"))


def _worker_main(conn, root, argv, limits):
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
            outcome = _grade_one(app, Path(root), *task, limits)
        except Exception:
            outcome = {"success": False, "log": traceback.format_exc()}
        conn.send(("result", outcome))


def _grade_one(app, root, student, folder, limits):
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
    with temp_attrs(coursedir, student_id=student):
        converter = Autograde(coursedir=coursedir, parent=app)
        converter.force = True
        result = capture_log(converter)
        outcome = {"success": result["success"],
                   "log": result.get("log", "") + result.get("error", ""),
                   "running": dict(_running),
                   "seconds": {"autograde": time.perf_counter() - started}}
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

    def _replace(self, kind, student, source=None):
        dest = self._folder(kind, student)
        if dest.exists():
            shutil.rmtree(dest)
        if source is not None and Path(source).is_dir():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(source, dest)

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
        for kind in ("autograded", "feedback"):  # the worker's copies, now stored
            shutil.rmtree(Path(outcome[kind]).parent, ignore_errors=True)
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
        return self._result(student, "graded", problems, flags)

    def _result(self, student, status, problems, flags=()):
        sub = self.gb.find_submission(self.assignment, student)
        cells = {}
        for nb in sub.notebooks:
            for grade in nb.grades:
                cells[grade.name] = (grade.score, grade.needs_manual_grade)
        return StudentResult(student, status, _unique(problems), sub.score,
                             sub.max_score, cells, _unique(flags))


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
    if outcome.get("overtime"):
        return (f"grading it took more than {outcome['overtime']:.0f} s in all and "
                "was stopped; nothing could be graded")
    if "died" in outcome:
        code = outcome["died"]
        how = (f"was killed by signal {-code}" if code is not None and code < 0
               else f"exited with code {code}")
        return (f"the grading process itself {how} while running this submission "
                "(by the submission's code, or the system running out of memory); "
                "nothing could be graded")
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
    with open(path, "w", newline="", encoding="utf-8") as f:
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
    lines = [
        f"{run.assignment}: {len(run.students)} submissions in {run.seconds:.0f} s "
        f"with {run.workers} worker{'s' if run.workers != 1 else ''}",
        f"  graded: {len(run.graded)}   failed: {len(run.failed)}",
    ]
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

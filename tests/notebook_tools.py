"""Helpers for tests that build, run and grade notebooks.

Notebooks for pipeline tests are made from the committed ones or from small
factory functions here, never from a developer's local gradebook.
"""

import contextlib
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

from course.grader.answers import fill_answers, nbgrader_metadata, solution_answers  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def make_cell(source, cell_type="code", **nbgrader):
    """One notebook cell; keyword arguments become its nbgrader metadata."""
    new = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = new(source)
    if nbgrader:
        meta = {"schema_version": 3, "grade": False, "solution": False,
                "locked": False, "task": False}
        meta.update(nbgrader)
        cell.metadata["nbgrader"] = meta
    return cell


def notebooks(folder):
    """All committed notebooks below ``folder`` of the repository, sorted."""
    return sorted(
        p for p in (REPO / folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )


def assignment_names():
    """The assignments: one folder per assignment in ``solutions/``."""
    return sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())


def graded_code_cells(path):
    """grade_id -> points of the auto-graded (code) cells of a notebook, in order."""
    nb = nbformat.read(path, as_version=4)
    return {
        nbgrader_metadata(c)["grade_id"]: nbgrader_metadata(c)["points"]
        for c in nb.cells
        if nbgrader_metadata(c).get("grade") and c.cell_type == "code"
    }


@contextlib.contextmanager
def kernel_sockets():
    """Traitlets config for kernels that talk over Unix sockets in a new short
    folder (removed afterwards).

    Over TCP, the ports jupyter_client picks for a kernel are free when picked
    but may be taken before the kernel binds them: kernels started at once by
    the test processes then die before replying ("Kernel died before
    replying to kernel_info", which failed CI once). The grader's own kernels
    use sockets for the same reason (course/grader/worker.py).
    """
    with tempfile.TemporaryDirectory(prefix="k-", dir="/tmp" if os.path.isdir("/tmp")
                                     else None) as folder:
        yield {"KernelManager": {"transport": "ipc", "ip": os.path.join(folder, "kernel")}}


def execute(notebook, cwd, timeout=120):
    """Execute a notebook in place with the python3 kernel; returns seconds taken."""
    start = time.perf_counter()
    with kernel_sockets() as config:
        NotebookClient(
            notebook, timeout=timeout, kernel_name="python3",
            resources={"metadata": {"path": str(cwd)}}, config=Config(config),
        ).execute()
    return time.perf_counter() - start


def cell_seconds(cell):
    """How long a kernel ran an executed cell (nbclient's timing metadata), or None."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = datetime.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))
            ).total_seconds()


def stderr_outputs(notebook):
    """Everything an executed notebook wrote to stderr, as (cell index, text)."""
    found = []
    for i, cell in enumerate(notebook.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                found.append((i, out.get("text", "")))
    return found


def nbgrader(*args, cwd, check=True, timeout=900):
    """Run an nbgrader command in ``cwd`` (a course directory)."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    with kernel_sockets() as config:
        flags = [f"--KernelManager.{k}={v}" for k, v in config["KernelManager"].items()]
        result = subprocess.run(
            [str(BIN / "nbgrader"), *args, "--log-level=WARN", *flags],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
        )
    if check and result.returncode != 0:
        raise AssertionError(
            f"nbgrader {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return result


def copy_course(target):
    """Copy what nbgrader needs of the course (config, solutions, release) to ``target``."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "nbgrader_config.py", target / "nbgrader_config.py")
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for folder in ("solutions", "assignments"):
        shutil.copytree(REPO / folder, target / folder, ignore=ignore)
    return target

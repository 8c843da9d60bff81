"""The expected side of every check: the solution, run once in a clean kernel.

``load_references(source_notebook, cache_dir)`` runs the assignment's source
notebook (``solutions/<assignment>/<notebook>.ipynb``, with its solutions)
top to bottom in a fresh kernel that no student code has touched, with every
graded test cell in its :func:`course.grader.sites.reference_form`. Each
check site then records, through :func:`course.checks.reference`, what it
expects: the expected value (written in the test, or what the solution
returned there when the test leaves it out), the tolerances and the message.
The seeds in the tests are fixed, so the student's kernel meets exactly the
same inputs.

The result does not depend on any student, so it is computed once per
assignment and kept in ``cache_dir`` (a JSON file named after the notebook),
keyed by a digest of the source notebook, the checking code and the numpy
and torch versions: editing the solution or a test recomputes it. Nothing of
it ever reaches a student's kernel.

A solution that fails one of its own checks, or a test cell that raises,
is an error in the assignment: :class:`ReferenceError` says which cell.
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path

import nbformat

from course.checkvalues import decode
from course.grader import sites

VERSION = 1


class ReferenceError(RuntimeError):
    """The solution notebook could not produce the references."""


def _digest(path):
    import numpy

    h = hashlib.sha256(f"v{VERSION} numpy {numpy.__version__}".encode())
    try:
        import importlib.metadata as md

        h.update(f" torch {md.version('torch')}".encode())
    except Exception:  # torch not installed: its version plays no part
        pass
    h.update(Path(path).read_bytes())
    here = Path(__file__).resolve().parents[1]
    for part in ("checks.py", "checkvalues.py", "grader/sites.py"):
        h.update((here / part).read_bytes())
    return h.hexdigest()


def cache_path(source_notebook, cache_dir):
    """Where the references of ``source_notebook`` are kept."""
    source = Path(source_notebook)
    return Path(cache_dir) / source.parent.name / f"{source.stem}.references.json"


def load_references(source_notebook, cache_dir, timeout=600, log=None):
    """{grade_id: {"fingerprint", "sites": [(site, kind, spec), ...]}} (decoded).

    From the cache when it matches the notebook, else by running it.
    """
    return decode_references(cached_references(source_notebook, cache_dir, timeout, log))


def cached_references(source_notebook, cache_dir, timeout=600, log=None):
    """The references as stored (encoded values), computing them if needed."""
    digest = _digest(source_notebook)
    path = cache_path(source_notebook, cache_dir)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("digest") == digest:
            return stored
    except (OSError, ValueError):
        pass
    if log is not None:
        log.info("Running the solution %s once for the reference values", source_notebook)
    stored = {"digest": digest, "cells": run_reference(source_notebook, timeout)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(stored, out)
    os.replace(tmp, path)
    return stored


def decode_references(stored):
    cells = {}
    for grade_id, cell in stored["cells"].items():
        decoded = []
        for site, kind, spec in cell["sites"]:
            spec = dict(spec)
            for key in ("expected", "before", "inputs"):
                if key in spec:
                    spec[key] = decode(spec[key])
            decoded.append((site, kind, spec))
        cells[grade_id] = {"fingerprint": cell["fingerprint"], "sites": decoded}
    return cells


def run_reference(source_notebook, timeout=600):
    """Run the solution with reference-form test cells; the records per cell."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from course.checks import REFERENCE_MIME

    nb = nbformat.read(source_notebook, as_version=4)
    originals = {}
    for cell in nb.cells:
        if sites.is_test_cell(cell):
            grade_id = cell.metadata.nbgrader["grade_id"]
            originals[grade_id] = cell.source
            cell.source = sites.reference_form(cell.source)
    from jupyter_client.manager import KernelManager

    with tempfile.TemporaryDirectory(prefix="course-reference-") as sockets:
        # Local sockets, not TCP: nothing else on the machine can talk to the
        # kernel, and it has no TCP warning to print.
        km = KernelManager(kernel_name="python3", transport="ipc",
                           ip=os.path.join(sockets, "kernel"))
        client = NotebookClient(nb, km=km, timeout=timeout, kernel_name="python3",
                                allow_errors=False,
                                resources={"metadata": {
                                    "path": str(Path(source_notebook).parent)}})
        try:
            client.execute()
        except CellExecutionError as exc:
            raise ReferenceError(f"the solution {source_notebook} failed while recording "
                                 f"the reference values: {str(exc)[-1500:]}") from None
        finally:
            # nbclient stops the client and shuts down only kernels it started
            # itself; a client left running warns when it is garbage-collected.
            if client.kc is not None:
                client.kc.stop_channels()
            if km.has_kernel:
                km.shutdown_kernel(now=True)
    cells = {}
    for cell in nb.cells:
        if not sites.is_test_cell(cell):
            continue
        grade_id = cell.metadata.nbgrader["grade_id"]
        records = [out["data"][REFERENCE_MIME] for out in cell.get("outputs", [])
                   if out.get("output_type") == "display_data"
                   and REFERENCE_MIME in out.get("data", {})]
        expected = sites.count_sites(originals[grade_id])
        if expected and not records:
            raise ReferenceError(f"test cell {grade_id} of {source_notebook} recorded "
                                 "no reference values")
        cells[grade_id] = {
            "fingerprint": sites.fingerprint(originals[grade_id]),
            "sites": [(r["site"], r["kind"], r["spec"]) for r in records],
        }
    return cells

"""Shared set-up for the test suite.

MNIST: when ``COURSE_DATA_DIR`` is not set and the project sits beside a
``shared/data/mnist`` folder (as in this project's CI), the tests read the
dataset from there; otherwise ``course.data`` uses its cache and downloads
the files once. Kernels started by the tests inherit the variable.
"""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"

if not os.environ.get("COURSE_DATA_DIR") and SHARED_MNIST.is_dir():
    os.environ["COURSE_DATA_DIR"] = str(SHARED_MNIST)

# Kernels and nbgrader subprocesses import this checkout's `course`.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in [str(REPO), os.environ.get("PYTHONPATH", "")] if p
)
# Figures in executed notebooks never need a screen.
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

import pytest  # noqa: E402

from tests.notebook_tools import assignment_names  # noqa: E402
from tests.pipeline import grade_class  # noqa: E402


@pytest.fixture(scope="session", params=assignment_names())
def graded_class(request, tmp_path_factory):
    """One assignment's class, graded once by nbgrader (see ``tests/pipeline.py``).

    Tests of several modules share it; a test limits the assignments with
    ``@pytest.mark.parametrize("graded_class", [...], indirect=True)``.
    """
    name = request.param
    return grade_class(name, tmp_path_factory.mktemp(name) / "course")


def pytest_itemcollected(item):
    """Keep the tests that share an expensive fixture on one xdist worker.

    ``make test`` runs ``pytest -n 2 --dist loadgroup``: tests go to the
    workers in groups. A test's group is its module or, when it uses a
    parametrized session fixture (``graded_class``), that fixture's parameter,
    so that every module's tests of one graded class run where it was graded.
    A module-scoped parametrized fixture splits its module by parameter.
    """
    if not item.get_closest_marker("xdist_group"):
        item.add_marker(pytest.mark.xdist_group(_group(item)))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """The longest work first, so that no long group is left for the end.

    The graded classes (each a whole nbgrader run of an assignment) first,
    then the other slow tests, then the fast ones; the order is otherwise
    kept. ``make test`` passes ``--no-loadscope-reorder`` so that xdist hands
    out the groups in this order.
    """
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None,
                                 "graded_class" not in item.fixturenames))
    grouping = getattr(config.option, "loadgroup", False)  # set in xdist's workers
    if grouping and items and "@" not in items[0].nodeid:
        # pytest-xdist marks a test's group in its node id; where it cannot
        # (pytest 9.2 with xdist 3.8), every worker would grade every class.
        raise pytest.UsageError(
            "pytest-xdist could not group the tests (--dist loadgroup) with pytest "
            f"{pytest.__version__}; install the versions pyproject.toml asks for "
            "(pip install -e '.[dev]') or run without -n")


def _group(item):
    """The xdist group of a test (no "]" in it: xdist would not see the group)."""
    callspec = getattr(item, "callspec", None)
    shared, module = [], [item.module.__name__]
    for name, value in (callspec.params.items() if callspec else ()):
        defs = item._fixtureinfo.name2fixturedefs.get(name)
        scope = defs[-1].scope if defs else None
        if scope == "session":
            shared.append(f"{name}={value}")
        elif scope in ("package", "module", "class"):
            module.append(f"{name}={value}")
    return "/".join(shared) if shared else "/".join(module)

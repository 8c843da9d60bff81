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

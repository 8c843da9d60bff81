"""The full MNIST comparison, timed: every model, every depth, all 70,000 images.

    .venv/bin/python benchmarks/compare_full.py [--threads T] [--out-dir DIR]
        [any other option of `python -m course.compare`]

Runs ``course.compare.run_comparison()`` with the FULL settings (width 512,
8 epochs, depths 1-4 for scikit-learn, PyTorch and numpy, and LeNet-5),
prints the table, the total wall time and the load average before and after.
Targets on 2 CPU cores: numpy and PyTorch MLPs >= 98.0%, LeNet-5 >= 99.0%,
scikit-learn >= 97.5%, the whole run under 15 minutes.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course import compare  # noqa: E402


def load_average():
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a == "--out-dir" or a.startswith("--out-dir=") for a in argv):
        argv += ["--out-dir", "results/compare_full"]
    print(f"start: {load_average()}", flush=True)
    start = time.perf_counter()
    status = compare.main(argv)
    minutes = (time.perf_counter() - start) / 60
    print(f"end: {minutes:.1f} minutes in all (target < 15 on 2 cores); "
          f"{load_average()}")
    return status


if __name__ == "__main__":
    sys.exit(main())

"""How fast the Dask grading engine grades, and what it costs per submission.

    .venv/bin/python benchmarks/grade_cluster.py [--submissions 1000] [--workers 1 2]
                                                [--real 20] [--no-isolation]

Builds a temporary course with a generated one-function assignment
(``bench_add``: an answer cell, a test cell with visible and hidden checks)
and ``--submissions`` generated submissions of it (right, wrong, blank in
turn), and grades them with ``course grade``'s code (``grade_assignment``)
on a local Dask cluster of each ``--workers`` count, sandboxed, from
scratch. It prints, per cluster: submissions per minute, the seconds each
submission spent in its grading process (nbgrader: kernel, autograde,
feedback), and the engine's overhead per submission: the cluster's slot
time (wall time x workers) not spent inside a grading process, divided by
the number of submissions (cluster start, jobs to and from the workers,
storing the results, the gradebook and grades.csv).

``--real N`` also grades N ps1_perceptron submissions (the solution and the
visible-test-fitted mistakes) on the largest cluster, for the time a real
assignment takes per submission. From these figures it estimates, on paper,
the wall time of a class of 10,000 on clusters of N cores. The machine's
load average is printed, because other work on the same cores changes the
numbers.
"""

import argparse
import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                      os.environ.get("PATH", "")])
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in [str(REPO), os.environ.get("PYTHONPATH", "")] if p)
NAME = "bench_add"
SETUP = "from course.checks import check_scalar"
RIGHT = "def add(a, b):\n    \"\"\"a + b.\"\"\"\n    return a + b"
WRONG = "def add(a, b):\n    \"\"\"a + b.\"\"\"\n    return a - b"
TEST = ('check_scalar("add(1, 2)", add(1, 2), 3)\n'
        "### BEGIN HIDDEN TESTS\n"
        'check_scalar("add(-4, 2.5)", add(-4, 2.5), -1.5)\n'
        "### END HIDDEN TESTS")


def _cell(source, grade_id, **flags):
    import nbformat

    meta = {"grade": False, "solution": False, "locked": False, "task": False,
            "schema_version": 3, "grade_id": grade_id, **flags}
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = meta
    return cell


def _course(base, count):
    """A course with the generated assignment released and ``count`` submissions."""
    import nbformat

    from tests.notebook_tools import copy_course, nbgrader

    course = copy_course(base)
    answer = RIGHT.replace("    return a + b",
                           "    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION")
    nb = nbformat.v4.new_notebook()
    nb.cells = [_cell(SETUP, "setup", locked=True),
                _cell(answer, "add", solution=True),
                _cell(TEST, "test_add", grade=True, locked=True, points=1)]
    (course / "solutions" / NAME).mkdir(parents=True)
    nbformat.write(nb, course / "solutions" / NAME / f"{NAME}.ipynb")
    nbgrader("generate_assignment", NAME, "--force", cwd=course)
    released = nbformat.read(course / "assignments" / NAME / f"{NAME}.ipynb",
                             as_version=4)
    for i in range(count):
        sub = nbformat.from_dict(released)
        kind = i % 3
        if kind < 2:
            sub.cells[1].source = RIGHT if kind == 0 else WRONG
        folder = course / "submitted" / f"student{i:05d}" / NAME
        folder.mkdir(parents=True)
        nbformat.write(sub, folder / f"{NAME}.ipynb")
    return course


def _ps1_course(base, count):
    import nbformat

    from tests import faults
    from tests.notebook_tools import copy_course, fill_answers, nbgrader

    course = copy_course(base)
    nbgrader("generate_assignment", "ps1_perceptron", "--force", cwd=course)
    release = course / "assignments" / "ps1_perceptron" / faults.NOTEBOOK
    source = course / "solutions" / "ps1_perceptron" / faults.NOTEBOOK
    solved = faults.solved_release(release, source)
    cases = importlib.import_module("tests.submissions.ps1_perceptron").CASES
    kinds = [solved] + [fill_answers(solved, c.answers) for c in cases.values()]
    for i in range(count):
        folder = course / "submitted" / f"student{i:05d}" / "ps1_perceptron"
        folder.mkdir(parents=True)
        nbformat.write(kinds[i % len(kinds)], folder / faults.NOTEBOOK)
    return course


def _measure(course, assignment, workers, isolation):
    from course import autograde

    load = os.getloadavg()[0]
    start = time.perf_counter()
    run = autograde.grade_assignment(assignment, course, workers=workers,
                                     progress=True, isolation=isolation,
                                     class_reports=False)
    wall = time.perf_counter() - start
    n = len(run.students)
    inside = sum(s.seconds or 0 for s in run.students)
    assert not run.failed, [(s.student, s.problems) for s in run.failed]
    return {"workers": run.workers, "n": n, "wall": wall, "per_min": 60 * n / wall,
            "inside": inside / n, "overhead": (wall * run.workers - inside) / n,
            "load": (load, os.getloadavg()[0])}


def _row(label, m):
    return (f"{label:<16} {m['workers']:>7} {m['n']:>6} {m['wall']:>8.0f} "
            f"{m['per_min']:>9.1f} {m['inside']:>10.2f} {m['overhead']:>10.2f}"
            f"   {m['load'][0]:.1f} -> {m['load'][1]:.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--real", type=int, default=20, metavar="N",
                        help="ps1_perceptron submissions to time (0: none)")
    parser.add_argument("--no-isolation", action="store_true")
    args = parser.parse_args(argv)
    isolation = not args.no_isolation
    print(f"{os.cpu_count()} CPUs; sandbox {'on' if isolation else 'off'}")
    print(f"{'assignment':<16} {'workers':>7} {'subs':>6} {'wall s':>8} "
          f"{'subs/min':>9} {'in-job s':>10} {'engine s':>10}   load avg")
    rows = []
    with tempfile.TemporaryDirectory(prefix="grade-cluster-") as tmp:
        for workers in args.workers:
            course = _course(Path(tmp) / f"tiny{workers}", args.submissions)
            m = _measure(course, NAME, workers, isolation)
            rows.append(m)
            print(_row(NAME, m), flush=True)
        real = None
        if args.real:
            course = _ps1_course(Path(tmp) / "ps1", args.real)
            real = _measure(course, "ps1_perceptron", max(args.workers), isolation)
            print(_row("ps1_perceptron", real), flush=True)
    best = max(rows, key=lambda m: m["workers"])
    per_sub = (real or best)["inside"] + best["overhead"]  # core-seconds
    which = "ps1_perceptron" if real else NAME
    print(f"\na {which} submission costs about {per_sub:.1f} core-seconds "
          f"(in its grading process {(real or best)['inside']:.1f} s + engine "
          f"{best['overhead']:.2f} s); a class of 10,000 would take, on paper:")
    for cores in (2, 16, 64, 256):
        print(f"  {cores:>4} cores: {10_000 * per_sub / cores / 60:7.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How many ps1_perceptron submissions `course grade` autogrades per minute,
against plain serial nbgrader on the same submissions, in one run.

    .venv/bin/python benchmarks/grade_throughput.py [--submissions 60] [--workers 1 2]

Builds a temporary copy of the course, writes the submissions (the solution,
the blank release and the visible-test-fitted mistakes of
tests/submissions/ps1_perceptron.py, in turn) and records the solution's
reference values once (both ways of grading read that cache). Then it grades
them from scratch with plain nbgrader, serially (`nbgrader autograde`,
`generate_feedback`, `export`: the same work, without the sandbox), and
with `course grade` once per worker count (sandboxed), and prints
submissions per minute and the speed-up over plain nbgrader. The time is the
whole run: start-up, autograding, feedback and grades.csv. The machine's
load average is printed before and after each run, because other work on the
same cores changes the numbers.
"""

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "ps1_perceptron"


def _setup(base, count):
    """A course with the assignment in its gradebook and ``count`` submissions."""
    from tests import faults
    from tests.notebook_tools import copy_course, fill_answers, nbgrader

    import nbformat

    course = copy_course(base)
    nbgrader("generate_assignment", NAME, "--force", cwd=course)
    release = course / "assignments" / NAME / faults.NOTEBOOK
    source = course / "solutions" / NAME / faults.NOTEBOOK
    solved = faults.solved_release(release, source)
    cases = importlib.import_module(f"tests.submissions.{NAME}").CASES
    kinds = [solved, nbformat.read(release, as_version=4)]
    kinds += [fill_answers(solved, case.answers) for case in cases.values()]
    for i in range(count):
        folder = course / "submitted" / f"student{i:03d}" / NAME
        folder.mkdir(parents=True)
        nbformat.write(kinds[i % len(kinds)], folder / faults.NOTEBOOK)
    from course.grader.references import cached_references
    from course.preprocessors.checks import DEFAULT_CACHE

    cached_references(source, course / DEFAULT_CACHE)
    return course


def _plain_nbgrader(course):
    from tests.notebook_tools import nbgrader

    for step in (["autograde", NAME], ["generate_feedback", NAME], ["export"]):
        nbgrader(*step, cwd=course, timeout=3600)


def _load():
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=60)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    bin_dir = Path(sys.executable).parent
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(REPO), os.environ.get("PYTHONPATH", "")] if p)
    from course import autograde

    with tempfile.TemporaryDirectory(prefix="grade-throughput-") as tmp:
        base = _setup(Path(tmp) / "base", args.submissions)
        print(f"{args.submissions} submissions of {NAME}; {os.cpu_count()} CPU cores")
        course = Path(tmp) / "plain"
        shutil.copytree(base, course)
        before = _load()
        start = time.perf_counter()
        _plain_nbgrader(course)
        plain = time.perf_counter() - start
        print(f"plain nbgrader, serial: {plain:.1f} s = "
              f"{args.submissions / plain * 60:.1f} submissions/minute  "
              f"(before: {before}; after: {_load()})", flush=True)
        for workers in args.workers:
            course = Path(tmp) / f"workers{workers}"
            shutil.copytree(base, course)
            before = _load()
            start = time.perf_counter()
            run = autograde.grade_assignment(NAME, course, workers=workers)
            seconds = time.perf_counter() - start
            rate = args.submissions / seconds * 60
            print(f"workers={workers}: {len(run.graded)} graded, "
                  f"{len(run.failed)} failed in {seconds:.1f} s = {rate:.1f} "
                  f"submissions/minute, {plain / seconds:.2f} times plain nbgrader  "
                  f"(before: {before}; after: {_load()})", flush=True)


if __name__ == "__main__":
    main()

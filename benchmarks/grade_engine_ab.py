"""`course grade` of this checkout against an earlier commit's, back to back.

    .venv/bin/python benchmarks/grade_engine_ab.py [--against 6e4efa0] [--submissions 60]
                                                   [--workers 2] [--rounds 2]

Measures whether a change to the grading engine kept its throughput. The
default commit, 6e4efa0, is the last one with the home-made process pool that
Dask replaced (issue 19). The earlier commit is checked out into a temporary
git worktree (so this must run in a git clone that has it); each side builds
its own course with `benchmarks/grade_throughput.py`'s submissions (the
solution, the blank release and the visible-test-fitted mistakes, in turn),
and then the two sides grade alternately, ``--rounds`` times each, every run
on a fresh copy, in a fresh Python process, with the same number of workers
and the sandbox on. Alternating keeps slow drifts of the machine's load out
of the difference. Prints each run's seconds and submissions per minute.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POOL_COMMIT = "6e4efa0"  # the last commit of the process pool


def _child(repo, base, action, count, workers):
    """Run in a fresh process whose `course` is ``repo``'s."""
    sys.path[:0] = [str(repo), str(repo / "benchmarks")]
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    import grade_throughput

    if action == "setup":
        grade_throughput._setup(Path(base), count)
        return
    from course import autograde

    assert Path(autograde.__file__).is_relative_to(repo), autograde.__file__
    with tempfile.TemporaryDirectory(prefix="grade-ab-") as tmp:
        course = Path(tmp) / "course"
        shutil.copytree(base, course)
        start = time.perf_counter()
        run = autograde.grade_assignment(grade_throughput.NAME, course, workers=workers,
                                         class_reports=False)
        seconds = time.perf_counter() - start
    print(f"{len(run.graded)} {len(run.failed)} {seconds:.2f}")


def _call(repo, base, action, count, workers):
    # The side's `course` first on the path from the start, and its folder as
    # the working one: the pool's worker processes (multiprocessing's
    # forkserver, whose path starts with the working folder) import it afresh.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in [str(repo), os.environ.get("PYTHONPATH", "")] if p)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(repo), str(base), action,
         str(count), str(workers)],
        capture_output=True, text=True, check=False, timeout=3600, env=env,
        cwd=repo)
    if out.returncode:
        sys.exit(f"{action} with {repo} failed:\n{out.stderr[-3000:]}")
    return out.stdout.strip().splitlines()[-1] if action == "grade" else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default=POOL_COMMIT, metavar="COMMIT")
    parser.add_argument("--submissions", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        repo, base, action, count, workers = args.child
        return _child(Path(repo), base, action, int(count), int(workers))

    with tempfile.TemporaryDirectory(prefix="grade-ab-") as tmp:
        tmp = Path(tmp)
        earlier = tmp / "earlier"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q",
                        str(earlier), args.against], check=True)
        try:
            sides = {"this checkout": REPO, args.against: earlier}
            for name, repo in sides.items():
                _call(repo, tmp / f"base-{repo.name}", "setup", args.submissions, 0)
            print(f"{args.submissions} submissions of ps1_perceptron, "
                  f"{args.workers} workers, {os.cpu_count()} CPU cores", flush=True)
            for round_ in range(1, args.rounds + 1):
                for name, repo in sides.items():
                    graded, failed, seconds = _call(
                        repo, tmp / f"base-{repo.name}", "grade", args.submissions,
                        args.workers).split()
                    rate = args.submissions / float(seconds) * 60
                    print(f"round {round_}, {name:>13}: {graded} graded, {failed} failed "
                          f"in {float(seconds):.1f} s = {rate:.1f} submissions/minute  "
                          f"(load average {os.getloadavg()[0]:.2f})", flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(earlier)], check=False)


if __name__ == "__main__":
    main()

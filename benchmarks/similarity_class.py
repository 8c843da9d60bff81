"""How long `course similarity` takes for a class of 200 ps1_perceptron submissions.

    .venv/bin/python benchmarks/similarity_class.py [--submissions 200] [--seed 0]
                                                    [--pair-loop]

Builds a temporary copy of the course and writes the submissions: each
answer cell is, at random, the solution's or the plain-loop answer of
tests/submissions/loops.py, with its local variables renamed at random,
the two functions of the step_functions cell in a random order, a comment
and a random statement added and blank lines changed. Nearly every pair is therefore a near copy:
the worst case, where every comparison finds matches to mark. Then it times
the report as `course similarity` makes it: reading and fingerprinting
every submission, comparing every pair, and writing the HTML report (the
one-off import of copydetect, which loads matplotlib, is timed apart). The
machine's load average is printed before and after, because other work on
the same cores changes the numbers.
"""

import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "ps1_perceptron"
# Local names of the solution's and the loop answers, and what they may become.
LOCALS = ["out", "idx", "total", "z", "mistakes", "errors", "seen", "state", "epoch",
          "earlier", "error", "y_hat", "w_new", "x_i", "y_i", "n", "i", "N", "d"]
VOCABULARY = ["acc", "res", "tmp", "val", "cnt", "buf", "item", "k", "j", "q", "s", "t",
              "arr", "vec", "mat", "num", "count", "result", "value", "output"]


def variant(code, rng):
    """``code`` with its local names renamed at random, a comment and a statement added.

    The statement (``_check_<n> = <number>`` after the first line) makes the
    normalised code differ from one variant to the next, as in a real class.
    """
    mapping = {}
    for name in LOCALS:
        if rng.random() < 0.6 and re.search(rf"\b{name}\b", code):
            mapping[name] = f"{rng.choice(VOCABULARY)}_{len(mapping)}"
    if mapping:
        code = re.sub(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b",
                      lambda m: mapping[m.group(1)], code)
    lines = code.strip("\n").split("\n")
    at = rng.randrange(1, len(lines) + 1)
    indent = re.match(r"\s*", lines[at - 1]).group(0)
    lines.insert(at, f"{indent}# step {rng.randrange(100)}")
    body = re.match(r"\s*", lines[1]).group(0) if len(lines) > 1 else "    "
    lines.insert(1, f"{body}_check_{rng.randrange(100)} = {rng.randrange(10**6)}")
    return "\n" * rng.randrange(3) + "\n".join(lines) + "\n"


def build(base, count, seed):
    """A course copy with ``count`` submissions of ps1_perceptron."""
    import nbformat

    from tests.notebook_tools import copy_course, fill_answers, solution_answers
    from tests.submissions.loops import PS1

    course = copy_course(base)
    release = nbformat.read(course / "assignments" / NAME / f"{NAME}.ipynb", as_version=4)
    solution = solution_answers(course / "solutions" / NAME / f"{NAME}.ipynb")
    rng = random.Random(seed)
    for i in range(count):
        answers = {}
        for grade_id, loop_code in PS1.items():
            code = rng.choice([solution[grade_id], loop_code]).strip("\n")
            if grade_id == "step_functions" and rng.random() < 0.5:
                first, second = code.split("\n\n\ndef sign")
                code = "def sign" + second + "\n\n\n" + first
            answers[grade_id] = variant(code, rng)
        folder = course / "submitted" / f"student{i:03d}" / NAME
        folder.mkdir(parents=True)
        nbformat.write(fill_answers(release, answers), folder / f"{NAME}.ipynb")
    return course


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pair-loop", action="store_true",
                        help="also time copydetect's compare_files on every pair and "
                             "cell, one at a time (what the vectorised scoring replaces)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    start = time.perf_counter()
    import copydetect  # noqa: F401  (loads matplotlib: once per process)
    imported = time.perf_counter() - start

    from course import similarity

    with tempfile.TemporaryDirectory(prefix="similarity-bench-") as tmp:
        course = build(Path(tmp) / "course", args.submissions, args.seed)
        start = time.perf_counter()
        report = similarity.compare(NAME, course)
        compared = time.perf_counter() - start
        html = similarity.write_html(report, course / f"similarity_{NAME}.html")
        total = time.perf_counter() - start
        size = html.stat().st_size
        if args.pair_loop:
            from copydetect import compare_files

            start = time.perf_counter()
            subs = list(report.submissions.values())
            for i, a in enumerate(subs):
                for b in subs[i + 1:]:
                    for label in report.labels:
                        if label in a.cells and label in b.cells:
                            compare_files(a.cells[label].fingerprint,
                                          b.cells[label].fingerprint)
            loop = time.perf_counter() - start
    print(f"{len(report.submissions)} submissions, {len(report.pairs)} pairs, "
          f"{len(report.flagged())} at or above {report.threshold:g}")
    print(f"import copydetect: {imported:.1f} s; compare: {compared:.1f} s; "
          f"with the HTML report ({size / 1e3:.0f} kB): {total:.1f} s")
    if args.pair_loop:
        print(f"copydetect's compare_files on every pair and cell, one at a time: "
              f"{loop:.1f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``course`` command: a thin front over the package.

    course data mnist [--dir DIR] [--no-download]

downloads MNIST into the cache (or checks a folder you name), then prints
where the files are and whether every checksum matches. Exit status 0 means
all four files are present and original.

    course grade ASSIGNMENT [--workers N | --scheduler tcp://HOST:8786] [--regrade]
                 [--zip FILE] [--course-dir DIR]
                 [--timeout S] [--memory-limit GIB] [--max-output CHARS]
                 [--no-isolation]

autogrades every submission of an assignment in parallel (see
``course.autograde``), writes feedback and ``grades.csv``, and prints a
summary naming every problem per student. The students' code runs in a
bubblewrap sandbox (``course.isolation``); without bubblewrap it refuses to
grade unless told ``--no-isolation``. Exit status 0 means every
submission has its gradebook row (failed ones with 0 points and a reason).

    course check NOTEBOOK [--course-dir DIR] [--assignment NAME] [--feedback FILE]

grades one notebook exactly as ``course grade`` would (see
``course.selfcheck``), in a throw-away copy of the course: per graded cell
the points and the message of the first failed check, the total, and where
the feedback HTML is. Exit status 0 only at full automatic marks, 1 below,
2 when the notebook cannot be checked (the reason in one line).

    course mutants ASSIGNMENT [--workers N] [--quick] [--function NAME ...]
                   [--csv FILE] [--fail-under RATE] [--course-dir DIR]

grades every mutant of the solution's answer code (see ``course.mutants``)
with the assignment's hidden tests and reports, per graded function, the
mutants killed, the survivors (with their diffs) and the probably equivalent
ones; writes one CSV row per mutant. Exit status 1 if the kill rate is under
``--fail-under``.

    course export --to canvas|moodle|csv FILE [--assignment A ...]
                  [--roster ROSTER.csv] [--allow-unrostered] [--course-dir DIR]

writes the gradebook's scores (manual grades and late penalties included) in
the import format of Canvas's gradebook CSV or Moodle's CSV grade import, or
as a plain one-row-per-student CSV (see ``course.lms_export``); a roster maps
nbgrader ids to the LMS's ids. Exit status 1, with one line saying why, on
bad input.

    course similarity ASSIGNMENT [--course-dir DIR] [--out FILE.html] [--top N]
                      [--threshold T]

ranks every pair of submissions by how alike their answer code is (see
``course.similarity``: given code ignored, comments, whitespace and names
normalised), prints the top pairs with the cells that match and writes an
HTML report with the suspicious pairs side by side. Exit status 1, with one
line saying why, when there is no such assignment or no submission.

    course edition student DIR [--force] [--course-dir DIR]

writes the course as students should receive it (see ``course.edition``):
lectures, released assignments and the parts of ``course`` they import; no
solutions, hidden tests, references or instructor tools. Exit status 1,
with one line saying why, when DIR is not empty (without ``--force``).

    course compare [--quick] [--depths L ...] [--out-dir DIR] [...]

trains scikit-learn, PyTorch and from-scratch numpy MLPs of several depths and
LeNet-5 on MNIST, prints the table and writes it with its figures (see
``course.compare``; ``course compare --help`` lists every option).
"""

import argparse
import sys

from course import autograde, data, edition, lms_export, selfcheck, similarity


def _cmd_data_mnist(args):
    try:
        directory, origin, checks = data.verify_mnist(args.dir)
        if origin == "cache" and not args.no_download and not all(c.ok for c in checks):
            print(f"downloading MNIST into {directory} ...")
            data.download_mnist(directory)
            directory, origin, checks = data.verify_mnist(args.dir)
    except data.DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"MNIST folder: {directory} (from {origin})")
    for check in checks:
        mark = "ok " if check.ok else "BAD"
        detail = "" if check.ok else f"  <- {check.problem}"
        print(f"  [{mark}] {check.path.name}{detail}")
    if all(c.ok for c in checks):
        print("all four files present; every MD5 matches the original MNIST.")
        return 0
    print(
        "some files are missing or corrupt. Run `course data mnist` without "
        "--dir to download into the cache, or copy the original files into "
        "the folder.",
        file=sys.stderr,
    )
    return 1


def _cmd_grade(args):
    try:
        run = autograde.grade_assignment(
            args.assignment, course_dir=args.course_dir, workers=args.workers,
            zip_path=args.zip, zip_regexp=args.zip_regexp, timeout=args.timeout,
            memory_limit=int(args.memory_limit * 2**30), max_output=args.max_output,
            progress=not args.no_progress, isolation=not args.no_isolation,
            scheduler=args.scheduler, regrade=args.regrade,
        )
    except autograde.GradingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(autograde.summary_text(run))
    return 0


def _add_grade_parser(commands):
    grade = commands.add_parser(
        "grade",
        help="autograde a whole class in parallel, with feedback and grades.csv"
    )
    grade.add_argument("assignment", metavar="ASSIGNMENT", help="e.g. ps1_perceptron")
    grade.add_argument("--workers", type=int, metavar="N",
                       help="grading processes on this machine (default: one per "
                            "CPU core); not used with --scheduler")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on the workers of this Dask cluster, e.g. "
                            "tcp://grader.example.edu:8786 (default: a local cluster)")
    grade.add_argument("--regrade", action="store_true",
                       help="grade every submission again, even those unchanged "
                            "since they were last graded")
    grade.add_argument("--zip", metavar="FILE",
                       help="collect submissions from an LMS zip first (nbgrader "
                            "zip_collect); by default it holds "
                            "<student>/<notebook>.ipynb")
    grade.add_argument("--zip-regexp", metavar="RE",
                       help="FileNameCollectorPlugin.named_regexp for --zip, with "
                            "(?P<student_id>...) and (?P<file_id>...)")
    grade.add_argument("--course-dir", default=".", metavar="DIR",
                       help="the course folder (with nbgrader_config.py); "
                            "default: here")
    grade.add_argument("--timeout", type=int, metavar="S",
                       help="seconds one cell may run (default: the assignment's limit in "
                            "nbgrader_config.py, e.g. 60, 300 for ps5_mnist)")
    grade.add_argument("--memory-limit", type=float, metavar="GIB",
                       default=autograde.DEFAULT_MEMORY_LIMIT / 2**30,
                       help="address space of each kernel in GiB; 0 for no limit "
                            "(default: %(default)g)")
    grade.add_argument("--max-output", type=int, metavar="CHARS",
                       default=autograde.DEFAULT_MAX_OUTPUT,
                       help="characters of output kept per cell (default: %(default)d)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument("--no-isolation", action="store_true",
                       help="run the students' code without the bubblewrap sandbox "
                            "(it can then read the solutions and the gradebook); "
                            "only where bubblewrap cannot be installed")
    grade.set_defaults(func=_cmd_grade)


def _cmd_mutants(args):
    from course import mutants

    try:
        result = mutants.run(
            args.assignment, course_dir=args.course_dir, workers=args.workers,
            quick=args.quick, functions=args.function, isolation=not args.no_isolation,
            progress=not args.no_progress, equivalence_seconds=args.equivalence_seconds,
            csv_path=args.csv)
    except mutants.MutantsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(mutants.report(result))
    if args.fail_under is not None and result.kill_rate() < args.fail_under:
        print(f"kill rate {result.kill_rate():.1%} is under {args.fail_under:.1%}",
              file=sys.stderr)
        return 1
    return 0


def _add_mutants_parser(commands):
    parser = commands.add_parser(
        "mutants",
        help="measure the hidden tests: grade plausible bugs made in the solution")
    parser.add_argument("assignment", metavar="ASSIGNMENT", help="e.g. ps1_perceptron")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="grading processes (default: one per CPU core)")
    parser.add_argument("--quick", action="store_true",
                        help="a sample: at most 4 mutants per graded function")
    parser.add_argument("--function", action="append", metavar="NAME",
                        help="only mutants of this function (repeatable)")
    parser.add_argument("--csv", metavar="FILE",
                        help="where to write one row per mutant "
                             "(default: mutants_<assignment>.csv in the course folder)")
    parser.add_argument("--fail-under", type=float, metavar="RATE",
                        help="exit with status 1 if the kill rate is under RATE "
                             "(e.g. 0.95)")
    parser.add_argument("--equivalence-seconds", type=float, default=10.0, metavar="S",
                        help="seconds spent comparing each survivor with the solution "
                             "(default: %(default)g)")
    parser.add_argument("--course-dir", default=".", metavar="DIR",
                        help="the course folder (with nbgrader_config.py); default: here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-isolation", action="store_true",
                        help="grade without the bubblewrap sandbox")
    parser.set_defaults(func=_cmd_mutants)


def build_parser():
    """The argument parser of the ``course`` command."""
    parser = argparse.ArgumentParser(
        prog="course",
        description="Artificial Neural Networks course: data, grading and the MNIST comparison.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    data_parser = commands.add_parser("data", help="download or verify datasets")
    datasets = data_parser.add_subparsers(dest="dataset", required=True)
    mnist = datasets.add_parser(
        "mnist", help="download MNIST into the cache, or verify a folder"
    )
    mnist.add_argument(
        "--dir",
        metavar="DIR",
        help=f"check this folder instead of ${data.ENV_VAR} or the cache",
    )
    mnist.add_argument(
        "--no-download", action="store_true", help="only verify, never download"
    )
    mnist.set_defaults(func=_cmd_data_mnist)
    _add_grade_parser(commands)
    _add_mutants_parser(commands)
    similarity.add_parser(commands)
    lms_export.add_parser(commands)
    selfcheck.add_parser(commands)
    edition.add_parser(commands)
    # Listed here for --help; main() hands its arguments to course.compare, so
    # that the other commands do not pay for importing PyTorch.
    commands.add_parser(
        "compare", add_help=False,
        help="MNIST: scikit-learn vs PyTorch vs from-scratch numpy, with a depth "
             "sweep (course compare --help for its options)",
    )
    return parser


def main(argv=None):
    """Entry point of the ``course`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["compare"]:
        from course import compare

        return compare.main(argv[1:], prog="course compare")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

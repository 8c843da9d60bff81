"""The ``course`` command: a thin front over the package.

    course data mnist [--dir DIR] [--no-download]

downloads MNIST into the cache (or checks a folder you name), then prints
where the files are and whether every checksum matches. Exit status 0 means
all four files are present and original.
"""

import argparse
import sys

from course import data


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


def build_parser():
    """The argument parser of the ``course`` command."""
    parser = argparse.ArgumentParser(
        prog="course",
        description="Artificial Neural Networks course: data and grading helpers.",
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
    return parser


def main(argv=None):
    """Entry point of the ``course`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""``course check NOTEBOOK``: grade one notebook exactly as ``course grade`` would.

For a student before submitting, and for a self-study learner who has no
instructor: the same hidden tests, the same verdicts and the same sandbox
(where bubblewrap runs; elsewhere without it, with a one-line note), because
it *is* ``course grade`` (:func:`course.autograde.grade_assignment`), run on a
class of one in a throw-away copy of the course
(:func:`course.autograde.scratch_course`). Nothing in the course folder
changes: no gradebook row, no ``submitted/``, no ``autograded/``.

It finds the course by itself: ``--course-dir``, else the folders above the
notebook, else the course this package was installed from. The assignment is
the one whose source notebook has the same graded cells (``grade_id``) as the
notebook given.

The solution's reference values are cached per user (``~/.cache/ann-course``
or ``$XDG_CACHE_HOME/ann-course``) so that a second check is quick; the
feedback HTML is written there too, unless ``--feedback FILE`` says where.
"""

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course.grader.answers import nbgrader_metadata
from course.grader.verdicts import VERDICT_MIME

STUDENT = "me"


class CheckError(Exception):
    """The notebook cannot be checked; the message says why, in one line."""


@dataclass
class CellResult:
    grade_id: str
    score: float = None       # None: graded by hand
    max_score: float = 0.0
    message: str = ""


@dataclass
class CheckResult:
    notebook: Path
    assignment: str
    course: Path
    isolated: bool
    cells: list = field(default_factory=list)
    feedback: Path = None
    problems: list = field(default_factory=list)

    @property
    def auto_cells(self):
        return [c for c in self.cells if c.score is not None]

    @property
    def score(self):
        return sum(c.score for c in self.auto_cells)

    @property
    def max_score(self):
        return sum(c.max_score for c in self.auto_cells)

    @property
    def full_marks(self):
        return not self.problems and self.score >= self.max_score


def cache_dir():
    """The per-user folder for reference values and feedback."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ann-course"


# ---------------------------------------------------------------------------
# which notebook, which course, which assignment


def read_notebook(path):
    """The notebook at ``path``, or a CheckError saying what it is instead."""
    path = Path(path)
    if not path.is_file():
        raise CheckError(f"{path}: no such file")
    if path.suffix != ".ipynb":
        raise CheckError(f"{path}: not a notebook (expected a .ipynb file)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckError(f"{path}: not valid JSON ({exc.__class__.__name__}: "
                         f"{str(exc)[:80]}); is the file complete?") from None
    try:
        return nbformat.from_dict(data) if data.get("nbformat") == 4 else \
            nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # noqa: BLE001 (nbformat's many ways to refuse)
        raise CheckError(f"{path}: JSON, but not a Jupyter notebook "
                         f"({exc.__class__.__name__})") from None


def find_course(notebook, course_dir=None):
    """The course folder: given, above the notebook, or this package's own."""
    if course_dir is not None:
        course = Path(course_dir).resolve()
        if not (course / "nbgrader_config.py").is_file():
            raise CheckError(f"{course}: not a course folder (no nbgrader_config.py)")
        return course
    for folder in Path(notebook).resolve().parents:
        if (folder / "nbgrader_config.py").is_file() and (folder / "solutions").is_dir():
            return folder
    installed = Path(__file__).resolve().parents[1]
    if (installed / "nbgrader_config.py").is_file() and (installed / "solutions").is_dir():
        return installed
    raise CheckError("cannot find the course folder (with nbgrader_config.py and "
                     "solutions/); say where it is with --course-dir")


def _grade_ids(nb, graded_only=True):
    return {nbgrader_metadata(c)["grade_id"] for c in nb.cells
            if nbgrader_metadata(c).get("grade_id")
            and (not graded_only or nbgrader_metadata(c).get("grade"))}


def find_assignment(nb, path, course, assignment=None):
    """(assignment, source notebook) whose graded cells the notebook has."""
    ids = _grade_ids(nb)
    sources = sorted((course / "solutions").glob("*/*.ipynb"))
    if assignment is not None:
        sources = [s for s in sources if s.parent.name == assignment]
        if not sources:
            known = sorted({s.parent.name for s in (course / "solutions").glob("*/*.ipynb")})
            raise CheckError(f"no assignment {assignment!r} in {course / 'solutions'} "
                             f"(there are: {', '.join(known)})")
    by_name = [s for s in sources if s.name == Path(path).name]
    best, overlap = None, 0
    for source in sources:
        theirs = _grade_ids(nbformat.read(source, as_version=4))
        shared = len(ids & theirs) / max(len(theirs), 1)
        if shared > overlap:
            best, overlap = source, shared
    if best is not None and overlap >= 0.5:
        return best.parent.name, best
    if by_name:
        raise CheckError(f"{path}: named like {by_name[0].parent.name}, but its graded "
                         "cells are not that assignment's (a notebook of another "
                         "assignment, or its cells' metadata was lost)")
    if not ids:
        raise CheckError(f"{path}: has no graded cells; is it an assignment notebook "
                         "(from assignments/)?")
    if assignment is not None:
        raise CheckError(f"{path}: not a notebook of {assignment} (its graded cells are "
                         "another assignment's)")
    raise CheckError(f"{path}: not a notebook of any assignment of this course "
                     f"({course})")


# ---------------------------------------------------------------------------
# the check


def check_notebook(path, course_dir=None, assignment=None, feedback=None, timeout=None):
    """Grade one notebook as ``course grade`` would; returns a :class:`CheckResult`."""
    from course import autograde, isolation

    path = Path(path)
    nb = read_notebook(path)
    course = find_course(path, course_dir)
    name, source = find_assignment(nb, path, course, assignment)
    if not (course / "assignments" / name / source.name).is_file():
        raise CheckError(f"{name} has not been released in {course / 'assignments'} "
                         "(run `make release`)")
    try:
        isolation.check()
        isolated = True
    except isolation.IsolationUnavailable:
        isolated = False
    references = cache_dir() / "references" / name
    with autograde.scratch_course(course, name, references_from=[references]) as copy:
        folder = copy / "submitted" / STUDENT / name
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / source.name)
        try:
            run = autograde.grade_assignment(name, course_dir=copy, workers=1,
                                             timeout=timeout, isolation=isolated,
                                             class_reports=False)
        except autograde.GradingError as exc:
            raise CheckError(str(exc)) from None
        cached = copy / ".grading" / "references" / name
        if cached.is_dir():
            shutil.copytree(cached, references, dirs_exist_ok=True)
        result = CheckResult(path, name, course, isolated)
        student = run.students[0]
        result.problems = list(student.problems)
        verdicts = _verdicts(copy / "autograded" / STUDENT / name / source.name)
        for grade_id, max_score, kind in run.cells:
            score, manual = student.cells.get(grade_id, (0.0, False))
            written = manual or kind != "code"  # a written answer: a person grades it
            cell = CellResult(grade_id, None if written else float(score or 0),
                              float(max_score))
            cell.message = verdicts.get(grade_id, "")
            result.cells.append(cell)
        made = copy / "feedback" / STUDENT / name / source.with_suffix(".html").name
        if made.is_file():
            target = Path(feedback) if feedback else (
                cache_dir() / "feedback" / name / made.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(made, target)
            result.feedback = target.resolve()
    return result


def _verdicts(autograded):
    """grade_id -> the message of a failed test cell (the first failed check's)."""
    if not autograded.is_file():
        return {}
    messages = {}
    for cell in nbformat.read(autograded, as_version=4).cells:
        gid = nbgrader_metadata(cell).get("grade_id")
        for output in cell.get("outputs", []):
            verdict = output.get("data", {}).get(VERDICT_MIME)
            if verdict and not verdict.get("passed"):
                failed = [c["message"] for c in verdict.get("checks", [])
                          if c.get("status") == "failed" and c.get("message")]
                messages[gid] = (failed[0] if failed else verdict.get("problem")
                                 or "the test failed")
    return messages


def report(result):
    """What ``course check`` prints."""
    where = "in the sandbox" if result.isolated else \
        "WITHOUT the sandbox (bubblewrap is not available here; the grades are the same)"
    lines = [f"{result.notebook.name}: assignment {result.assignment}, graded {where}"]
    width = max([len(c.grade_id) for c in result.cells] + [8])
    for cell in result.cells:
        if cell.score is None:
            lines.append(f"  {cell.grade_id:<{width}}    - / {cell.max_score:g}      "
                         "a written answer: graded by a person")
            continue
        mark = "ok" if cell.score >= cell.max_score else "  "
        line = f"  {cell.grade_id:<{width}}  {cell.score:>3g} / {cell.max_score:g}  {mark}"
        if cell.message:
            first, *rest = cell.message.splitlines()
            line += f" {first}"
            lines.append(line)
            lines += [f"  {'':<{width}}            {more}" for more in rest[:4]]
            continue
        lines.append(line.rstrip())
    lines += [f"  problem: {p}" for p in result.problems]
    lines.append(f"total (automatic): {result.score:g} / {result.max_score:g}"
                 + ("  full marks" if result.full_marks else ""))
    if result.feedback:
        lines.append(f"feedback: {result.feedback}")
    return "\n".join(lines)


def add_parser(commands):
    """``course check``'s arguments."""
    parser = commands.add_parser(
        "check", help="grade one notebook exactly as `course grade` would (changes nothing)")
    parser.add_argument("notebook", metavar="NOTEBOOK", help="your .ipynb file")
    parser.add_argument("--course-dir", metavar="DIR",
                        help="the course folder (default: found from the notebook)")
    parser.add_argument("--assignment", metavar="NAME",
                        help="the assignment (default: found from the notebook's cells)")
    parser.add_argument("--feedback", metavar="FILE",
                        help="where to write the feedback HTML "
                             "(default: ~/.cache/ann-course/feedback/...)")
    parser.add_argument("--timeout", type=int, metavar="S",
                        help="seconds one cell may run (default: the assignment's limit)")
    parser.set_defaults(func=main)


def main(args):
    """Run ``course check``; exit status 0 only at full automatic marks."""
    import sys

    try:
        result = check_notebook(args.notebook, course_dir=args.course_dir,
                                assignment=args.assignment, feedback=args.feedback,
                                timeout=args.timeout)
    except CheckError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(result))
    return 0 if result.full_marks else 1

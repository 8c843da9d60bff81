"""Grades from the nbgrader gradebook in the import formats of Canvas and Moodle.

    course export --to canvas|moodle|csv FILE [--assignment A ...]
                  [--roster ROSTER.csv] [--allow-unrostered] [--course-dir DIR]

reads the course's gradebook with nbgrader's ``Gradebook`` API (the database
URL from the course's ``nbgrader_config.py``: ``gradebook.db`` in the course
folder, or ``COURSE_GRADEBOOK_URL``) and writes one CSV file, UTF-8, one row
per student.

What goes in
------------
- The gradebook: every student in it appears exactly once, whether or not
  they submitted anything; ``--assignment`` picks assignments (default: all,
  in name order).
- The score of a submission is nbgrader's: the sum over its graded cells of
  the manual score where a grader gave one, else the autograded score, plus
  any extra credit (``SubmittedAssignment.score``), minus the late penalty
  (``SubmittedAssignment.late_submission_penalty``, the sum of its
  notebooks' penalties), never below 0. This is exactly the ``score`` column
  of ``nbgrader export``. A student without a submission of an assignment
  gets **0**, as in ``nbgrader export``, in every format: neither Canvas nor
  Moodle wants an empty cell for it (both read an empty cell as "no grade",
  which would leave the student ungraded rather than at 0).
- Optionally a roster: a CSV file with a header row. ``student_id`` (the
  nbgrader student id) is required; the other columns are optional, and
  unknown columns are ignored:

  ==============  ==========================================================
  ``student_id``  the nbgrader id (required, unique)
  ``first_name``  first name (default: from a "Last, First" ``name``, else
                  the gradebook's)
  ``last_name``   last name (default: likewise)
  ``name``        Canvas's "Student" (default: "Last, First")
  ``email``       Moodle's "Email address" (default: the gradebook's)
  ``canvas_id``   Canvas's "ID", the Canvas user id (default: the
                  gradebook's ``lms_user_id``)
  ``sis_user_id`` Canvas's "SIS User ID"
  ``login_id``    Canvas's "SIS Login ID" and Moodle's "Username"
  ``section``     Canvas's "Section"
  ``id_number``   Moodle's "ID number"
  ==============  ==========================================================

  Without a roster (and for a student missing from it, with
  ``--allow-unrostered``) the nbgrader id is the student's login: Canvas's
  "SIS Login ID" and Moodle's "Username"; names, email and Canvas "ID"
  come from the gradebook. A roster student who is not in the gradebook is
  named in a note and exported with 0 for every assignment; a gradebook
  student who is not in the roster is an error unless
  ``--allow-unrostered``. Two students with the same LMS identifier, or a
  student without any identifier the LMS can match, are errors.

What comes out
--------------
``canvas``: Canvas's gradebook CSV. Its headers come from Canvas's own
gradebook export, which is the import format (Canvas Instructor Guide, "How
do I import grades in the Gradebook?",
https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807,
and "How do I export grades in the Gradebook?"), and from the importer that
reads them (canvas-lms ``app/models/gradebook_importer.rb``):

- ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``: the
  importer requires ``Student`` first and ``ID`` second, takes
  ``SIS User ID`` and ``SIS Login ID`` in columns 3 and 4 and requires the
  last student column to be ``Section``. It finds the student by ``ID``
  (the Canvas user id), then ``SIS User ID``, then ``SIS Login ID``, then
  the name (display name or "Last, First").
- then one column per assignment, headed by its name: the importer matches
  an existing Canvas assignment by title (or by "Title (canvas id)") and
  creates a new assignment for an unknown title;
- a second row whose first cell is ``Points Possible`` (the importer's test
  is ``row[0] =~ /Points Possible/``), the student columns empty and each
  assignment's maximum score: the points of an assignment the import
  creates.

No total columns: Canvas computes them and ignores them on import.

``moodle``: Moodle's grade import from CSV (MoodleDocs "Grade import",
https://docs.moodle.org/en/Grade_import; ``grade/import/csv`` in Moodle's
source). Any column can identify the user: on the import's preview page
"Map from" names the column and "Map to" the user field: ``useridnumber``,
``useremail``, ``username`` or ``userid``. The columns here are named as
Moodle's own plain-text grade export names them (Moodle's language strings
``firstname``, ``lastname``, ``idnumber``, ``email``, ``username``):
``First name``, ``Last name``, ``ID number``, ``Email address``,
``Username``; then one column per grade item, headed by the assignment's
name, to be mapped on the same page to an existing grade item or to "new
grade item". Map users by ``Email address`` -> ``useremail`` or ``ID
number`` -> ``useridnumber``; Moodle stops the whole import at a row whose
user it cannot find, so every row must belong to a Moodle user (use a
roster).

``csv``: a plain table: ``student_id`` (nbgrader's), ``<assignment>_score``
and ``<assignment>_max`` per assignment, ``total_score`` and ``total_max``.

Errors are ``ExportError`` with a one-line message; nothing is written then.
"""

import csv
import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("canvas", "moodle", "csv")

CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_POSSIBLE = "Points Possible"
MOODLE_USER_COLUMNS = ["First name", "Last name", "ID number", "Email address", "Username"]

ROSTER_COLUMNS = ("student_id", "first_name", "last_name", "name", "email", "canvas_id",
                  "sis_user_id", "login_id", "section", "id_number")

# The columns by which each LMS can find a student: a row needs one of them.
_IDENTIFIERS = {
    "canvas": ("ID", "SIS User ID", "SIS Login ID", "Student"),
    "moodle": ("ID number", "Email address", "Username"),
}


class ExportError(Exception):
    """Bad input or an unusable gradebook; the message is one line."""


@dataclass
class Student:
    """One exported row: who (nbgrader id, LMS identity) and the scores.

    ``scores`` maps an assignment name to the score after the late penalty
    (0 without a submission); ``in_gradebook`` is False for a roster student
    the gradebook does not know.
    """

    student_id: str
    identity: dict
    scores: dict
    in_gradebook: bool = True
    rostered: bool = False
    submitted: set = field(default_factory=set)
    needs_manual: set = field(default_factory=set)


@dataclass
class Export:
    """What ``export`` wrote: ``path``, the format, the assignments (name ->
    max score, in column order), the students (rows, in order) and notes
    (one line each) on what the instructor should know."""

    path: Path
    to: str
    assignments: dict
    students: list
    notes: list = field(default_factory=list)


# --------------------------------------------------------------------------
# the entry point


def export(to, path, course_dir=".", assignments=None, roster=None, allow_unrostered=False):
    """Write the gradebook's grades to ``path`` in format ``to``; returns an ``Export``.

    ``to`` is ``"canvas"``, ``"moodle"`` or ``"csv"``; ``assignments`` a list of
    assignment names (default: every assignment in the gradebook);
    ``roster`` the path of a roster CSV (see the module docstring).
    Raises ``ExportError`` (one line) on bad input; then nothing is written.
    """
    if to not in FORMATS:
        raise ExportError(f"unknown format {to!r}: choose one of {', '.join(FORMATS)}")
    course = Path(course_dir).resolve()
    roster_rows = _read_roster(Path(roster)) if roster is not None else None
    db_url, course_id = _gradebook_location(course)
    max_scores, students = _read_gradebook(db_url, course_id, assignments, course)
    rows, notes = _join_roster(students, roster_rows, allow_unrostered, max_scores,
                               roster)
    _check_identities(rows, to)
    text = _render(to, rows, max_scores)
    target = Path(path)
    _write(target, text)
    unsubmitted = sum(1 for r in rows for a in max_scores if a not in r.submitted)
    if unsubmitted:
        notes.append(f"{unsubmitted} missing submission(s) exported as 0")
    notes.extend(_manual_notes(rows))
    return Export(target, to, max_scores, rows, notes)


def summary(result):
    """A few lines saying what ``export`` wrote and what to look at."""
    names = ", ".join(result.assignments) or "none"
    lines = [f"wrote {result.path} ({result.to}): {len(result.students)} students, "
             f"{len(result.assignments)} assignment(s): {names}"]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# reading the gradebook


def _gradebook_location(course):
    """The gradebook URL and course id from the course's nbgrader configuration."""
    if not (course / "nbgrader_config.py").is_file():
        raise ExportError(f"no nbgrader_config.py in {course}: pass --course-dir, the "
                          "course folder")
    from nbgrader.apps.baseapp import NbGrader

    app = NbGrader()
    here = os.getcwd()
    os.chdir(course)  # as if nbgrader ran in the course folder: its config
    try:
        app.initialize([f"--CourseDirectory.root={course}"], root=str(course))
    except Exception as exc:  # a broken nbgrader_config.py
        raise ExportError(f"cannot load {course / 'nbgrader_config.py'}: "
                          f"{_one_line(exc)}") from None
    finally:
        os.chdir(here)
    app.log.handlers = []
    app.log.propagate = False
    return app.coursedir.db_url, app.coursedir.course_id


def _read_gradebook(db_url, course_id, wanted, course):
    """(assignment name -> max score, [Student]) from the gradebook.

    A relative SQLite path is taken from the course folder, where nbgrader
    runs. Raises ``ExportError`` if there is no gradebook at ``db_url`` or an
    assignment in ``wanted`` is not in it.
    """
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url

    try:
        url = make_url(db_url)
    except Exception as exc:
        raise ExportError(f"bad gradebook URL {db_url!r}: {_one_line(exc)}") from None
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).is_absolute():
            url = url.set(database=str(course / url.database))
        if not Path(url.database).is_file():
            raise ExportError(f"no gradebook at {url.database}: grade an assignment first "
                              "(course grade ASSIGNMENT), or set COURSE_GRADEBOOK_URL")
    try:
        engine = create_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
    except Exception as exc:
        raise ExportError(f"cannot open the gradebook {shown}: {_one_line(exc)}") from None
    if not {"student", "assignment", "submitted_assignment"} <= tables:
        raise ExportError(f"{shown} is not an nbgrader gradebook (no student, assignment "
                          "and submitted_assignment tables)")

    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with Gradebook(url.render_as_string(hide_password=False), course_id) as gb:
            known = {a.name: a for a in gb.assignments}
            if wanted:
                unknown = [a for a in wanted if a not in known]
                if unknown:
                    raise ExportError(
                        f"no assignment {', '.join(unknown)} in the gradebook (it has: "
                        f"{', '.join(sorted(known)) or 'none'})")
                names = list(dict.fromkeys(wanted))
            else:
                names = sorted(known)
            max_scores = {name: float(known[name].max_score or 0.0) for name in names}
            students = []
            for s in sorted(gb.students, key=lambda s: s.id):
                scores, submitted, manual = {}, set(), set()
                for sub in s.submissions:
                    name = sub.assignment.name
                    if name not in max_scores:
                        continue
                    penalty = float(sub.late_submission_penalty or 0.0)
                    scores[name] = max(0.0, float(sub.score or 0.0) - penalty)
                    submitted.add(name)
                    if sub.needs_manual_grade:
                        manual.add(name)
                for name in max_scores:
                    scores.setdefault(name, 0.0)
                identity = {"first_name": s.first_name or "",
                            "last_name": s.last_name or "",
                            "email": s.email or "", "canvas_id": s.lms_user_id or ""}
                students.append(Student(s.id, identity, scores, submitted=submitted,
                                        needs_manual=manual))
    except SQLAlchemyError as exc:
        raise ExportError(f"cannot read the gradebook {shown}: {_one_line(exc)}") from None
    return max_scores, students


# --------------------------------------------------------------------------
# the roster


def _read_roster(path):
    """The roster's rows as dicts (lower-case column names), in file order."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except FileNotFoundError:
        raise ExportError(f"no roster file {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"cannot read the roster {path}: {_one_line(exc)}") from None
    try:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        records = list(reader)
    except csv.Error as exc:
        raise ExportError(f"roster {path} is not a CSV file: {exc}") from None
    if not header:
        raise ExportError(f"roster {path} is empty: it needs a header row with student_id")
    header = [h.strip().lower() for h in header]
    if "student_id" not in header:
        raise ExportError(f"roster {path} has no student_id column (its columns: "
                          f"{', '.join(header)}); student_id is the nbgrader student id")
    rows, seen = [], {}
    for line, record in enumerate(records, start=2):
        if not any(cell.strip() for cell in record):
            continue
        row = {h: (record[i].strip() if i < len(record) else "")
               for i, h in enumerate(header) if h in ROSTER_COLUMNS}
        sid = row["student_id"]
        if not sid:
            raise ExportError(f"roster {path} line {line}: empty student_id")
        if sid in seen:
            raise ExportError(f"roster {path} lists student {sid} twice (lines "
                              f"{seen[sid]} and {line})")
        seen[sid] = line
        rows.append(row)
    return rows


def _join_roster(students, roster_rows, allow_unrostered, max_scores, roster_path):
    """The rows to export (roster order, then students outside it) and notes."""
    notes = []
    if roster_rows is None:
        for s in students:
            s.identity["login_id"] = s.student_id
        return students, notes
    by_id = {s.student_id: s for s in students}
    rostered = {r["student_id"] for r in roster_rows}
    unrostered = [s for s in students if s.student_id not in rostered]
    if unrostered and not allow_unrostered:
        raise ExportError(
            f"{len(unrostered)} gradebook student(s) not in the roster {roster_path}: "
            f"{_names(s.student_id for s in unrostered)} (add them, or pass "
            "--allow-unrostered to export them under their nbgrader id)")
    rows, missing = [], []
    for r in roster_rows:
        s = by_id.get(r["student_id"])
        if s is None:
            missing.append(r["student_id"])
            s = Student(r["student_id"], {}, {a: 0.0 for a in max_scores},
                        in_gradebook=False)
        identity = {key: r.get(key, "") for key in ROSTER_COLUMNS if key != "student_id"}
        if not (identity["first_name"] or identity["last_name"]) and \
                identity["name"].count(",") == 1:  # "Last, First", as Canvas writes it
            last, first = identity["name"].split(",")
            identity["first_name"], identity["last_name"] = first.strip(), last.strip()
        for key in ("first_name", "last_name", "email", "canvas_id"):
            identity[key] = identity[key] or s.identity.get(key, "")
        s.identity, s.rostered = identity, True
        rows.append(s)
    if missing:
        notes.append(f"{len(missing)} roster student(s) not in the gradebook, exported "
                     f"with 0: {_names(missing)}")
    for s in unrostered:
        s.identity["login_id"] = s.student_id
    if unrostered:
        notes.append(f"{len(unrostered)} student(s) not in the roster, exported under "
                     f"their nbgrader id: {_names(s.student_id for s in unrostered)}")
    return rows + unrostered, notes


# --------------------------------------------------------------------------
# the formats


def _canvas_user(s):
    i = s.identity
    name = i.get("name") or ", ".join(p for p in (i.get("last_name"), i.get("first_name"))
                                      if p) or s.student_id
    return [name, i.get("canvas_id", ""), i.get("sis_user_id", ""), i.get("login_id", ""),
            i.get("section", "")]


def _moodle_user(s):
    i = s.identity
    return [i.get("first_name", ""), i.get("last_name", ""), i.get("id_number", ""),
            i.get("email", ""), i.get("login_id", "")]


def _check_identities(rows, to):
    """Every row has an identifier the LMS can match, and no two share one."""
    if to == "csv":
        return
    columns = CANVAS_STUDENT_COLUMNS if to == "canvas" else MOODLE_USER_COLUMNS
    user = _canvas_user if to == "canvas" else _moodle_user
    owners = {}
    for s in rows:
        values = dict(zip(columns, user(s)))
        if not any(values[c] for c in _IDENTIFIERS[to]):
            raise ExportError(f"student {s.student_id} has no {to} identifier (one of "
                              f"{', '.join(_IDENTIFIERS[to])}): fill it in the roster")
        for column in _IDENTIFIERS[to]:
            if column == "Student" or not values[column]:
                continue  # names may repeat; Canvas tries them last
            other = owners.setdefault((column, values[column]), s.student_id)
            if other != s.student_id:
                raise ExportError(f"students {other} and {s.student_id} have the same "
                                  f"{column} {values[column]!r}: fix the roster")


def _render(to, rows, max_scores):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    names = list(max_scores)
    if to == "canvas":
        writer.writerow(CANVAS_STUDENT_COLUMNS + names)
        writer.writerow([CANVAS_POINTS_POSSIBLE] + [""] * (len(CANVAS_STUDENT_COLUMNS) - 1)
                        + [_num(max_scores[a]) for a in names])
        for s in rows:
            writer.writerow(_canvas_user(s) + [_num(s.scores[a]) for a in names])
    elif to == "moodle":
        writer.writerow(MOODLE_USER_COLUMNS + names)
        for s in rows:
            writer.writerow(_moodle_user(s) + [_num(s.scores[a]) for a in names])
    else:
        writer.writerow(["student_id"]
                        + [f"{a}_{kind}" for a in names for kind in ("score", "max")]
                        + ["total_score", "total_max"])
        total_max = sum(max_scores.values())
        for s in rows:
            cells = [s.student_id]
            for a in names:
                cells += [_num(s.scores[a]), _num(max_scores[a])]
            writer.writerow(cells + [_num(sum(s.scores[a] for a in names)),
                                     _num(total_max)])
    return out.getvalue()


def _write(target, text):
    if target.is_dir():
        raise ExportError(f"cannot write {target}: it is a folder")
    try:
        with open(target, "w", newline="", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        reason = exc.strerror or _one_line(exc)
        raise ExportError(f"cannot write {target}: {reason}") from None


def _manual_notes(rows):
    pending = sorted(f"{s.student_id}/{a}" for s in rows for a in s.needs_manual)
    if not pending:
        return []
    return [f"{len(pending)} submission(s) still need manual grading (a cell without a "
            f"manual grade counts its autograded score, 0 for a written answer): "
            f"{_names(pending)}"]


def _num(x):
    """A score as the LMS reads it: up to 4 decimals, no trailing zeros."""
    text = f"{x:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _names(items, limit=10):
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _one_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --------------------------------------------------------------------------
# the command


def _cmd_export(args):
    try:
        result = export(args.to, args.file, course_dir=args.course_dir,
                        assignments=args.assignment, roster=args.roster,
                        allow_unrostered=args.allow_unrostered)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary(result))
    return 0


def add_parser(commands):
    """Add ``course export`` to the ``course`` command's subparsers."""
    parser = commands.add_parser(
        "export",
        help="write the gradebook's grades for Canvas or Moodle to import, or as a "
             "plain CSV")
    parser.add_argument("--to", required=True, metavar="FORMAT",
                        help="canvas (gradebook CSV with a Points Possible row), moodle "
                             "(grade import CSV) or csv (one row per student)")
    parser.add_argument("file", metavar="FILE", help="the CSV file to write")
    parser.add_argument("--assignment", action="append", metavar="A",
                        help="only this assignment (repeatable; default: all)")
    parser.add_argument("--roster", metavar="ROSTER.csv",
                        help="CSV with student_id (nbgrader id) and the LMS's columns: "
                             "first_name, last_name, name, email, canvas_id, sis_user_id, "
                             "login_id, section, id_number")
    parser.add_argument("--allow-unrostered", action="store_true",
                        help="export gradebook students missing from the roster under "
                             "their nbgrader id instead of stopping")
    parser.add_argument("--course-dir", default=".", metavar="DIR",
                        help="the course folder (with nbgrader_config.py); default: here")
    parser.set_defaults(func=_cmd_export)

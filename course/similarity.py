"""Similarity reports: which submissions' answer code is alike.

``course similarity ASSIGNMENT`` compares every pair of submissions
(``submitted/<student>/<assignment>/<notebook>.ipynb``) on what the students
wrote in the answer cells (cells whose nbgrader metadata says
``solution: true``; their ``grade_id`` come from the source notebooks in
``solutions/<assignment>/``), ranks the pairs, prints the top ones and
writes a self-contained HTML report with each suspicious pair side by side.

How two cells are compared (copydetect's fingerprints):

1. **The release's given code is dropped.** The lines a student's cell shares
   with the released cell (``assignments/<assignment>/``: the ``def`` line,
   the docstring, the ``# YOUR CODE HERE`` stub, ...) are aligned with
   ``difflib`` and left out; what every student was handed is no evidence of
   copying. Every fingerprint of the released cells is also *boilerplate*,
   removed from the students' fingerprints: a given line the student
   re-indented or re-wrapped does not count either.
2. **Normalised** as copydetect does: tokenized with pygments, comments and
   whitespace dropped, every name replaced by ``V`` (a defined function's by
   ``F``), every string by ``S``: renaming variables changes nothing.
3. **Fingerprinted** with copydetect (``CodeFingerprint``): every k-gram of
   ``NOISE`` characters of the normalised code (winnowing window 1): a match
   is found wherever it stands, so reordering functions or statements only
   loses the few k-grams across the seams.

A cell's *matched* code is the part of its normalised code covered by
fingerprints the other student's same cell has too (copydetect's token
overlap; only the same cell is compared with the same cell). Two
submissions' score is their matched code over their normalised answer code,
both sides and all answer cells together: 0 (nothing in common) to 1. All
pairs are scored at once with numpy (``matched_chars``; copydetect's
``compare_files`` one pair and cell at a time took six times as long for 200
submissions, ``benchmarks/similarity_class.py --pair-loop``); the pairs
shown in the HTML report are compared again with ``compare_files`` for the
parts to mark (a test checks that both give the same shares).
A pair at or above the threshold (``THRESHOLD``) deserves a look; a high
score is a reason to read both submissions, not a verdict: short answers
written the one idiomatic way can be alike by themselves.

**The course's teaching library is one more "submission"** (``LIBRARY``):
the lectures use ``course.nn``, ``course.activations`` and
``course.gradcheck``, which students receive in the student edition and
which implement some of the functions the assignments ask for. For each
answer cell, the library's functions and classes of the same names as those
the released cell defines (read from the student edition's modules,
``course.edition.student_modules``) form its cell. A student paired with
the library is scored by the most alike cell (the mean of both sides'
shares), so one answer copied from the library is flagged however many
other cells the student wrote alone.
"""

import difflib
import html
import io
import json
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat
import numpy as np

from course.grader.answers import BEGIN, END, nbgrader_metadata

NOISE = 25  # characters of normalised code in one fingerprint (copydetect's default)
THRESHOLD = 0.5  # a pair at or above this score is flagged
TOP = 10  # pairs printed (and shown side by side in the HTML report)
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"  # nbgrader_config.py's code stub
LIBRARY = "(course library)"  # the teaching library, compared like a submission
_QUOTES = re.compile("\"\"\"|'''")


class SimilarityError(Exception):
    """The comparison could not run at all (no such assignment, no submissions)."""


@dataclass
class Cell:
    """One student's answer cell.

    ``lines``: the cell's source lines; ``given``: indexes of those that stand
    in the released cell; ``code``: the other lines (what the student wrote);
    ``spans``: per character of the normalised code, the (start, end) in
    ``code`` of the token it stands for; ``fingerprint``: copydetect's
    ``CodeFingerprint`` of the normalised code.
    """

    lines: list
    given: set
    code: str
    spans: object
    fingerprint: object


@dataclass
class Submission:
    """A readable submission: answer cell label -> Cell (cells it has)."""

    student: str
    cells: dict
    origins: dict = field(default_factory=dict)  # the library's: label -> its modules
    library: bool = False  # the teaching library, not a student


@dataclass
class Pair:
    """Two submissions compared (``a`` < ``b``).

    ``score``: matched normalised code over all normalised answer code of both;
    ``share_a``/``share_b``: the share of a's (b's) code that b (a) has too;
    ``cells``: label -> (share_a, share_b) of each answer cell with a match.
    """

    a: str
    b: str
    score: float
    share_a: float
    share_b: float
    cells: dict = field(default_factory=dict)


@dataclass
class SimilarityReport:
    """The outcome of comparing one assignment's submissions."""

    assignment: str
    course: Path
    labels: list  # the answer cells compared, in notebook order
    submissions: dict  # student -> Submission
    skipped: list  # (student, reason) of the submissions that could not be read
    pairs: list  # every Pair, highest score first
    threshold: float = THRESHOLD

    def flagged(self):
        """The pairs at or above the threshold, highest first."""
        return [p for p in self.pairs if p.score >= self.threshold]

    def students(self):
        """The students compared (every submission but the library's)."""
        return [s for s, sub in self.submissions.items() if not sub.library]

    def library(self):
        """The teaching library's ``Submission``, or None."""
        return next((sub for sub in self.submissions.values() if sub.library), None)


# --------------------------------------------------------------------------
# reading the course


def _notebooks(folder):
    return sorted(p for p in folder.glob("*.ipynb") if p.is_file())


def _given_code(source_path, release_path):
    """grade_id -> the released source of each code answer cell of one notebook.

    From the release when it has the cell, else rebuilt from the source: its
    lines outside ``### BEGIN/END SOLUTION`` with the code stub in between.
    """
    source = nbformat.read(source_path, as_version=4)
    released = {}
    if release_path.is_file():
        for cell in nbformat.read(release_path, as_version=4).cells:
            gid = nbgrader_metadata(cell).get("grade_id")
            if gid:
                released[gid] = cell.source
    given = {}
    for cell in source.cells:
        meta = nbgrader_metadata(cell)
        if not meta.get("solution") or cell.cell_type != "code":
            continue
        gid = meta["grade_id"]
        if gid in released:
            given[gid] = released[gid]
            continue
        out, inside = [], False
        for line in cell.source.split("\n"):
            if BEGIN in line:
                inside = True
                indent = line[:len(line) - len(line.lstrip())]
                out += [indent + s for s in STUB.split("\n")]
            elif END in line:
                inside = False
            elif not inside:
                out.append(line)
        given[gid] = "\n".join(out)
    return given


def _given_lines(given, lines):
    """Indexes of ``lines`` that stand, in order, in the given code.

    Aligned with difflib on stripped non-blank lines; then any other line
    equal to a given one (a given function moved). A matched run is kept
    (counted as the student's) if it opens or closes a triple-quoted string
    without the other end (dropping it would turn code into string) or has
    no letter or digit (a lone ``\"\"\"`` or bracket).
    """
    ref = [s.strip() for s in given.split("\n") if s.strip()]
    index = [i for i, s in enumerate(lines) if s.strip()]
    mine = [lines[i].strip() for i in index]
    found = set()
    matcher = difflib.SequenceMatcher(None, ref, mine, autojunk=False)
    for block in matcher.get_matching_blocks():
        if _droppable(mine[block.b:block.b + block.size]):
            found.update(index[block.b:block.b + block.size])
    # Given lines out of the release's order (functions swapped): one by one.
    ref_lines = set(ref)
    found.update(i for i, line in zip(index, mine)
                 if i not in found and line in ref_lines and _droppable([line]))
    return found


def _droppable(run):
    """Whether dropping these lines leaves code code: quotes balanced, not punctuation alone."""
    text = "\n".join(run)
    return bool(run) and not len(_QUOTES.findall(text)) % 2 and bool(re.search(r"\w", text))


def _cell(lines, given, boilerplate):
    """A student's ``Cell`` from its source lines and the released cell's code."""
    mine = _given_lines(given, lines)
    code = "\n".join(s for i, s in enumerate(lines) if i not in mine)
    normalised, spans = _normalise(code)
    return Cell(lines, mine, code, spans, _fingerprint(normalised, boilerplate))


def _fingerprint(normalised, boilerplate=frozenset()):
    """copydetect's ``CodeFingerprint`` of normalised code, less the boilerplate."""
    from copydetect import CodeFingerprint
    from copydetect.utils import get_token_coverage

    fingerprint = CodeFingerprint("cell.py", NOISE, 1, filter=False,
                                  fp=io.StringIO(normalised))
    if boilerplate:
        # Done here: copydetect 0.5's own boilerplate removal (np.intersect1d with
        # assume_unique=True on hashes that repeat) also drops every k-gram the
        # code has twice, e.g. the shared lines of two similar functions.
        fingerprint.hash_idx = {h: i for h, i in fingerprint.hash_idx.items()
                                if h not in boilerplate}
        fingerprint.hashes = set(fingerprint.hash_idx)
        fingerprint.token_coverage = get_token_coverage(
            fingerprint.hash_idx, NOISE, len(normalised))
    return fingerprint


@lru_cache(maxsize=1)
def _lexer():
    from pygments import lexers

    return lexers.get_lexer_by_name("python")


def _normalise(code):
    """copydetect's ``filter_code``, with the origin of every character kept.

    Returns (normalised code, (n, 2) array: per character the (start, end) in
    ``code`` of the token it stands for). copydetect's own offsets drift by a
    few characters around the whitespace it drops; these mark a match exactly.
    """
    from pygments import token

    variables = {token.Name, token.Name.Variable, token.Name.Attribute}
    out, spans = [], []
    for start, kind, value in _lexer().get_tokens_unprocessed(code):
        if kind in variables:
            text = "V"
        elif kind in token.Name.Function:
            text = "F"
        elif kind in token.Name.Class:
            text = "O"
        elif kind == token.Comment.Preproc or kind == token.Comment.Hashbang:
            text = "P"
        elif kind in token.Text or kind in token.Comment:
            text = ""
        elif kind in token.Literal.String:
            text = '"' if value in ("'", '"') else "S"
        else:
            text = value
        out.append(text)
        spans += [(start, start + len(value))] * len(text)
    return "".join(out), np.array(spans, dtype=np.int64).reshape(-1, 2)


def _boilerplate(given):
    """The set of every fingerprint of the released cells' code."""
    return {h for code in given for h in _fingerprint(_normalise(code)[0]).hashes}


def _read_notebook(path):
    """The notebook at ``path`` as plain JSON, or a one-line reason why it cannot be read.

    Only the cells' metadata and sources are used, so no nbformat validation:
    a notebook nbgrader would repair still has its answers compared.
    """
    try:
        nb = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return None, f"{path.name} is not UTF-8 text"
    except json.JSONDecodeError as exc:
        return None, f"{path.name} is not a notebook (not JSON: {exc})"
    except OSError as exc:
        return None, f"{path.name} cannot be read ({exc.strerror})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, f"{path.name} is not a notebook (no list of cells)"
    return nb, None


def _cell_sources(nb):
    """grade_id -> source of the notebook's answer cells (first of a duplicated id)."""
    found = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata") if isinstance(cell, dict) else None
        meta = meta.get("nbgrader") if isinstance(meta, dict) else None
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if isinstance(gid, str) and gid not in found and isinstance(source, str):
            found[gid] = source
    return found


# --------------------------------------------------------------------------
# comparing


def compare(assignment, course_dir=".", threshold=THRESHOLD):
    """Compare every pair of ``assignment``'s submissions; returns a ``SimilarityReport``.

    Reads ``solutions/<assignment>/*.ipynb`` (which cells are answers),
    ``assignments/<assignment>/`` (the given code) and
    ``submitted/*/<assignment>/`` under ``course_dir``. A submission that
    cannot be read is listed in ``skipped`` with its reason; no assignment or
    no submission folder at all is a ``SimilarityError``.
    """
    course = Path(course_dir).resolve()
    source_dir = course / "solutions" / assignment
    sources = _notebooks(source_dir) if source_dir.is_dir() else []
    if not sources:
        known = sorted(p.name for p in (course / "solutions").glob("*") if p.is_dir())
        raise SimilarityError(
            f"no assignment {assignment!r}: no notebooks in {source_dir}"
            + (f" (assignments: {', '.join(known)})" if known else ""))
    folders = sorted(p for p in (course / "submitted").glob(f"*/{assignment}")
                     if p.is_dir())
    if not folders:
        raise SimilarityError(
            f"no submissions of {assignment}: expected folders "
            f"submitted/<student>/{assignment}/ in {course}")

    given, labels = {}, []
    for nb_path in sources:
        cells = _given_code(nb_path, course / "assignments" / assignment / nb_path.name)
        for gid, code in cells.items():
            label = gid if len(sources) == 1 else f"{nb_path.stem}:{gid}"
            given[label] = (nb_path.name, gid, code)
            labels.append(label)
    boilerplate = _boilerplate(g[2] for g in given.values())

    submissions, skipped = {}, []
    for folder in folders:
        student = folder.parent.name
        cells, problems = {}, []
        for nb_path in sources:
            path = folder / nb_path.name
            if not path.is_file():
                problems.append(f"no {nb_path.name}")
                continue
            nb, problem = _read_notebook(path)
            if problem:
                problems.append(problem)
                continue
            found = _cell_sources(nb)
            for label, (name, gid, code) in given.items():
                if name == nb_path.name and gid in found:
                    cells[label] = _cell(found[gid].split("\n"), code, boilerplate)
        if problems:
            skipped.append((student, "; ".join(problems)))
        else:
            submissions[student] = Submission(student, cells)

    students = sorted(submissions)
    library = _library_submission(given, boilerplate)
    while library.student in submissions:  # a student's folder of that name
        library.student += "*"
    if library.cells and students:
        submissions[library.student] = library
        students.append(library.student)
    return SimilarityReport(assignment, course, labels, submissions, skipped,
                            _rank_pairs([submissions[s] for s in students], labels),
                            threshold)


_DEFINED = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)", re.M)


@lru_cache(maxsize=1)
def library_definitions():
    """name -> (module, source) of every top-level function and class of the
    ``course`` modules students receive (the student edition's).

    Where the package was installed without the course's notebooks (so what
    the lectures import cannot be read), every module of ``course`` but the
    instructors' (``course.edition.INSTRUCTOR_MODULES``).
    """
    import ast

    from course import edition

    try:
        modules = edition.student_modules(edition.REPO)
    except edition.EditionError:
        modules = set()
    if not modules:
        root = edition.REPO / edition.PACKAGE
        modules = {".".join(p.relative_to(edition.REPO).with_suffix("").parts).removesuffix(
                       ".__init__") for p in root.rglob("*.py")}
        modules = {m for m in modules if not edition.instructor_module(m)}
    found = {}
    for module in sorted(modules):
        path = edition.module_path(edition.REPO, module)
        text = path.read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.setdefault(node.name, (module, ast.get_source_segment(text, node)))
    return found


def _library_submission(given, boilerplate):
    """The teaching library as a ``Submission``: per answer cell, the library's
    definitions with the names the released cell defines."""
    definitions = library_definitions()
    cells, origins = {}, {}
    for label, (_, _, code) in given.items():
        names = [name for name in _DEFINED.findall(code) if name in definitions]
        if names:
            source = "\n\n".join(definitions[name][1] for name in names)
            cells[label] = _cell(source.split("\n"), code, boilerplate)
            origins[label] = sorted({definitions[name][0] for name in names})
    return Submission(LIBRARY, cells, origins, library=True)


def matched_chars(fingerprints):
    """For each ordered pair (i, j): how much of i's code j's fingerprints cover.

    ``fingerprints``: one copydetect ``CodeFingerprint`` (or None) per
    submission, all of the same cell. Returns (matched, coverage): ``matched``
    an (S, S) array, the characters of i's normalised code covered by the
    k-grams i shares with j (copydetect's ``compare_files`` token overlap, for
    every pair at once), and ``coverage`` (S,), each one's ``token_coverage``.
    """
    count = len(fingerprints)
    matched = np.zeros((count, count))
    coverage = np.array([f.token_coverage if f else 0.0 for f in fingerprints])
    ids = {}
    present = [f for f in fingerprints if f and f.hashes]
    for f in present:
        for h in f.hash_idx:
            ids.setdefault(h, len(ids))
    if not ids:
        return matched, coverage
    member = np.zeros((count, len(ids)), dtype=bool)
    for i, f in enumerate(fingerprints):
        if f and f.hashes:
            member[i, [ids[h] for h in f.hash_idx]] = True
    for i, f in enumerate(fingerprints):
        if not (f and f.hashes):
            continue
        where = [(p, ids[h]) for h, positions in f.hash_idx.items() for p in positions]
        positions = np.array([p for p, _ in where])
        shared = member[:, [k for _, k in where]]  # (S, n): k-gram at position shared?
        length = len(f.filtered_code)
        starts = np.zeros((count, length + 1), dtype=np.int32)
        starts[:, positions + 1] = shared
        starts = np.cumsum(starts, axis=1)  # starts[:, c + 1]: shared k-grams in 0..c
        chars = np.arange(length)
        low = np.maximum(chars - NOISE + 1, 0)
        covered = (starts[:, chars + 1] - starts[:, low]) > 0  # a shared k-gram covers c
        matched[i] = covered.sum(axis=1)
        matched[i, i] = 0
    return matched, coverage


def _rank_pairs(subs, labels):
    """Every pair of ``subs`` as a ``Pair``, highest score first."""
    count = len(subs)
    if count < 2:
        return []
    per_cell = {}
    for label in labels:
        per_cell[label] = matched_chars(
            [s.cells[label].fingerprint if label in s.cells else None for s in subs])
    matched = sum(m for m, _ in per_cell.values())
    coverage = sum(c for _, c in per_cell.values())
    both = matched + matched.T
    total = coverage[:, None] + coverage[None, :]
    score = np.divide(both, total, out=np.zeros_like(both), where=total > 0)
    share = np.divide(matched, coverage[:, None], out=np.zeros_like(matched),
                      where=coverage[:, None] > 0)
    if subs[-1].library:
        # Scored by its most alike cell: one function lifted from the library
        # is the finding, however many other cells the student wrote alone.
        lib, best = count - 1, np.zeros(count)
        m = sum(per_cell[label][0] for label in subs[-1].cells)
        c = sum(per_cell[label][1] for label in subs[-1].cells)
        for label in subs[-1].cells:
            cm, cc = per_cell[label]
            mine = np.divide(cm[:, lib], cc, out=np.zeros(count), where=cc > 0)
            theirs = cm[lib, :] / cc[lib] if cc[lib] else np.zeros(count)
            best = np.maximum(best, (mine + theirs) / 2)
        score[:, lib] = score[lib, :] = best
        share[:, lib] = np.divide(m[:, lib], c, out=np.zeros(count), where=c > 0)
        share[lib, :] = m[lib, :] / c[lib] if c[lib] else 0.0
    first, second = np.triu_indices(count, 1)
    order = sorted(range(len(first)), key=lambda n: (-round(score[first[n], second[n]], 12),
                                                     subs[first[n]].student,
                                                     subs[second[n]].student))
    pairs = []
    for n in order:
        i, j = int(first[n]), int(second[n])
        cells = {}
        for label, (m, c) in per_cell.items():
            if m[i, j] or m[j, i]:
                cells[label] = (m[i, j] / c[i] if c[i] else 0.0,
                                m[j, i] / c[j] if c[j] else 0.0)
        pairs.append(Pair(subs[i].student, subs[j].student, float(min(score[i, j], 1.0)),
                          float(share[i, j]), float(share[j, i]), cells))
    return pairs


def matches(report, pair, label):
    """The parts of ``pair``'s ``label`` cells the other has too, via copydetect.

    Returns (share_a, share_b, slices_a, slices_b): copydetect's
    ``compare_files`` shares, and 2xN arrays of start/end offsets in each
    cell's ``code`` (empty where nothing matched).
    """
    from copydetect import compare_files

    cell_a = report.submissions[pair.a].cells[label]
    cell_b = report.submissions[pair.b].cells[label]
    _, (share_a, share_b), (slices_a, slices_b) = compare_files(
        cell_a.fingerprint, cell_b.fingerprint)
    return (float(share_a), float(share_b), _raw_slices(cell_a, slices_a),
            _raw_slices(cell_b, slices_b))


def _raw_slices(cell, slices):
    """Slices (2xN) of the normalised code as slices of the cell's ``code``."""
    if not np.size(slices):
        return np.zeros((2, 0), dtype=np.int64)
    slices = np.asarray(slices, dtype=np.int64)
    return np.array([cell.spans[slices[0], 0], cell.spans[slices[1] - 1, 1]])


# --------------------------------------------------------------------------
# reporting


def _cells_text(pair):
    """The cells with a match as "label NN%, ...", most alike first (NN: mean of both shares)."""
    ranked = sorted(pair.cells.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))
    return ", ".join(f"{label} {round(50 * (sa + sb))}%" for label, (sa, sb) in ranked)


def report_text(report, top=TOP, html_path=None):
    """The terminal report: what was compared, what was skipped, the top pairs."""
    n = len(report.students())
    library = report.library()
    pairs = sum(1 for p in report.pairs if not library or library.student not in (p.a, p.b))
    lines = [f"{report.assignment}: {n} submission{'s' if n != 1 else ''} compared "
             f"({pairs} pairs) on the answer code of {len(report.labels)} "
             "cells, given code ignored"]
    if library:
        k = len(library.cells)
        lines.append(f"  each also with the course's teaching library, {library.student}, on "
                     f"the {k} cell{'s' if k != 1 else ''} it has code for")
    lines += [f"  skipped {s}: {why}" for s, why in report.skipped]
    flagged = report.flagged()
    lines.append(f"most similar pairs (score 0-1; {len(flagged)} at or above the "
                 f"threshold {report.threshold:g}):")
    if not report.pairs:
        lines.append("  (fewer than 2 readable submissions: nothing to compare)")
    width = max([len(f"{p.a} ~ {p.b}") for p in report.pairs[:top]] + [0])
    for rank, pair in enumerate(report.pairs[:top], 1):
        mark = "!" if pair.score >= report.threshold else " "
        names = f"{pair.a} ~ {pair.b}"
        cells = _cells_text(pair)
        lines.append(f"  {rank:>3}. {mark} {pair.score:.2f}  {names:<{width}}  "
                     f"{'cells: ' + cells if cells else 'no matching code'}")
    if html_path:
        lines.append(f"report: {html_path}")
    return "\n".join(lines)


_CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
tr.over td { background: #fde8e8; }
.pair { border-top: 2px solid #888; margin-top: 1.5em; }
.cell { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; margin: 0.5em 0 1em 0; }
pre { background: #f7f7f7; padding: 0.5em; overflow-x: auto; margin: 0;
      font-size: 0.85em; line-height: 1.35; white-space: pre; }
pre .given { color: #999; }
pre mark { background: #ffc0b0; }
.note { color: #555; font-size: 0.9em; }
"""


def _render_code(cell, slices):
    """The cell's lines as HTML: given lines grey, matched parts of the rest marked."""
    mask = np.zeros(len(cell.code) + 1, dtype=bool)
    for start, end in zip(slices[0], slices[1]):
        mask[int(start):int(end)] = True
    out, pos = [], 0
    for i, line in enumerate(cell.lines):
        if i in cell.given:
            out.append(f'<span class="given">{html.escape(line)}</span>')
            continue
        parts, j = [], 0
        while j < len(line):
            k = j
            while k < len(line) and mask[pos + k] == mask[pos + j]:
                k += 1
            text = html.escape(line[j:k])
            parts.append(f"<mark>{text}</mark>" if mask[pos + j] else text)
            j = k
        out.append("".join(parts))
        pos += len(line) + 1
    return "\n".join(out)


def html_report(report, top=TOP):
    """The report as one self-contained HTML page (no script, no external file).

    A table of the ``top`` highest pairs, then each of them at or above the
    threshold side by side, cell by cell: the given code grey, the code the
    other submission has too marked.
    """
    esc = html.escape
    flagged = report.flagged()
    shown = flagged[:top]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Similarity: {esc(report.assignment)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Similar submissions: {esc(report.assignment)}</h1>",
        f'<p class="note">{len(report.students())} submissions, {len(report.pairs)} '
        f"pairs compared on the answer code of {len(report.labels)} cells "
        "(code given in the release ignored; comments and whitespace dropped; "
        "names normalised). Score: the share of both submissions' answer code "
        "that the other has too, 0 to 1. "
        f"{len(flagged)} pairs at or above the threshold {report.threshold:g}. "
        "A high score is a reason to read both submissions, not a verdict.</p>",
    ]
    if report.library():
        parts.append(
            f'<p class="note">{esc(report.library().student)} is the code of the course\'s teaching '
            "library that students receive with the lectures (the functions of the "
            "same names as those each answer cell defines): a student paired with it "
            "is scored by the most alike cell.</p>")
    if report.skipped:
        parts.append("<p>Not compared:</p><ul>")
        parts += [f"<li>{esc(s)}: {esc(why)}</li>" for s, why in report.skipped]
        parts.append("</ul>")
    parts.append("<table><tr><th>#</th><th>score</th><th>students</th>"
                 "<th>share of each found in the other</th><th>cells</th></tr>")
    for rank, p in enumerate(report.pairs[:top], 1):
        over = p.score >= report.threshold
        name = (f'<a href="#pair{rank}">{esc(p.a)} ~ {esc(p.b)}</a>'
                if over and rank <= len(shown) else f"{esc(p.a)} ~ {esc(p.b)}")
        parts.append(f'<tr class="{"over" if over else ""}"><td>{rank}</td>'
                     f"<td>{p.score:.2f}</td><td>{name}</td>"
                     f"<td>{esc(p.a)} {p.share_a:.0%}, {esc(p.b)} {p.share_b:.0%}</td>"
                     f"<td>{esc(_cells_text(p))}</td></tr>")
    parts.append("</table>")
    if len(flagged) > len(shown):
        parts.append(f'<p class="note">{len(flagged) - len(shown)} more pairs at or above '
                     "the threshold are not shown (raise --top).</p>")
    for rank, p in enumerate(shown, 1):
        sub_a, sub_b = report.submissions[p.a], report.submissions[p.b]
        parts.append(f'<div class="pair" id="pair{rank}"><h2>{rank}. {esc(p.a)} ~ '
                     f"{esc(p.b)}: {p.score:.2f}</h2>")
        for label in report.labels:
            if label not in p.cells:
                continue
            share_a, share_b, slices_a, slices_b = matches(report, p, label)
            parts.append(f"<h3>{esc(label)}</h3><div class=\"cell\">")
            for student, sub, share, slices in ((p.a, sub_a, share_a, slices_a),
                                                (p.b, sub_b, share_b, slices_b)):
                where = (f": {', '.join(sub.origins.get(label, []))}"
                         if sub.library else "")
                parts.append(f"<div><b>{esc(student + where)}</b> ({share:.0%} of this cell "
                             "matched)<pre>" + _render_code(sub.cells[label], slices)
                             + "</pre></div>")
            parts.append("</div>")
        parts.append("</div>")
    if not shown:
        parts.append("<p>No pair is at or above the threshold.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(report, path, top=TOP):
    """Write ``html_report(report, top)`` to ``path``; returns the path."""
    path = Path(path)
    path.write_text(html_report(report, top), encoding="utf-8")
    return path


def summary_section(assignment, course_dir, top=5):
    """Lines for ``course grade``'s summary: the most similar pairs, where the report is.

    Writes the HTML report as ``similarity_<assignment>.html`` in ``course_dir``
    (beside grades.csv). Returns [] when fewer than 2 submissions could be read and none is
    flagged against the teaching library;
    a comparison that fails is one line saying why (grading is done by then).
    """
    try:
        report = compare(assignment, course_dir)
        if len(report.students()) < 2 and not report.flagged():
            return []
        path = write_html(report, Path(course_dir) / f"similarity_{assignment}.html")
    except Exception as exc:  # noqa: BLE001 - the grades stand; say why, go on
        return [f"Most similar submissions: not computed ({type(exc).__name__}: {exc})"]
    flagged = report.flagged()
    lines = [f"Most similar submissions (answer code, given code ignored; "
             f"{len(flagged)} pair{'s' if len(flagged) != 1 else ''} at or above "
             f"{report.threshold:g}):"]
    for p in flagged[:top]:
        lines.append(f"  {p.score:.2f}  {p.a} ~ {p.b}  ({_cells_text(p)})")
    if not flagged:
        best = report.pairs[0]
        lines.append(f"  none (highest: {best.score:.2f}, {best.a} ~ {best.b})")
    elif len(flagged) > top:
        lines.append(f"  ... and {len(flagged) - top} more")
    lines.append(f"  side by side: {path}")
    return lines


# --------------------------------------------------------------------------
# the command


def _cmd_similarity(args):
    try:
        if args.threshold is not None and not 0 <= args.threshold <= 1:
            raise SimilarityError(f"--threshold must be between 0 and 1, not {args.threshold}")
        if args.top < 1:
            raise SimilarityError(f"--top must be at least 1, not {args.top}")
        report = compare(args.assignment, args.course_dir,
                         THRESHOLD if args.threshold is None else args.threshold)
        out = Path(args.out) if args.out else (
            Path(args.course_dir) / f"similarity_{args.assignment}.html")
        try:
            write_html(report, out, args.top)
        except OSError as exc:
            raise SimilarityError(f"cannot write {out}: {exc.strerror}") from None
    except SimilarityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report_text(report, args.top, out.resolve()))
    return 0


def add_parser(commands):
    """Register ``course similarity`` on the ``course`` command's subparsers."""
    parser = commands.add_parser(
        "similarity",
        help="rank pairs of submissions by how alike their answer code is, "
             "with an HTML report")
    parser.add_argument("assignment", metavar="ASSIGNMENT", help="e.g. ps1_perceptron")
    parser.add_argument("--course-dir", default=".", metavar="DIR",
                        help="the course folder (with nbgrader_config.py); default: here")
    parser.add_argument("--out", metavar="FILE.html",
                        help="the HTML report (default: similarity_<assignment>.html "
                             "in the course folder)")
    parser.add_argument("--top", type=int, default=TOP, metavar="N",
                        help="pairs printed and shown side by side (default: %(default)d)")
    parser.add_argument("--threshold", type=float, metavar="T",
                        help=f"flag pairs at or above this score, 0-1 (default: {THRESHOLD:g})")
    parser.set_defaults(func=_cmd_similarity)

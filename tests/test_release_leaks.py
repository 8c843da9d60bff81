"""Nothing in assignments/ gives an answer or a hidden test away.

Every file under ``assignments/`` (all assignments) is read as a student
would get it and checked against every notebook under ``solutions/``:

- no line of solution code, hidden test, mark scheme or model answer (the
  lines nbgrader removes when it generates the release);
- no nbgrader region marker (``### BEGIN SOLUTION`` and friends);
- no metadata that could carry them: only the cell metadata nbgrader writes,
  no stored outputs or execution counts, no attachments, no widget state,
  no unknown notebook metadata, no secret text in any metadata value;
- no other file that could: checkpoints, compiled code, files named like a
  solution, or a text file defining a function students are asked to write.
"""

import json
import re
from functools import lru_cache

import nbformat
import pytest

from tests.notebook_tools import REPO, nbgrader_metadata, notebooks

RELEASE = REPO / "assignments"
RELEASE_FILES = sorted(p for p in RELEASE.rglob("*") if p.is_file())
MARKERS = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)")
OPENS = re.compile(r"BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)")
CLOSES = re.compile(r"END (SOLUTION|HIDDEN TESTS|MARK SCHEME)")
MIN_LENGTH = 12  # shorter lines ("return x", "else:") say nothing on their own

CELL_METADATA = {"nbgrader", "deletable", "editable", "tags"}
NBGRADER_METADATA = {"cell_type", "checksum", "grade", "grade_id", "locked", "points",
                     "schema_version", "solution", "task"}
NOTEBOOK_METADATA = {"kernelspec", "language_info"}
SUSPICIOUS_NAME = re.compile(r"solution|answer|hidden|rubric|mark.?scheme|reference",
                             re.IGNORECASE)
NOT_FOR_STUDENTS = re.compile(r"(^|/)(\.ipynb_checkpoints|__pycache__)(/|$)|\.py[co]$")


@lru_cache(maxsize=None)
def _solutions():
    """(secret lines, names students must define) from every solution notebook.

    Secret: lines inside solution, hidden-test and mark-scheme regions, and
    every line of an answer cell without markers (nbgrader replaces it
    whole), minus any line that also appears outside such regions somewhere
    (docstrings, signatures, given code), since those are public anyway.
    """
    secret, public, names = set(), set(), set()
    for path in notebooks("solutions"):
        for cell in nbformat.read(path, as_version=4).cells:
            lines = cell.source.split("\n")
            whole = (nbgrader_metadata(cell).get("solution")
                     and not any(MARKERS.search(line) for line in lines))
            inside = False
            for line in lines:
                if OPENS.search(line):
                    inside = True
                elif CLOSES.search(line):
                    inside = False
                else:
                    (secret if inside or whole else public).add(line.strip())
            if nbgrader_metadata(cell).get("solution") and cell.cell_type == "code":
                names |= set(re.findall(r"^(?:def|class)\s+(\w+)", cell.source, re.M))
    secret = frozenset(s for s in secret - public if len(s) >= MIN_LENGTH)
    return secret, frozenset(names)


def _leaked_lines(text):
    secret, _ = _solutions()
    return sorted({line.strip() for line in text.split("\n")} & secret)


def _strings(value):
    """Every string inside a JSON value (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _notebook_problems(notebook):
    problems = []
    extra = set(notebook.get("metadata", {})) - NOTEBOOK_METADATA
    if extra:
        problems.append(f"notebook metadata {sorted(extra)} (widget state?)")
    for index, cell in enumerate(notebook.get("cells", [])):
        name = nbgrader_metadata(cell).get("grade_id", cell["cell_type"])
        where = f"cell {index} ({name})"
        source = "".join(cell.get("source", ""))
        leaked = _leaked_lines(source)
        if leaked:
            problems.append(f"{where}: solution or hidden-test lines {leaked[:3]}")
        meta = cell.get("metadata", {})
        if set(meta) - CELL_METADATA:
            extra = sorted(set(meta) - CELL_METADATA)
            problems.append(f"{where}: cell metadata {extra}")
        if set(nbgrader_metadata(cell)) - NBGRADER_METADATA:
            extra = sorted(set(nbgrader_metadata(cell)) - NBGRADER_METADATA)
            problems.append(f"{where}: nbgrader metadata {extra}")
        if not all(isinstance(tag, str) for tag in meta.get("tags", [])):
            problems.append(f"{where}: tags that are not strings")
        if cell.get("outputs") or cell.get("execution_count") is not None:
            problems.append(f"{where}: stored outputs or an execution count")
        if cell.get("attachments"):
            problems.append(f"{where}: attachments {sorted(cell['attachments'])}")
    metadata = [notebook.get("metadata", {})] + [
        {k: v for k, v in c.get("metadata", {}).items() if k != "nbgrader"}
        for c in notebook.get("cells", [])]
    for text in (s for m in metadata for s in _strings(m)):
        leaked = _leaked_lines(text)
        if leaked:
            problems.append(f"metadata holds solution or hidden-test lines "
                            f"{leaked[:3]}")
        if SUSPICIOUS_NAME.search(text) and not text.startswith(("python", "Python")):
            problems.append(f"metadata mentions {text[:60]!r}")
    return problems


def _other_file_problems(path, text):
    problems = []
    relative = path.relative_to(RELEASE).as_posix()
    if NOT_FOR_STUDENTS.search(relative):
        problems.append("checkpoints or compiled code: never part of a release")
    if SUSPICIOUS_NAME.search(path.name):
        problems.append("named like a solution")
    if text is not None:
        leaked = _leaked_lines(text)
        if leaked:
            problems.append(f"solution or hidden-test lines {leaked[:3]}")
        _, names = _solutions()
        defined = set(re.findall(r"^\s*(?:def|class)\s+(\w+)", text, re.M)) & names
        if defined:
            problems.append(f"defines {sorted(defined)}, which students are asked "
                            "to write")
    return problems


def test_every_assignment_has_released_files_to_scan():
    """The scan below is not vacuous: each assignment in solutions/ is released."""
    for source in sorted(p for p in (REPO / "solutions").iterdir() if p.is_dir()):
        assert any(RELEASE / source.name in f.parents for f in RELEASE_FILES), (
            f"assignments/{source.name} is missing; run `make release`")
    assert _solutions()[0], "no solution lines found to look for"


@pytest.mark.parametrize("path", RELEASE_FILES,
                         ids=[p.relative_to(RELEASE).as_posix() for p in RELEASE_FILES])
def test_released_file_gives_nothing_away(path):
    """No marker, solution line, hidden test or telling metadata in a released file."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    problems = []
    if text is not None and MARKERS.search(text):
        problems.append(f"an nbgrader region marker: {MARKERS.search(text).group(0)!r}")
    if path.suffix == ".ipynb" and not NOT_FOR_STUDENTS.search(path.as_posix()):
        problems += _notebook_problems(json.loads(text))
    else:
        problems += _other_file_problems(path, text)
    assert not problems, f"assignments/{path.relative_to(RELEASE)} gives away:\n" + (
        "\n".join(f"- {p}" for p in problems))


def test_the_scan_finds_planted_leaks():
    """A solution line, an output, an attachment and widget state are all caught."""
    path = next(p for p in RELEASE_FILES if p.suffix == ".ipynb")
    notebook = json.loads(path.read_text(encoding="utf-8"))
    secret = sorted(_solutions()[0])[0]
    cell = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    cell["source"] = cell["source"] + ["\n", secret]
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
    cell["metadata"]["solution_note"] = secret
    notebook["cells"][0]["attachments"] = {"answer.png": {"image/png": ""}}
    notebook["metadata"]["widgets"] = {"state": {}}
    found = "\n".join(_notebook_problems(notebook))
    for expected in ["solution or hidden-test lines", "stored outputs", "attachments",
                     "notebook metadata ['widgets']", "cell metadata ['solution_note']",
                     "metadata holds solution"]:
        assert expected in found, (expected, found)
    name = sorted(_solutions()[1])[0]
    text = f"def {name}(x):\n    return x\n"
    assert any("students are asked to write" in p
               for p in _other_file_problems(RELEASE / "ps0" / "helpers.py", text))
    checkpoint = RELEASE / "ps0" / ".ipynb_checkpoints" / "a.ipynb"
    assert _other_file_problems(checkpoint, "{}")

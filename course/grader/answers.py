"""Answer cells of a source notebook: what a student writes, and where.

Used by ``course mutants`` (which mutates only what a student would write)
and by the tests that build pretend submissions.
"""

from collections import namedtuple

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
AnswerCell = namedtuple("AnswerCell", "answer regions cell_type")


def nbgrader_metadata(cell):
    """The cell's nbgrader metadata dict, or {} for an ordinary cell."""
    return cell.get("metadata", {}).get("nbgrader", {})


def answer_cells(source_path):
    """grade_id -> AnswerCell(answer, regions, cell_type) of each answer cell.

    ``answer`` is the cell with its ``### BEGIN/END SOLUTION`` marker lines
    dropped (what a student who got it right would have written);
    ``regions`` lists the (first, last) line numbers (1-based, inclusive, in
    ``answer``) that stood between the markers: the student's part.
    """
    source = nbformat.read(source_path, as_version=4)
    cells = {}
    for cell in source.cells:
        meta = nbgrader_metadata(cell)
        if not meta.get("solution"):
            continue
        lines, regions, start = [], [], None
        for line in cell.source.split("\n"):
            if BEGIN in line:
                start = len(lines) + 1
            elif END in line:
                if start is not None and len(lines) >= start:
                    regions.append((start, len(lines)))
                start = None
            else:
                lines.append(line)
        cells[meta["grade_id"]] = AnswerCell("\n".join(lines), regions, cell.cell_type)
    return cells


def solution_answers(source_path):
    """grade_id -> the reference answer of each answer cell (markers dropped)."""
    return {gid: cell.answer for gid, cell in answer_cells(source_path).items()}


def fill_answers(notebook, answers):
    """A copy of a released notebook with some answer cells replaced.

    ``answers`` maps an answer cell's ``grade_id`` to the code (or markdown)
    written there; a grade_id the notebook does not have is a ``KeyError``.
    """
    filled = nbformat.from_dict(notebook)
    unknown = set(answers)
    for cell in filled.cells:
        gid = nbgrader_metadata(cell).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
            unknown.discard(gid)
    if unknown:
        raise KeyError(f"no answer cells with grade_id {sorted(unknown)}")
    return filled

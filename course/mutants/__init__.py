"""``course mutants``: how many plausible bugs do an assignment's hidden tests catch?

``run(assignment, course_dir)`` takes the solution's answer cells, makes
every mutant of the student's part (:mod:`course.mutants.operators`: an
operator swapped, a constant off by one, an axis changed, a transpose added
or dropped, a term dropped, arguments swapped, a slice shifted, a copy turned
into an in-place update, an early return, a parameter ignored, ...), and
grades them all as one class with ``course grade``'s own machinery
(:func:`course.autograde.grade_assignment`, in a throw-away copy of the
course: the instructor's gradebook is never touched). A mutant is

- **killed** when it scores less than the solution on some auto-graded cell
  (or its submission fails);
- **probably equivalent** when it survives and gives the solution's results
  on the notebook's own calls and on random variations of them
  (:mod:`course.mutants.equivalence`);
- a **survivor** otherwise: a plausible bug the hidden tests let through.

The kill rate is killed / (killed + survivors), per graded function and for
the assignment. ``quick=True`` grades a sample: at most ``QUICK_PER_FUNCTION``
mutants of each function, of different operators.
"""

import csv
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course.grader.answers import answer_cells, fill_answers, solution_answers
from course.mutants import equivalence
from course.mutants.operators import Mutant, mutants

QUICK_PER_FUNCTION = 4
SOLUTION_STUDENT = "solution"
CSV_FIELDS = ("id", "notebook", "grade_id", "function", "operator", "line", "status",
              "lost", "why", "before", "after")


class MutantsError(Exception):
    """The run cannot go on (no such assignment, the solution loses points)."""


@dataclass
class Outcome:
    """One mutant, graded."""

    id: str
    notebook: str
    mutant: Mutant
    answer: str               # the solution's answer cell it changes
    status: str = "survived"  # "killed", "survived" or "equivalent"
    lost: list = field(default_factory=list)  # test cells that lost points
    why: str = ""

    def row(self):
        m = self.mutant
        return {"id": self.id, "notebook": self.notebook, "grade_id": m.grade_id,
                "function": m.function, "operator": m.operator, "line": m.line,
                "status": self.status, "lost": " ".join(self.lost), "why": self.why,
                "before": m.before, "after": m.after}


@dataclass
class MutantsRun:
    """The outcome of one ``course mutants`` run."""

    assignment: str
    outcomes: list
    seconds: float
    quick: bool
    csv_path: Path = None

    def counts(self, outcomes=None):
        """(killed, survived, equivalent) of ``outcomes`` (default: all)."""
        outcomes = self.outcomes if outcomes is None else outcomes
        return tuple(sum(o.status == s for o in outcomes)
                     for s in ("killed", "survived", "equivalent"))

    def kill_rate(self, outcomes=None):
        killed, survived, _ = self.counts(outcomes)
        return killed / (killed + survived) if killed + survived else 1.0

    def by_function(self):
        groups = defaultdict(list)
        for outcome in self.outcomes:
            groups[outcome.mutant.function].append(outcome)
        return dict(groups)


def plan(assignment, course_dir=".", quick=False, functions=None):
    """[(notebook name, Mutant, solution answer)] of an assignment's solution."""
    course = Path(course_dir).resolve()
    source = course / "solutions" / assignment
    if not source.is_dir():
        known = sorted(p.name for p in (course / "solutions").glob("*") if p.is_dir())
        raise MutantsError(f"no assignment {assignment!r} in {course / 'solutions'}"
                           f" (there are: {', '.join(known) or 'none'})")
    planned = []
    for path in sorted(source.glob("*.ipynb")):
        for grade_id, cell in answer_cells(path).items():
            if cell.cell_type != "code":
                continue
            for mutant in mutants(grade_id, cell.answer, cell.regions):
                if functions and mutant.function.split(".")[0] not in functions \
                        and mutant.function not in functions:
                    continue
                planned.append((path.name, mutant, cell.answer))
    if quick:
        planned = _sample(planned, QUICK_PER_FUNCTION)
    return planned


def _sample(planned, per_function):
    """At most ``per_function`` mutants of each function, operators spread out."""
    groups = defaultdict(list)
    for item in planned:
        groups[item[1].function].append(item)
    chosen = []
    for items in groups.values():
        by_operator = defaultdict(list)
        for item in items:
            by_operator[item[1].operator].append(item)
        pools = [random.Random(7).sample(v, len(v)) for _, v in sorted(by_operator.items())]
        random.Random(11).shuffle(pools)
        picked = []
        while len(picked) < per_function and any(pools):
            for pool in pools:
                if pool and len(picked) < per_function:
                    picked.append(pool.pop())
        chosen += picked
    order = {id(item): i for i, item in enumerate(planned)}
    return sorted(chosen, key=lambda item: order[id(item)])


def run(assignment, course_dir=".", workers=None, quick=False, functions=None,
        isolation=True, progress=False, equivalence_seconds=10.0, csv_path=None):
    """Grade every mutant of ``assignment``; returns a :class:`MutantsRun`."""
    from course import autograde

    start = time.perf_counter()
    course = Path(course_dir).resolve()
    planned = plan(assignment, course, quick=quick, functions=functions)
    if not planned:
        raise MutantsError(f"{assignment} has no answer code to mutate"
                           + (f" in {', '.join(functions)}" if functions else ""))
    release = course / "assignments" / assignment
    if not release.is_dir():
        raise MutantsError(f"no release of {assignment} in {release.parent}: run "
                           "`make release` (nbgrader generate_assignment) first")
    outcomes = [Outcome(f"m{i:04d}", name, mutant, answer)
                for i, (name, mutant, answer) in enumerate(planned, 1)]
    with autograde.scratch_course(course, assignment) as copy:
        _write_submissions(copy, assignment, outcomes)
        try:
            graded = autograde.grade_assignment(
                assignment, course_dir=copy, workers=workers, progress=progress,
                isolation=isolation, class_reports=False)
        except autograde.GradingError as exc:
            raise MutantsError(str(exc)) from None
        _judge(graded, outcomes)
        _check_equivalence(course, assignment, outcomes, equivalence_seconds, progress)
    result = MutantsRun(assignment, outcomes, time.perf_counter() - start, quick)
    result.csv_path = write_csv(result, csv_path or course / f"mutants_{assignment}.csv")
    return result


def _write_submissions(course, assignment, outcomes):
    """One pretend student per mutant, and the solution as student ``solution``."""
    release = course / "assignments" / assignment
    notebooks = {p.name: nbformat.read(p, as_version=4) for p in release.glob("*.ipynb")}
    answers = {name: solution_answers(course / "solutions" / assignment / name)
               for name in notebooks}
    students = [(SOLUTION_STUDENT, None)] + [(o.id, o) for o in outcomes]
    for student, outcome in students:
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        for name, notebook in notebooks.items():
            filled = dict(answers[name])
            if outcome is not None and outcome.notebook == name:
                filled[outcome.mutant.grade_id] = outcome.mutant.source
            nbformat.write(fill_answers(notebook, filled), folder / name)


def _judge(graded, outcomes):
    """Killed or not, from each mutant's scores against the solution's."""
    students = {s.student: s for s in graded.students}
    solution = students.get(SOLUTION_STUDENT)
    if solution is None or solution.status != "graded":
        raise MutantsError("the solution itself could not be graded: "
                           + "; ".join(solution.problems if solution else ["missing"]))
    auto = {gid: score for gid, (score, manual) in solution.cells.items() if not manual}
    full = {gid: max_score for gid, max_score, kind in graded.cells if kind == "code"}
    short = [gid for gid, score in auto.items() if gid in full and score < full[gid]]
    if short:
        raise MutantsError("the solution itself loses points in " + ", ".join(short)
                           + ": fix the assignment before measuring its tests")
    for outcome in outcomes:
        result = students[outcome.id]
        if result.status != "graded":
            outcome.status, outcome.why = "killed", "; ".join(result.problems)[:200]
            outcome.lost = ["(submission failed)"]
            continue
        outcome.lost = [gid for gid, score in auto.items()
                        if result.cells.get(gid, (0, False))[0] < score]
        if outcome.lost:
            outcome.status = "killed"


def _check_equivalence(course, assignment, outcomes, seconds, progress):
    """Survivors that compute what the solution computes become "equivalent"."""
    survivors = defaultdict(dict)
    for outcome in outcomes:
        if outcome.status == "survived":
            m = outcome.mutant
            survivors[outcome.notebook][outcome.id] = (m.grade_id, m.function, m.source)
    for notebook, jobs in survivors.items():
        if progress:
            print(f"checking {len(jobs)} survivors of {notebook} for equivalence "
                  f"(up to {seconds:.0f} s each) ...", flush=True)
        results = equivalence.check(course / "solutions" / assignment / notebook, jobs,
                                    seconds_each=seconds)
        for outcome in outcomes:
            if outcome.id in results:
                verdict = results[outcome.id]
                outcome.why = verdict["why"]
                if verdict["equivalent"]:
                    outcome.status = "equivalent"


def write_csv(result, path):
    """One row per mutant (``CSV_FIELDS``); returns the path."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for outcome in result.outcomes:
            writer.writerow(outcome.row())
    return path


def report(result, show_survivors=20):
    """The terminal report: a table per function, then the survivors' diffs."""
    rows = [("function", "mutants", "killed", "survived", "equivalent", "kill rate")]
    for function, outcomes in result.by_function().items():
        killed, survived, equivalent = result.counts(outcomes)
        rows.append((function, str(len(outcomes)), str(killed), str(survived),
                     str(equivalent), f"{result.kill_rate(outcomes):.0%}"))
    killed, survived, equivalent = result.counts()
    rows.append(("all", str(len(result.outcomes)), str(killed), str(survived),
                 str(equivalent), f"{result.kill_rate():.1%}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"course mutants {result.assignment}"
             + (" (quick sample)" if result.quick else "")
             + f": {len(result.outcomes)} mutants in {result.seconds:.0f} s"]
    for i, row in enumerate(rows):
        if i == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(cell.ljust(w) if j == 0 else cell.rjust(w)
                               for j, (cell, w) in enumerate(zip(row, widths))))
    survivors = [o for o in result.outcomes if o.status == "survived"]
    if survivors:
        lines.append("")
        lines.append(f"survivors (bugs the hidden tests let through): {len(survivors)}")
        for outcome in survivors[:show_survivors]:
            lines.append(f"\n{outcome.id} {outcome.mutant.function} "
                         f"[{outcome.mutant.operator}]: {outcome.why}")
            lines.append(outcome.mutant.diff(outcome.answer).rstrip())
        if len(survivors) > show_survivors:
            lines.append(f"\n... and {len(survivors) - show_survivors} more in the CSV")
    equivalents = [o for o in result.outcomes if o.status == "equivalent"]
    if equivalents:
        lines.append("")
        lines.append(f"probably equivalent (same results on random inputs): "
                     f"{len(equivalents)}")
        for outcome in equivalents[:show_survivors]:
            m = outcome.mutant
            lines.append(f"  {outcome.id} {m.function} line {m.line} [{m.operator}]: "
                         f"{m.before or '(new line)'}  ->  {m.after or '(removed)'}")
    if result.csv_path:
        lines.append(f"\nevery mutant: {result.csv_path}")
    return "\n".join(lines)

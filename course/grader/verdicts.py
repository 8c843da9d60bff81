"""Verdicts: a student's recorded values against the references, in the grader.

The student's kernel ran a test cell in its student form
(:mod:`course.grader.sites`), which sent one record per check it reached:
``{"site": n, "value": <plain data>}`` as a ``display_data`` output of type
:data:`course.checks.RECORD_MIME`. :func:`decide` matches them with the
references of the same cell (:mod:`course.grader.references`): the k-th run
of site n in the student's kernel with the k-th run of site n in the
solution's. Every reference check must have a record that passes
:func:`course.checkvalues.compare`; then the cell earns its points.

:func:`verdict_outputs` makes the cell's outputs from the verdict alone. Every
output the student's kernel produced in a test cell is dropped: results,
displays, streams and errors give no points and take none, and nothing
produced while a hidden test ran can reach the feedback. nbgrader then scores
the cell as usual: 0 if it has an ``error`` output, its points otherwise.
"""

import builtins
import html
import re
from dataclasses import dataclass, field

import nbformat

from course.checks import RECORD_MIME
from course.checkvalues import compare, decode

VERDICT_MIME = "application/vnd.ann-course.verdict+json"
MAX_RECORDS = 10_000
_ARGUMENTS = re.compile(r"\(([^()]*)\)")
_LITERAL = re.compile(r"[0-9'\"\[]")
_BUILTIN_ERRORS = {name for name, value in vars(builtins).items()
                   if isinstance(value, type) and issubclass(value, BaseException)}


def public_name(name):
    """A check's name without literal arguments: ``"f(X, w=[1, 2])"`` -> ``"f(...)"``.

    Passed checks are listed by name in the feedback; a hidden test's inputs
    should not be.
    """
    return _ARGUMENTS.sub(lambda m: "(...)" if _LITERAL.search(m.group(1)) else m.group(0),
                          str(name)[:120])


@dataclass
class Verdict:
    """One test cell: passed or not, and each check's result."""
    passed: bool
    checks: list = field(default_factory=list)   # {"name", "status", "message"}
    problem: str = ""                              # why checks did not run


def student_records(outputs):
    """[(site, value)] in the order the kernel sent them; values decoded."""
    records = []
    for output in outputs:
        data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
        record = data.get(RECORD_MIME)
        if not isinstance(record, dict) or type(record.get("site")) is not int:
            continue
        records.append((record["site"], decode(record.get("value"))))
        if len(records) >= MAX_RECORDS:
            break
    return records


def why_stopped(outputs):
    """A safe sentence on why a test cell stopped early, from its error output.

    Only what the grader can vouch for is said: the name of a built-in
    exception, or that the cell was stopped for time. A student's own
    message is never repeated: it could carry text of a hidden test.
    """
    for output in outputs:
        if output.get("output_type") != "error":
            continue
        ename = str(output.get("ename", ""))
        if ename == "CellTimeoutError":
            return "the cell ran past its time limit and was stopped"
        if ename == "NotebookTimeoutError":
            return "the notebook's time budget was used up before this cell"
        if ename in _BUILTIN_ERRORS:
            return f"your code raised {ename}"
        return "your code raised an exception"
    return ""


def decide(references, records, stopped=""):
    """The verdict on one cell; ``references``: [(site, kind, spec)].

    ``stopped``: why the cell's run ended in an error (:func:`why_stopped`);
    a cell that did not finish never passes, whatever was recorded.
    """
    runs = {}
    for site, value in records:
        runs.setdefault(site, []).append(value)
    seen, checks = {}, []
    for site, kind, spec in references:
        k = seen.get(site, 0)
        seen[site] = k + 1
        name = public_name(spec.get("name") or f"check {site + 1}")
        values = runs.get(site, [])
        if k >= len(values):
            checks.append({"name": name, "status": "not run", "message": None})
            continue
        try:
            message = compare(kind, values[k], spec)
        except Exception as exc:  # a student's value must never stop the grader
            message = (f"{name}: the value could not be checked "
                       f"({type(exc).__name__}: {str(exc)[:200]})")
        checks.append({"name": name, "status": "failed" if message else "passed",
                       "message": message})
    passed = (bool(checks) and all(c["status"] == "passed" for c in checks)
              and not stopped)
    problem = ""
    if any(c["status"] == "not run" for c in checks):
        problem = "the test stopped before these checks ran" + (
            f": {stopped}" if stopped else "")
    elif stopped:
        # Every check had a value, yet the cell did not finish: values that
        # came from anywhere but a finished test are not a pass.
        problem = f"the test did not finish: {stopped}"
    if not checks:
        problem = "this test has no checks the grader can decide"
    return Verdict(passed, checks, problem)


def _summary(verdict):
    total = len(verdict.checks)
    passed = sum(c["status"] == "passed" for c in verdict.checks)
    lines = [f"{passed} of {total} checks passed."]
    for check in verdict.checks:
        if check["status"] == "failed":
            lines.append(check["message"])
            break
    if verdict.problem:
        lines.append(_sentence(verdict.problem))
    return lines


def _sentence(text):
    return text[:1].upper() + text[1:] + "."


def verdict_outputs(verdict):
    """The outputs a graded test cell gets: the verdict, and an error if it failed."""
    lines = _summary(verdict)
    data = {
        "text/plain": "\n".join(lines),
        "text/html": render_html(verdict),
        VERDICT_MIME: {"passed": verdict.passed, "checks": verdict.checks,
                       "problem": verdict.problem},
    }
    outputs = [nbformat.v4.new_output("display_data", data=data)]
    if not verdict.passed:
        failed = next((c["message"] for c in verdict.checks if c["status"] == "failed"),
                      None)
        message = failed or verdict.problem or "the test failed"
        outputs.append(nbformat.v4.new_output(
            "error", ename="AssertionError", evalue=message,
            traceback=[f"AssertionError: {message}"]))
    return outputs


def render_html(verdict):
    """The verdict as a list: passed checks (consecutive repeats counted),
    the first failed one with its message and the later ones by name, and
    those that did not run."""
    items, last = [], None
    for check in verdict.checks:
        if check["status"] == "passed" and last and last["status"] == "passed" \
                and last["name"] == check["name"]:
            last["count"] += 1
            continue
        last = dict(check, count=1)
        items.append(last)
    rows, explained = [], False
    for item in items:
        name = html.escape(str(item["name"])[:200])
        if item["status"] == "passed":
            times = f" &times;{item['count']}" if item["count"] > 1 else ""
            rows.append(f"<li>&#10004; {name}{times}</li>")
        elif item["status"] == "failed" and not explained:
            # The first failure in full; later ones by name, so that the
            # feedback does not spell out every hidden input and answer.
            rows.append(f"<li>&#10008; <pre>{html.escape(item['message'])}</pre></li>")
            explained = True
        elif item["status"] == "failed":
            rows.append(f"<li>&#10008; {name}: failed too</li>")
        else:
            rows.append(f"<li>&#8211; {name}: not run</li>")
    problem = (f"<p>{html.escape(_sentence(verdict.problem))}</p>"
               if verdict.problem else "")
    head = "All checks passed." if verdict.passed else "Some checks did not pass."
    return f"<div class='course-verdict'><p>{head}</p><ul>{''.join(rows)}</ul>{problem}</div>"

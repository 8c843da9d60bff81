"""Feedback that says what failed without giving the hidden tests away.

``nbgrader generate_feedback`` renders the autograded notebook, which holds
every hidden test, to HTML for the student. ``HideHiddenTests`` runs in that
conversion (``GenerateFeedback.preprocessors`` in ``nbgrader_config.py``,
after ``GetGrades``, which puts the scores in), and for every cell:

- removes the ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region
  (nbgrader's own ``ClearHiddenTests`` code) and says that it did; the
  visible tests before it stay;
- reduces each error to its exception type and message: IPython tracebacks
  quote the lines of the cell, which are hidden test code;
- turns the check log that ``course.grading`` published while autograding
  (a ``display_data`` output of type ``course.grading.CHECKS_MIME``) into a
  list: which checks passed (by name, without their arguments), the failing
  check's message, and that the checks after a failure did not run;
- replaces any output line that quotes a hidden test line (a warning that
  prints the line it came from, for example) with a placeholder.

The autograded notebook itself, which only instructors see, is not changed.
"""

import html

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import ClearHiddenTests

REDACTED = "[a line of the hidden tests, not shown]"
PLACEHOLDER = "# Hidden tests ran here; their code is not shown. Results are below."
# Shorter lines ("else:", "return x") are too common to tell hidden code apart.
MIN_HIDDEN_LINE = 10


class HideHiddenTests(ClearHiddenTests):
    """Feedback without hidden test code: see the module docstring.

    The begin and end delimiters are ``ClearHiddenTests``' configuration.
    """

    def preprocess(self, nb, resources):
        """Find the hidden lines of the whole notebook first, then each cell."""
        from course.grading import CHECKS_MIME  # imported here: only feedback needs it

        self.mime = CHECKS_MIME
        self.hidden = self.hidden_lines(nb)
        # Skip ClearHiddenTests.preprocess: feedback keeps the notebook metadata.
        return Preprocessor.preprocess(self, nb, resources)

    def hidden_lines(self, nb):
        """Lines (stripped) of hidden test regions that no other source contains."""
        inside, outside = set(), set()
        for cell in nb.cells:
            hidden = False
            for line in cell.source.split("\n"):
                if self.begin_test_delimeter in line:
                    hidden = True
                elif self.end_test_delimeter in line:
                    hidden = False
                else:
                    (inside if hidden else outside).add(line.strip())
        visible = "\n".join(outside)
        return {line for line in inside
                if len(line) >= MIN_HIDDEN_LINE and line not in visible}

    def preprocess_cell(self, cell, resources, cell_index):
        if self._remove_hidden_test_region(cell):
            cell.source = cell.source.rstrip("\n") + "\n" + PLACEHOLDER
            hidden_tests = True
        else:
            hidden_tests = False
        if cell.cell_type == "code":
            cell.outputs = self.outputs(cell.outputs, hidden_tests)
        return cell, resources

    def outputs(self, outputs, hidden_tests):
        """The outputs a student may see, with the check log rendered last."""
        kept, checks, error, stderr = [], [], None, False
        for output in outputs:
            data = output.get("data", {})
            if output.output_type == "display_data" and self.mime in data:
                log = data[self.mime]
                if isinstance(log, dict):
                    for entry in log.get("checks", []):
                        if isinstance(entry, dict):
                            if "message" in entry:
                                entry["message"] = self.redact(str(entry["message"]))
                            checks.append(entry)
                    omitted = log.get("omitted", 0)
                    if isinstance(omitted, int) and omitted > 0:
                        checks.append({"omitted": omitted})
                continue
            if output.output_type == "error":
                output.evalue = self.redact(str(output.get("evalue", "")))
                output.traceback = [f"{output.get('ename', 'Error')}: {output.evalue}"]
                error = error or output
            elif output.output_type == "stream":
                output.text = self.redact(output.get("text", ""))
                stderr = stderr or output.get("name") == "stderr"
            for mime, value in data.items():
                if mime.startswith("text/") and isinstance(value, str):
                    data[mime] = self.redact(value)
            kept.append(output)
        if checks or hidden_tests:
            kept.append(nbformat.v4.new_output(
                "display_data", data={"text/html": render_checks(checks, error, stderr)}))
        return kept

    def redact(self, text):
        """``text`` with every line that quotes a hidden test line replaced."""
        if not self.hidden or not text:
            return text
        return "\n".join(
            REDACTED if any(hidden in line for hidden in self.hidden) else line
            for line in text.split("\n"))


def render_checks(checks, error, stderr=False):
    """HTML for one cell's check log (entries as course.grading records them).

    ``error``: the cell's error output, if any; ``stderr``: whether the cell
    wrote to stderr (left as stderr only outside the course's autograde, whose
    ``WarningsAsText`` relabels it).
    """
    items = []
    for entry in checks:
        if "omitted" in entry:
            items.append(_item("passed", f"... and {entry['omitted']} more checks "
                                         "(not listed)"))
        elif entry.get("passed"):
            name = entry.get("name") or "a condition"
            count = entry.get("count", 1)
            times = f" ({count} checks)" if isinstance(count, int) and count > 1 else ""
            items.append(_item("passed", f"passed: {name}{times}"))
        else:
            message = str(entry.get("message", ""))
            items.append(_item("failed", "failed:", f"<pre>{html.escape(message)}</pre>"))
    if error is not None:
        last_failed = bool(checks) and checks[-1].get("passed") is False
        reason = ("" if last_failed else
                  f" because of {error.get('ename', 'an error')}: {error.evalue}")
        items.append(_item("not-run", f"not run: the checks after this point{reason}"))
    elif stderr:
        items.append(_item("failed", "the cell wrote to stderr (shown above): "
                                     "without the course's WarningsAsText, nbgrader "
                                     "scores such a test cell 0"))
    elif not checks:
        items.append(_item("passed", "no checks were recorded for this cell"))
    else:
        items.append(_item("passed", "every check of this cell passed"))
    return ('<div class="course-checks"><p><strong>Checks of this cell</strong> '
            "(hidden tests included; their code is not shown)</p><ul>"
            + "".join(items) + "</ul></div>")


_MARKS = {"passed": "&#10004;", "failed": "&#10008;", "not-run": "&#8211;"}


def _item(kind, text, extra=""):
    return (f'<li class="check-{kind}">{_MARKS[kind]} {html.escape(text)}'
            f"{extra}</li>")

"""Feedback that says what failed without giving the hidden tests away.

``nbgrader generate_feedback`` renders the autograded notebook, which holds
every hidden test, to HTML for the student. ``HideHiddenTests`` runs in that
conversion (``GenerateFeedback.preprocessors`` in ``nbgrader_config.py``,
after ``GetGrades``, which puts the scores in), and for every cell:

- removes the ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region
  (nbgrader's own ``ClearHiddenTests`` code) and says that it did; the
  visible tests before it stay;
- in a graded test cell, keeps only what the grader wrote there
  (``DecideChecks``): the list of checks, passed (by name, without literal
  arguments), failed (with the message) or not run, and the failure as a
  one-line error. Nothing the student's kernel produced while a test ran is
  in the autograded notebook, so none of it can reach the feedback;
- in the student's own cells that run before the first hidden test, keeps
  the outputs, reduces each error to its exception type and message, and
  replaces any line that quotes a hidden test line with a placeholder;
- in the student's cells after it, shows a note instead of the outputs: the
  student's code has seen that test's inputs by then (it is called with
  them) and could print them in a form no filter recognises. Students see
  those outputs when they run their notebook; instructors in the
  autograded notebook.

The autograded notebook itself, which only instructors see, is not changed.
"""

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets import List

from course.grader.verdicts import VERDICT_MIME
from course.preprocessors.checks import is_test_cell

REDACTED = "[a line of the hidden tests, not shown]"
AFTER_HIDDEN = ("[The outputs of this cell are not shown in the feedback: it ran after "
                "a hidden test. Run your notebook to see them.]")
PLACEHOLDER = "# Hidden tests ran here; their code is not shown. Results are below."
# Shorter lines ("else:", "return x") are too common to tell hidden code apart.
MIN_HIDDEN_LINE = 10


class HideHiddenTests(ClearHiddenTests):
    """Feedback without hidden test code: see the module docstring.

    The begin and end delimiters are ``ClearHiddenTests``' configuration.
    """

    # nbconvert's HTML exporter configures display_data_priority for every
    # NbConvertBase; nbgrader's preprocessors redeclare it without config=True,
    # which made traitlets warn "Config option display_data_priority not
    # recognized by HideHiddenTests" in every generate_feedback. Declared as
    # configurable, as nbgrader's GetGrades does; this class does not use it.
    display_data_priority = List(
        GetGrades.display_data_priority.default_value).tag(config=True)

    def preprocess(self, nb, resources):
        """Find the hidden lines of the whole notebook first, then each cell."""
        self.hidden = self.hidden_lines(nb)
        self.after_hidden = False
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
        had_hidden = self._remove_hidden_test_region(cell)
        if had_hidden:
            cell.source = cell.source.rstrip("\n") + "\n" + PLACEHOLDER
        if cell.cell_type == "code":
            if is_test_cell(cell):
                cell.outputs = verdict_outputs(cell.outputs)
            elif self.after_hidden and cell.outputs:
                cell.outputs = [nbformat.v4.new_output(
                    "stream", name="stdout", text=AFTER_HIDDEN + "\n")]
            else:
                cell.outputs = self.student_outputs(cell.outputs)
            self.after_hidden |= had_hidden
        return cell, resources

    def student_outputs(self, outputs):
        """The outputs of a student's own cell, errors reduced, hidden lines redacted."""
        kept = []
        for output in outputs:
            if output.output_type == "error":
                output.evalue = self.redact(str(output.get("evalue", "")))
                output.traceback = [f"{output.get('ename', 'Error')}: {output.evalue}"]
            elif output.output_type == "stream":
                output.text = self.redact(output.get("text", ""))
            data = output.get("data", {})
            for mime in list(data):
                if mime.startswith("application/vnd.ann-course"):
                    del data[mime]  # looks like the grader's; it is not
                elif mime.startswith("text/") and isinstance(data[mime], str):
                    data[mime] = self.redact(data[mime])
            if output.output_type == "error" or output.get("text") or data:
                kept.append(output)
        return kept

    def redact(self, text):
        """``text`` with every line that quotes a hidden test line replaced."""
        if not self.hidden or not text:
            return text
        return "\n".join(
            REDACTED if any(hidden in line for hidden in self.hidden) else line
            for line in text.split("\n"))


def verdict_outputs(outputs):
    """A test cell's feedback: the grader's verdict as HTML, and its failure."""
    kept = []
    for output in outputs:
        data = output.get("data", {})
        if output.output_type == "display_data" and VERDICT_MIME in data:
            kept.append(nbformat.v4.new_output(
                "display_data", data={"text/html": data["text/html"],
                                      "text/plain": data["text/plain"]}))
        elif output.output_type == "error":
            kept.append(nbformat.v4.new_output(
                "error", ename=output.ename, evalue=output.evalue,
                traceback=[f"{output.ename}: {output.evalue}"]))
    return kept

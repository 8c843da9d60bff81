"""Run a submission cell by cell so that one runaway cell costs only itself.

nbgrader's ``Execute`` interrupts a cell that runs past ``Execute.timeout``.
That is enough for ``while True: pass``, but not for code that ignores the
interrupt (a loop that catches ``KeyboardInterrupt``, a long call into C):
nbclient then gives up waiting for the busy kernel, raises
``CellTimeoutError`` and nbgrader drops the whole autograded notebook, so
the student scores nothing at all.

``CourseExecute`` replaces ``Execute`` in ``Autograde.autograde_preprocessors``
and keeps everything else of it (its traits, hooks and kernel settings, set
as ``c.Execute.*``, apply unchanged). It adds three guarantees:

1. A cell that runs past its limit is interrupted. If the kernel does not
   answer within nbclient's ``iopub_timeout`` (the grace period, 4 s by
   default), the kernel is killed and a fresh one started; the cells above are
   run again silently to rebuild the notebook's state (their outputs are kept
   as they were; cells that timed out are skipped), and grading goes on.
   Either way the cell gets one error output that names it::

       CellTimeoutError: cell `mp_neuron` ran longer than 60 s and was stopped

2. A notebook has a time budget, ``CourseExecute.notebook_timeout`` seconds
   for all its cells (replays included). Once it is spent, the cells left are
   not run; each gets a ``NotebookTimeoutError`` output (and so 0 points) and
   the notebook is still saved and scored.

3. The limit per cell can depend on the assignment:
   ``CourseExecute.cell_timeouts`` maps an assignment id to seconds per cell;
   an assignment not listed uses ``Execute.timeout``.

4. A graded test cell runs in its *student form*
   (:func:`course.grader.sites.student_form`): its checks only send the
   student's values out, and nothing of the expected values is in the
   kernel. The cell keeps its real source in the notebook; ``DecideChecks``
   decides it afterwards, in the grader.

A kernel that dies (``os._exit``) still fails the notebook as in nbgrader: a
dead kernel is not a slow cell.
"""

import time

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Dict, Integer

from course.grader.sites import student_form
from course.preprocessors.checks import is_test_cell, load_notebook_references

RED, RESET = "\x1b[0;31m", "\x1b[0m"


def cell_timeout(assignment, cell_timeouts, default):
    """Seconds one cell of ``assignment`` may run: its entry, else ``default``."""
    return cell_timeouts.get(assignment, default)


def cell_name(cell, index):
    """How an error message names a cell: its grade_id, else its position."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"`{grade_id}`" if grade_id else f"number {index + 1}"


def error_output(ename, evalue):
    """A notebook error output, shown (in red) like a Python exception."""
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{RED}{ename}{RESET}: {evalue}"])


class CourseExecute(Execute):
    """nbgrader's ``Execute`` that survives runaway cells and has a time budget."""

    cell_timeouts = Dict(
        value_trait=Integer(), default_value={},
        help="Seconds one cell may run, per assignment id; an assignment not "
             "listed uses Execute.timeout.",
    ).tag(config=True)

    notebook_timeout = Integer(
        1200, allow_none=True,
        help="Seconds all cells of one notebook may run together, restarts and "
             "replays included; the cells left then are not run and score 0. "
             "0 or None: no limit.",
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        """Execute the notebook; see the module docstring for what changes."""
        assignment = (resources or {}).get("nbgrader", {}).get("assignment")
        self._cell_limit = cell_timeout(assignment, self.cell_timeouts, self.timeout)
        if resources is not None and "nbgrader" in resources:
            # Before any student code runs: see load_notebook_references.
            resources["course_references"] = load_notebook_references(self, nb, resources)
        self._started = time.monotonic()
        self._index = None
        self._timed_out = set()     # indices of cells that ran past their limit
        self._interrupted = False   # the current cell's limit was reached
        return super().preprocess(nb, resources, km)

    # -- time limits -----------------------------------------------------

    def _budget_left(self):
        if not self.notebook_timeout:
            return None
        return self.notebook_timeout - (time.monotonic() - self._started)

    def _get_timeout(self, cell):
        """The current cell's limit, cut to what is left of the notebook's budget."""
        limit = self._cell_limit if hasattr(self, "_cell_limit") else self.timeout
        left = self._budget_left() if hasattr(self, "_started") else None
        if left is not None:
            limit = max(1, int(min(limit or left, left) + 0.999))
        return limit if limit and limit > 0 else None

    def _timeout_text(self, cell, index, limit):
        left = self._budget_left()
        if left is not None and left <= 0:
            return (f"cell {cell_name(cell, index)} was stopped: the notebook used up "
                    f"its time budget of {self.notebook_timeout} s")
        return (f"cell {cell_name(cell, index)} ran longer than {limit} s "
                "and was stopped")

    async def _async_handle_timeout(self, timeout, cell=None):
        """Interrupt the kernel; the reply names the cell and its limit."""
        self.log.error("Cell %s ran past %s s: interrupting the kernel",
                       cell_name(cell or {}, self._index or 0), timeout)
        self._interrupted = True
        if self._index is not None:
            self._timed_out.add(self._index)
        await ensure_async(self.km.interrupt_kernel())
        text = self._timeout_text(cell or {}, self._index or 0, timeout)
        return {"content": {"status": "error", "ename": "CellTimeoutError",
                            "evalue": text,
                            "traceback": [f"{RED}CellTimeoutError{RESET}: {text}"]}}

    # -- cells -----------------------------------------------------------

    def preprocess_cell(self, cell, resources, index):
        """Run one cell (a test in its student form); it costs only itself."""
        if not is_test_cell(cell):
            return self._run_cell(cell, resources, index)
        original = cell.source
        cell.source = student_form(original)
        try:
            cell, resources = self._run_cell(cell, resources, index)
        finally:
            cell.source = original
        return cell, resources

    def _run_cell(self, cell, resources, index):
        """Run one cell; past its limit or the budget, it costs only itself."""
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        left = self._budget_left()
        if left is not None and left <= 0:
            cell.outputs = [error_output(
                "NotebookTimeoutError",
                f"cell {cell_name(cell, index)} was not run: the notebook used up "
                f"its time budget of {self.notebook_timeout} s")]
            return cell, self.resources
        self._index, self._interrupted = index, False
        limit = self._get_timeout(cell)
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            if not self._interrupted:
                raise  # output lagging behind a finished cell: nbgrader's behaviour
        # The kernel ignored the interrupt: it is still busy with this cell.
        self.log.error("Cell %s did not stop when interrupted: restarting the kernel",
                       cell_name(cell, index))
        text = self._timeout_text(cell, index, limit)
        self._replace_kernel()
        rebuilt = self._replay(index)
        note = ("the kernel did not stop when interrupted, so it was restarted "
                + ("and the cells above were run again" if rebuilt else
                   "(the time budget did not allow running the cells above again)"))
        cell.outputs.append(NotebookNode(
            output_type="error", ename="CellTimeoutError", evalue=text,
            traceback=[f"{RED}CellTimeoutError{RESET}: {text}", f"({note})"]))
        self.nb.cells[index] = cell
        return cell, self.resources

    # -- kernel restarts ---------------------------------------------------

    async def _async_replace_kernel(self):
        """Kill the busy kernel and start a fresh one, as it was started."""
        if self.kc is not None:
            await ensure_async(self.kc.stop_channels())
            self.kc = None
        await ensure_async(self.km.restart_kernel(now=True))
        await self.async_start_new_kernel_client()

    _replace_kernel = run_sync(_async_replace_kernel)

    async def _async_replay(self, stop):
        """Run the code cells above ``stop`` again; False if out of time.

        Cells that timed out are skipped; the notebook's outputs are left as
        they are (what the replay prints is not collected).
        """
        for index, cell in enumerate(self.nb.cells[:stop]):
            if (cell.cell_type != "code" or not cell.source.strip()
                    or index in self._timed_out):
                continue
            left = self._budget_left()
            if left is not None and left <= 0:
                return False
            self._index = index
            # As when it first ran (hooks, events, errors that do not stop the
            # kernel), but not in the history; its output is not collected.
            source = student_form(cell.source) if is_test_cell(cell) else cell.source
            msg_id = await ensure_async(self.kc.execute(
                source, store_history=False, allow_stdin=False,
                stop_on_error=False))
            await self.async_wait_for_reply(msg_id, cell)
        return True

    def _replay(self, stop):
        saved = self._index
        try:
            return run_sync(self._async_replay)(stop)
        finally:
            self._index = saved


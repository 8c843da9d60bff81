"""nbgrader settings for the course: the one place they live.

The course directory is the folder of this file, wherever nbgrader is run
from inside it. Solutions (nbgrader's "source") live in ``solutions/`` and
the student versions (nbgrader's "release") are generated into
``assignments/``.

Environment variables override the defaults without editing this file:

- ``COURSE_GRADEBOOK_URL``: any SQLAlchemy URL for the gradebook, for example
  ``postgresql://grader@dbhost/ann_course`` for a course with several
  graders. Default: ``gradebook.db`` (SQLite) in the course directory.
- ``COURSE_EXCHANGE``: the exchange folder used by ``release_assignment``,
  ``fetch_assignment``, ``submit`` and ``collect`` (the Assignments tab and
  the Formgrader use it too), for example a folder that a class shares.
  Default: ``exchange/`` in the course directory, which ``make lab`` creates,
  so that the exchange works on one machine out of the box.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

root = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = root
c.CourseDirectory.course_id = "ann-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.db_url = os.environ.get(
    "COURSE_GRADEBOOK_URL", "sqlite:///" + os.path.join(root, "gradebook.db")
)

c.Exchange.root = os.environ.get("COURSE_EXCHANGE") or os.path.join(root, "exchange")

# What a student sees where code is to be written.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Seconds one cell may run during autograding. The assignments' tests are
# sized so that a plain loop implementation passes well inside this limit
# on a 2-core CPU; each notebook says how long its cells may take.
c.Execute.timeout = 60

# How autograding runs the cells (course/preprocessors/): nbgrader's own
# preprocessors in nbgrader's order, with two course ones.
# - CourseExecute replaces Execute (whose c.Execute.* settings still apply): a
#   cell past its time limit is stopped and scores 0, and if it ignores the
#   interrupt the kernel is restarted and the cells above are run again, so
#   the cells after it keep their points; a notebook has a time budget in all.
#   Graded test cells run in their student form: the student's kernel only
#   sends the values the student's functions return.
# - DecideChecks decides every graded test cell here, in the grader: the
#   student's values against the solution's reference values (computed once
#   per assignment in a clean kernel, cached in .grading/references). The
#   cell's outputs become the verdict; nothing the kernel printed or displayed
#   in a test cell counts.
c.Autograde.autograde_preprocessors = [
    "course.preprocessors.execute.CourseExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "course.preprocessors.checks.DecideChecks",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Seconds per cell by assignment; one not listed uses Execute.timeout (60 s:
# ps1_perceptron, ps2_forward_pass, ps3_backprop, ps4_convolution).
c.CourseExecute.cell_timeouts = {
    "ps5_mnist": 300,  # trains models
}
# Seconds for all cells of one notebook; the cells left then score 0.
c.CourseExecute.notebook_timeout = 1200

# Feedback shows scores, which checks passed and each failure's message, but
# never the hidden tests: course.preprocessors.feedback.HideHiddenTests removes
# them and reduces tracebacks to the error (nbgrader's defaults are GetGrades
# and CSSHTMLHeaderPreprocessor; ours runs between them). The same converter
# runs in `nbgrader generate_feedback`, the formgrader and `course grade`.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

from course.preprocessors.feedback import HideHiddenTests  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# Before grading, put back the cells a student deleted (graded, answer and
# locked cells, from the source notebook), so that a deleted test is run and
# scored instead of being left for manual grading; then nbgrader's own steps,
# with nbgrader's OverwriteCells in the course's form, which does not warn that
# an unedited test cell "has changed" (nbgrader issue 1961; see the module).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "course.preprocessors.restore.RestoreDeletedCells",
    "course.preprocessors.overwrite.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# What each assignment's answers may use: a list, or per answer cell (its
# grade_id, "*" for the others). `course grade` flags for review a submission
# whose answers import or use anything else (and the course's own
# implementations, such as course.references, always); the README says why.
_NUMPY_ONLY = ["numpy", "math", "matplotlib", "itertools", "functools", "collections",
               "time", "warnings", "typing", "dataclasses"]
c.CourseGrade.answer_libraries = {
    "ps1_perceptron": _NUMPY_ONLY,
    "ps2_forward_pass": _NUMPY_ONLY,
    "ps3_backprop": _NUMPY_ONLY,
    "ps4_convolution": _NUMPY_ONLY,
    # ps5: scikit-learn and PyTorch for their parts, numpy alone from scratch.
    "ps5_mnist": {
        "*": _NUMPY_ONLY + ["torch", "sklearn", "threadpoolctl"],
        **{cell: _NUMPY_ONLY
           for cell in ("numpy_mlp", "train_numpy", "scratch_training", "depth_sweep")},
    },
}

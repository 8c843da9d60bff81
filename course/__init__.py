"""Artificial Neural Networks: the helpers behind the course notebooks.

The notebooks teach; this package serves them. Each module holds one thing:

- ``course.data``: MNIST from its IDX files and the small teaching sets.
- ``course.activations``: activation functions and their derivatives.
- ``course.nn``: a small from-scratch numpy network library.
- ``course.gradcheck``: numerical gradients and relative errors.
- ``course.plots``: the figures several notebooks share.
- ``course.checks``: what the assignments' test cells call (runs in the
  student's kernel; decides nothing while grading).
- ``course.checkvalues``: the values checks compare and the comparisons.
- ``course.grader``: the grader's side (sites, references, verdicts, scan);
  ``course.autograde`` (``course grade``) and ``course.isolation`` (its
  sandbox) run there too; ``course.preprocessors``: inside nbgrader.
- ``course.references``: PyTorch references for the hidden tests (only the
  grader's clean kernel uses them).
- ``course.cli``: the ``course`` command.
"""

__version__ = "0.1.0"

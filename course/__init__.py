"""Artificial Neural Networks: the helpers behind the course notebooks.

The notebooks teach; this package serves them. Each module holds one thing:

- ``course.data``: MNIST from its IDX files and the small teaching sets.
- ``course.activations``: activation functions and their derivatives.
- ``course.nn``: a small from-scratch numpy network library.
- ``course.gradcheck``: numerical gradients and relative errors.
- ``course.plots``: the figures several notebooks share.
- ``course.grading``: what the assignments' tests share.
- ``course.references``: PyTorch references for the hidden tests.
- ``course.cli``: the ``course`` command.
"""

__version__ = "0.1.0"

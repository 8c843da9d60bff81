"""Artificial Neural Networks: the helpers behind the course notebooks.

The notebooks teach; this package serves them. Each module holds one thing:

- ``course.data``: MNIST from its IDX files and the small teaching sets.
- ``course.activations``: activation functions and their derivatives.
- ``course.grading``: what the assignments' tests share.
- ``course.cli``: the ``course`` command.
"""

__version__ = "0.1.0"

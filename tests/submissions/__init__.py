"""Pretend student submissions, one module per assignment (named like it).

Each module defines ``CASES``: student id -> ``Case``. A case starts from the
reference solution, replaces the answer cells named in ``answers`` (by
``grade_id``) with code that passes the visible tests but is wrong, and
lists in ``loses`` the test cells whose hidden tests must then score 0.
"""

from dataclasses import dataclass, field


@dataclass
class Case:
    answers: dict
    loses: set = field(default_factory=set)

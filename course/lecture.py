"""What every lecture notebook shares that is not the lesson itself.

- ``course_seed()``: the seed a lecture runs with, from ``COURSE_SEED``.

Every lecture starts with ``SEED = course_seed()`` and derives all its
random numbers from it, so ``COURSE_SEED=1 jupyter lab`` shows another,
equally valid sample of every experiment (the test suite runs each lecture
with seed 0 and with another seed, and the lectures' assertions hold for
both).
"""

import os

SEED_VARIABLE = "COURSE_SEED"


def course_seed(default=0):
    """The lecture's seed: the integer in ``COURSE_SEED``, or ``default`` if unset.

    Raises ValueError (one line) when the variable holds anything but a
    non-negative integer.
    """
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return default
    try:
        seed = int(text)
    except ValueError:
        raise ValueError(
            f"{SEED_VARIABLE}={text!r} is not an integer; set it to 0, 1, 2, ..."
        ) from None
    if seed < 0:
        raise ValueError(f"{SEED_VARIABLE}={seed} is negative; numpy seeds are >= 0")
    return seed


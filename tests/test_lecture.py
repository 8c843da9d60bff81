"""course.lecture.course_seed: COURSE_SEED, 0 by default, a clear error otherwise."""

import pytest

from course.lecture import course_seed


def test_course_seed_is_zero_without_the_variable_and_reads_it_when_set(monkeypatch):
    monkeypatch.delenv("COURSE_SEED", raising=False)
    assert course_seed() == 0
    monkeypatch.setenv("COURSE_SEED", " 2 ")
    assert course_seed() == 2
    monkeypatch.setenv("COURSE_SEED", "")
    assert course_seed() == 0


@pytest.mark.parametrize("text, message",
                         [("one", "is not an integer"), ("-1", "is negative")])
def test_course_seed_refuses_what_is_not_a_seed_in_one_line(monkeypatch, text, message):
    monkeypatch.setenv("COURSE_SEED", text)
    with pytest.raises(ValueError, match=message) as error:
        course_seed()
    assert "\n" not in str(error.value)

"""course.exercises: an unanswered exercise reminds, a wrong one says why."""

import numpy as np
import pytest

from course.exercises import check, check_function


def test_an_unanswered_exercise_prints_a_reminder_and_does_not_raise(capsys):
    assert check("Exercise 1.1", ..., expected=3) is False
    assert "not answered yet" in capsys.readouterr().out
    assert check_function("Exercise 1.2", lambda x: None, abs, [(1,)]) is False
    assert "Exercise 1.2: not answered yet" in capsys.readouterr().out


def test_a_right_answer_passes_within_tolerance(capsys):
    assert check("Ex", 0.1 + 0.2, expected=0.3) is True
    assert check("Ex", [[1, 2], [3, 4]], expected=np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert check("Ex", True, expected=True)
    assert "Ex: correct." in capsys.readouterr().out


def test_a_wrong_answer_raises_one_line_naming_the_exercise_and_the_entry():
    expected = (r"^Ex 6.1: 1 of 4 entries differ, the first at \(1, 0\): yours 5\. "
                r"Stride 2 skips every other position\.$")
    with pytest.raises(AssertionError, match=expected):
        check("Ex 6.1", [[3, -1], [5, 3]], expected=[[3, -1], [-3, 3]],
              hint="Stride 2 skips every other position.")
    with pytest.raises(AssertionError,
                       match=r"expected shape \(2, 2\), got shape \(4,\)"):
        check("Ex", [1, 2, 3, 4], expected=np.zeros((2, 2)))
    with pytest.raises(AssertionError, match="expected True or False"):
        check("Ex", 1, expected=True)
    with pytest.raises(AssertionError, match="expected a number"):
        check("Ex", "three", expected=3)


def test_a_test_function_decides_open_ended_answers():
    def is_xor_weights(answer):
        assert len(answer) == 2, "give a pair"

    assert check("Ex", (1, 2), test=is_xor_weights)
    with pytest.raises(AssertionError, match="^Ex: give a pair.$"):
        check("Ex", (1, 2, 3), test=is_xor_weights)
    with pytest.raises(TypeError, match="either expected= or test="):
        check("Ex", 1)


def test_check_function_names_the_first_case_that_differs():
    def wrong_relu(z):
        return np.abs(z)

    with pytest.raises(AssertionError, match=r"for the input \(\[-1\.  2\.\]\)"):
        check_function("Ex", wrong_relu, lambda z: np.maximum(z, 0),
                       [(np.array([1.0, 2.0]),), (np.array([-1.0, 2.0]),)])
    assert check_function("Ex", lambda z: np.maximum(0, z), lambda z: np.maximum(z, 0),
                          [(np.array([-1.0, 2.0]),)])


def test_check_function_gives_the_student_a_copy_of_array_inputs():
    """A student function that writes into its input cannot spoil the reference."""
    def in_place(z):
        z[:] = 0
        return z

    with pytest.raises(AssertionError):
        check_function("Ex", in_place, lambda z: z * 1.0, [(np.array([1.0, 2.0]),)])


def test_a_test_can_mark_a_function_that_returns_nothing_as_unanswered(capsys):
    from course.exercises import answered

    def keeps_the_mean(f):
        out = answered(f(np.ones(100)))
        assert abs(out.mean() - 1) < 0.1, "the mean changes"

    def not_written(h):
        ...

    assert check("Ex 7.2", not_written, test=keeps_the_mean) is False
    assert "not answered yet" in capsys.readouterr().out
    assert check("Ex 7.2", lambda h: h, test=keeps_the_mean)
    with pytest.raises(AssertionError, match="^Ex 7.2: the mean changes.$"):
        check("Ex 7.2", lambda h: 2 * h, test=keeps_the_mean)

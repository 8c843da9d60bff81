"""The grader-side functions ps5_mnist's hidden tests use (course.checkvalues.FUNCTIONS).

Each is computed in the grader's process from the student's recorded values; a
value the function cannot use raises TypeError, which ``computed`` turns into a
failed check with a message.
"""

import math

import numpy as np
import pytest

from course.checkvalues import FUNCTIONS, compare, computed, plain


def _scores_for(labels, right, C=10, confidence=5.0, rng=None):
    """Scores that put ``confidence`` on each label (``right``) or on the next class."""
    rng = rng or np.random.default_rng(0)
    scores = rng.normal(size=(len(labels), C))
    winners = np.where(right, labels, (labels + 1) % C)
    scores[np.arange(len(labels)), winners] += confidence
    return scores


# --- held_out_loss_ratio ---------------------------------------------------------

def test_held_out_loss_ratio_is_the_ratio_of_mean_capped_cross_entropies():
    visible = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    held = np.array([[0.0, 3.0, 0.0], [1.0, 1.0, 1.0]])
    y_visible, y_held = np.array([0, 1]), np.array([1, 2])

    def capped(z, y):
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return np.minimum(-log_p[np.arange(len(y)), y], math.log(3)).mean()

    want = capped(held, y_held) / capped(visible, y_visible)
    got = FUNCTIONS["held_out_loss_ratio"]((visible, held), (y_visible, y_held))
    assert got == pytest.approx(want)


def test_held_out_loss_ratio_caps_each_loss_at_chance():
    """A hopeless image counts log C, not its huge loss: one cannot rule the mean."""
    y = np.array([0, 0])
    confident = np.array([[10.0, 0.0], [10.0, 0.0]])
    hopeless = np.array([[10.0, 0.0], [-1000.0, 1000.0]])   # second: loss 2000
    ratio = FUNCTIONS["held_out_loss_ratio"]((confident, hopeless), (y, y))
    loss = math.log1p(math.exp(-10.0))
    assert ratio == pytest.approx((loss + math.log(2)) / 2 / loss)
    assert np.isfinite(ratio)


def test_held_out_loss_ratio_is_about_one_for_the_same_model_on_similar_images():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, size=4000)
    right = rng.random(4000) < 0.95
    scores = _scores_for(y, right, rng=rng)
    ratio = FUNCTIONS["held_out_loss_ratio"]((scores[:2000], scores[2000:]),
                                            (y[:2000], y[2000:]))
    assert 0.8 < ratio < 1.25


def test_held_out_loss_ratio_is_large_when_the_visible_images_were_learned():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 10, size=2000)
    learned = _scores_for(y, np.ones(2000, bool), confidence=12.0, rng=rng)
    fresh = _scores_for(y, rng.random(2000) < 0.95, confidence=5.0, rng=rng)
    ratio = FUNCTIONS["held_out_loss_ratio"]((learned, fresh), (y, y))
    assert ratio > 2


def test_held_out_loss_ratio_from_probabilities_matches_the_one_from_scores():
    rng = np.random.default_rng(3)
    y_vis, y_hold = rng.integers(0, 10, 50), rng.integers(0, 10, 40)
    vis, hold = rng.normal(scale=3, size=(50, 10)), rng.normal(scale=3, size=(40, 10))

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    from_scores = FUNCTIONS["held_out_loss_ratio"]((vis, hold), (y_vis, y_hold))
    from_probs = FUNCTIONS["held_out_loss_ratio_from_probabilities"](
        (softmax(vis), softmax(hold)), (y_vis, y_hold))
    assert from_probs == pytest.approx(from_scores, rel=1e-9)


def test_held_out_loss_ratio_from_probabilities_takes_a_probability_of_zero():
    y = np.array([0, 1])
    probs = np.array([[1.0, 0.0], [1.0, 0.0]])   # the second image: p = 0 exactly
    ratio = FUNCTIONS["held_out_loss_ratio_from_probabilities"]((probs, probs), (y, y))
    assert ratio == pytest.approx(1.0)


@pytest.mark.parametrize("value, labels", [
    ((np.zeros((3, 10)), np.zeros((2, 10))), (np.zeros(3), np.zeros(3))),  # 2 for 3
    ((np.zeros(3), np.zeros((3, 10))), (np.zeros(3), np.zeros(3))),         # not 2-D
    ((np.full((2, 10), np.nan), np.zeros((2, 10))), (np.zeros(2), np.zeros(2))),
])
def test_held_out_loss_ratio_refuses_scores_that_do_not_fit(value, labels):
    spec = {"name": "ratio", "function": "held_out_loss_ratio",
            "inputs": plain(labels), "at_most": 1.25}
    result, problem = computed(plain(value), spec)
    assert result is None and "could not be used" in problem


def test_a_cheating_model_fails_the_ratio_check_with_a_message():
    y = np.arange(10)
    learned, fresh = 20.0 * np.eye(10), 1.0 * np.eye(10)
    spec = {"name": "ratio", "function": "held_out_loss_ratio", "context": "here",
            "inputs": plain((y, y)), "at_most": 1.25}
    message = compare("computed", plain((learned, fresh)), spec)
    assert message is not None and "ratio (for here) should be at most 1.25" in message
    assert compare("computed", plain((fresh, fresh)), spec) is None


# --- abs_difference --------------------------------------------------------------

def test_abs_difference_of_two_numbers():
    assert FUNCTIONS["abs_difference"]((3.5, 1.25)) == 2.25
    assert FUNCTIONS["abs_difference"](plain((np.float32(2.0), np.array(2.0)))) == 0.0


def test_abs_difference_refuses_arrays_of_several_numbers():
    with pytest.raises(TypeError):
        FUNCTIONS["abs_difference"]((np.array([1.0, 2.0]), 1.0))
    spec = {"name": "seconds", "function": "abs_difference", "at_most": 1e-4}
    _, problem = computed(plain(("1.0", 1.0)), spec)
    assert "could not be used" in problem


# --- time_share ------------------------------------------------------------------

def test_time_share_is_the_sum_of_the_parts_over_the_total():
    assert FUNCTIONS["time_share"](([0.5, 0.25], 1.0)) == 0.75
    assert FUNCTIONS["time_share"](plain(((np.float64(1.0), 2), 2.0))) == 1.5


@pytest.mark.parametrize("value", [([], 1.0), ([1.0], 0.0), ([1.0], -2.0),
                                   (1.0, 1.0), ([np.ones(2)], 1.0)])
def test_time_share_refuses_what_is_not_times_and_a_positive_total(value):
    with pytest.raises(TypeError):
        FUNCTIONS["time_share"](value)


# --- arrays_gap ------------------------------------------------------------------

def test_arrays_gap_is_the_largest_relative_difference():
    a = [np.zeros((2, 3)), np.ones(4)]
    b = [np.zeros((2, 3)), np.ones(4)]
    assert FUNCTIONS["arrays_gap"]((a, b)) == 0.0
    b[1] = np.array([1.0, 1.0, 3.0, 1.0])
    assert FUNCTIONS["arrays_gap"]((a, b)) == pytest.approx(2.0 / 4.0)


def test_arrays_gap_of_nan_is_infinite():
    assert FUNCTIONS["arrays_gap"](([np.array([np.nan])], [np.array([1.0])])) == math.inf


@pytest.mark.parametrize("pair", [
    ([np.zeros(2)], [np.zeros(2), np.zeros(2)]),    # lengths differ
    ([np.zeros(2)], [np.zeros(3)]),                  # shapes differ
    ([], []),
    (np.zeros(2), [np.zeros(2)]),                    # not a list
])
def test_arrays_gap_refuses_lists_that_do_not_match(pair):
    with pytest.raises(TypeError):
        FUNCTIONS["arrays_gap"](pair)


def test_arrays_gap_takes_recorded_tensors_and_float32():
    torch = pytest.importorskip("torch")
    first = plain([torch.ones(2, 2), torch.zeros(3)])
    second = plain([np.ones((2, 2), np.float32), np.zeros(3)])
    assert FUNCTIONS["arrays_gap"]((first, second)) == 0.0

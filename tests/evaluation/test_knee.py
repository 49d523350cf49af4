"""Tests for steering.evaluation.knee."""

from __future__ import annotations

import pytest

from steering.evaluation.knee import (
    Knee,
    KneeSpread,
    find_knee,
    find_knee_noise_aware,
    guarded_knee,
    is_flat,
    knee_spread,
    overlaps_control,
)


def test_knee_normal() -> None:
    # gains: 2->4 +0.20, 4->8 +0.01 (< 0.02) -> knee at 4
    knee = find_knee([2, 4, 8, 16], [0.1, 0.3, 0.31, 0.5])
    assert knee.n_examples == 4
    assert "from 4 to 8 examples per concept" in knee.reason


def test_knee_none_when_still_improving() -> None:
    knee = find_knee([2, 4, 8, 16], [0.1, 0.2, 0.3, 0.4])
    assert knee == Knee(None, "no knee: SE still improving by >= threshold at the most examples")


def test_knee_tie_at_threshold_counts_as_improving() -> None:
    # exact in binary: gains 0.25, 0.5 with threshold 0.25 -> never strictly below -> no knee
    assert find_knee([2, 4, 8], [0.25, 0.5, 1.0], threshold=0.25).n_examples is None
    # 0.30 - 0.28 == 0.019999999999999997 in floats: still a tie with 0.02, not a knee
    assert find_knee([2, 4, 8], [0.28, 0.30, 0.60]).n_examples is None
    # just below the threshold is a knee: 0.49 - 0.25 = 0.24 < 0.25
    assert find_knee([2, 4, 8], [0.25, 0.49, 1.0], threshold=0.25).n_examples == 2


def test_knee_single_point_and_empty() -> None:
    assert find_knee([8], [0.4]) == Knee(
        None, "no knee: need at least 2 values of n_examples, got 1"
    )
    assert find_knee([], []).n_examples is None


def test_knee_decreasing_se_is_knee_at_first_point() -> None:
    knee = find_knee([2, 4, 8], [0.5, 0.4, 0.3])
    assert knee.n_examples == 2
    assert "-0.100" in knee.reason


def test_knee_bad_inputs() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        find_knee([4, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="mean_se has 1 values but n_examples has 2"):
        find_knee([2, 4], [0.1])
    with pytest.raises(ValueError, match="NaN"):
        find_knee([2, 4], [0.1, float("nan")])
    with pytest.raises(ValueError, match="threshold must be"):
        find_knee([2, 4], [0.1, 0.2], threshold=-0.1)


def test_noise_aware_knee() -> None:
    n_examples = [2, 4, 8, 16]
    mean = [0.10, 0.30, 0.35, 0.36]
    low = [0.05, 0.25, 0.28, 0.30]
    high = [0.15, 0.35, 0.42, 0.43]
    # 2->4: 0.10 < ci_low(4) = 0.25 -> significant; 4->8: 0.30 in [0.28, 0.42] -> knee at 4
    knee = find_knee_noise_aware(n_examples, mean, low, high)
    assert knee.n_examples == 4
    assert "inside" in knee.reason
    # only ci_low decides: a different upper bound leaves the knee at 4
    assert find_knee_noise_aware(n_examples, mean, low, [0.15, 0.35, 0.40, 0.40]).n_examples == 4
    # raised lower bounds: 0.10 < 0.25, 0.30 < 0.33, 0.35 < 0.355 -> every step significant
    none = find_knee_noise_aware(n_examples, mean, [0.05, 0.25, 0.33, 0.355], high)
    assert none.n_examples is None and none.reason.startswith("no knee")
    # the next point significantly worse: CI entirely below the current mean -> knee
    worse = find_knee_noise_aware([2, 4], [0.5, 0.2], [0.45, 0.1], [0.55, 0.3])
    assert worse.n_examples == 2 and "above" in worse.reason
    assert find_knee_noise_aware([2], [0.5], [0.4], [0.6]).n_examples is None
    with pytest.raises(ValueError, match="ci_low must be <= ci_high"):
        find_knee_noise_aware([2, 4], [0.1, 0.2], [0.2, 0.1], [0.1, 0.3])


# ------------------------------------------ guarded knee, control overlap, spread over resamples

N = [2, 4, 8, 16]


def test_is_flat_when_one_value_fits_every_interval() -> None:
    assert is_flat([0.10, 0.12, 0.11], [0.20, 0.25, 0.19])  # 0.12 <= 0.19
    assert not is_flat([0.10, 0.30], [0.20, 0.40])
    assert not is_flat([], [])


def test_overlaps_control_per_point() -> None:
    overlap = overlaps_control([0.0, 0.2, 0.5], [0.1, 0.4, 0.6], [0.05, 0.0, 0.0], [0.2, 0.1, 0.1])
    assert overlap.tolist() == [True, False, False]
    with pytest.raises(ValueError, match="same n_examples"):
        overlaps_control([0.0], [0.1], [0.0, 0.0], [0.1, 0.1])


def test_guarded_knee_refuses_flat_and_control_like_curves() -> None:
    # the old report's curve: every interval overlaps every other -> no knee, not "knee at 2"
    se = [0.138, 0.122, 0.132, 0.128]
    low, high = [0.07, 0.06, 0.07, 0.07], [0.18, 0.18, 0.19, 0.18]
    assert find_knee_noise_aware(N, se, low, high).n_examples == 2
    knee = guarded_knee(N, se, low, high)
    assert knee.n_examples is None and "flat within its intervals" in knee.reason
    # rising but inside the control's band at every n
    rising = [0.1, 0.3, 0.5, 0.52]
    r_low, r_high = [0.0, 0.2, 0.4, 0.45], [0.2, 0.4, 0.6, 0.6]
    control = guarded_knee(N, rising, r_low, r_high, [0.1] * 4, [0.5] * 4)
    assert control == Knee(None, "no knee: the curve's interval overlaps the control's at every n")
    # the same curve against a low control: a real knee at 8 (0.5 lies in 16's interval)
    knee = guarded_knee(N, rising, r_low, r_high, [-0.05] * 4, [0.05] * 4)
    assert knee.n_examples == 8
    with pytest.raises(ValueError, match="both control_low and control_high"):
        guarded_knee(N, rising, r_low, r_high, control_low=[0.0] * 4)


def test_knee_spread_stable_within_one_step() -> None:
    spread = knee_spread(N, [Knee(4, ""), Knee(8, ""), 4])
    assert spread == KneeSpread(
        (4, 8, 4), True, "stable: every resample's knee is within one step ([4, 8, 4])"
    )
    assert knee_spread(N, [8, 8, 8]).stable


def test_knee_spread_when_no_resample_has_a_knee_they_agree_on_none() -> None:
    spread = knee_spread(N, [Knee(None, "flat"), None, Knee(None, "at the control")])
    assert not spread.stable and spread.reason.startswith("none: no resample's curve")
    assert "unstable" not in spread.reason


def test_knee_spread_unstable_when_far_apart_or_missing() -> None:
    far = knee_spread(N, [2, 8, 4])
    assert not far.stable and "span 2 steps" in far.reason
    missing = knee_spread(N, [4, Knee(None, "no knee"), 4])
    assert not missing.stable and "resample(s) [1] have no knee" in missing.reason
    assert not knee_spread(N, []).stable
    with pytest.raises(ValueError, match=r"knees \[3\] are not on the n_examples grid"):
        knee_spread(N, [3, 4])

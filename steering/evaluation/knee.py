"""The knee of the training curve: where more examples per concept stop improving mean SE."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from steering.evaluation.arrays import FloatArray, float_vector

# Improvements within this distance of the knee threshold count as equal to it (and therefore as
# "still improving"); it absorbs float noise such as 0.30 - 0.28 == 0.019999999999999997.
KNEE_TIE_TOLERANCE: Final[float] = 1e-9


@dataclass(frozen=True)
class Knee:
    """The knee of a training curve.

    Attributes:
        n_examples: Training examples per concept at the knee, or None when there is no knee.
        reason: A sentence explaining the decision.
    """

    n_examples: int | None
    reason: str


def _curve(
    n_examples: npt.ArrayLike, **series: npt.ArrayLike
) -> tuple[list[int], list[FloatArray]]:
    points = [int(n) for n in np.asarray(n_examples).ravel()]
    arrays = [float_vector(v, name) for name, v in series.items()]
    for name, array in zip(series, arrays, strict=True):
        if array.size != len(points):
            raise ValueError(
                f"{name} has {array.size} values but n_examples has {len(points)}; "
                "pass one value per n_examples"
            )
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinite values: {array.tolist()}")
    if any(b <= a for a, b in itertools.pairwise(points)):
        raise ValueError(f"n_examples must be strictly increasing, got {points}; sort them")
    return points, arrays


def _too_short(points: list[int]) -> Knee:
    return Knee(None, f"no knee: need at least 2 values of n_examples, got {len(points)}")


def find_knee(n_examples: npt.ArrayLike, mean_se: npt.ArrayLike, threshold: float = 0.02) -> Knee:
    """First n_examples whose next step improves mean SE by strictly less than ``threshold``.

    Scans increasing n_examples; at ``n_i`` the improvement is ``mean_se[i+1] - mean_se[i]``.
    An improvement exactly equal to ``threshold`` (within 1e-9, to absorb float noise) still
    counts as improving. A decrease is an improvement below the threshold, so it is a knee.

    Args:
        n_examples: Strictly increasing training examples per concept.
        mean_se: Mean SE at each n_examples.
        threshold: Minimum improvement that counts as progress, >= 0.

    Returns:
        The knee; ``n_examples=None`` with a reason when there is none or fewer than 2 points.

    Raises:
        ValueError: On mismatched lengths, non-finite SE, unsorted n_examples or a negative
            threshold.
    """
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold}; e.g. 0.02")
    points, (se,) = _curve(n_examples, mean_se=mean_se)
    if len(points) < 2:
        return _too_short(points)
    for i in range(len(points) - 1):
        gain = float(se[i + 1] - se[i])
        if gain < threshold - KNEE_TIE_TOLERANCE:
            return Knee(
                points[i],
                f"mean SE changes by {gain:+.3f} (< {threshold:g}) from {points[i]} to "
                f"{points[i + 1]} examples per concept",
            )
    return Knee(None, "no knee: SE still improving by >= threshold at the most examples")


def find_knee_noise_aware(
    n_examples: npt.ArrayLike,
    mean_se: npt.ArrayLike,
    ci_low: npt.ArrayLike,
    ci_high: npt.ArrayLike,
) -> Knee:
    """First n_examples whose next step is not a significant improvement.

    The knee is the first ``n_i`` with ``mean_se[i] >= ci_low[i+1]``: the bootstrap interval of
    the next point's mean contains the current mean (the step is within noise) or lies entirely
    below it (the next point is significantly worse). A step counts as improving only when the
    next interval lies strictly above the current mean. ``ci_high`` is used only for validation
    and the explanation.

    Args:
        n_examples: Strictly increasing training examples per concept.
        mean_se: Mean SE at each n_examples.
        ci_low: Lower bound of each mean's bootstrap interval.
        ci_high: Upper bound of each mean's bootstrap interval.

    Returns:
        The knee; ``n_examples=None`` with a reason when every step is a significant
        improvement or there are fewer than 2 points.

    Raises:
        ValueError: On mismatched lengths, non-finite values, unsorted n_examples, or
            ``ci_low > ci_high``.
    """
    points, (se, low, high) = _curve(n_examples, mean_se=mean_se, ci_low=ci_low, ci_high=ci_high)
    if (low > high).any():
        raise ValueError(
            f"ci_low must be <= ci_high at every point, got {low.tolist()} and {high.tolist()}"
        )
    if len(points) < 2:
        return _too_short(points)
    for i in range(len(points) - 1):
        if se[i] >= low[i + 1]:
            where = "inside" if se[i] <= high[i + 1] else "above"
            return Knee(
                points[i],
                f"mean SE at {points[i]} examples per concept ({se[i]:.3f}) lies {where} the CI "
                f"at {points[i + 1]} [{low[i + 1]:.3f}, {high[i + 1]:.3f}]",
            )
    return Knee(None, "no knee: every step improves mean SE beyond the next point's bootstrap CI")

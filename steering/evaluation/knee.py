"""The knee of the training curve: where more examples per concept stop improving mean SE."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
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


def is_flat(ci_low: npt.ArrayLike, ci_high: npt.ArrayLike) -> bool:
    """Whether one constant fits inside every point's interval: ``max(ci_low) <= min(ci_high)``.

    Such a curve is flat within its own noise: no step is distinguishable from no change.
    """
    low, high = float_vector(ci_low, "ci_low"), float_vector(ci_high, "ci_high")
    return bool(low.size) and float(low.max()) <= float(high.min())


def overlaps_control(
    ci_low: npt.ArrayLike,
    ci_high: npt.ArrayLike,
    control_low: npt.ArrayLike,
    control_high: npt.ArrayLike,
) -> npt.NDArray[np.bool_]:
    """Per point, whether the curve's interval overlaps the control's interval at the same n."""
    low, high = float_vector(ci_low, "ci_low"), float_vector(ci_high, "ci_high")
    c_low, c_high = (
        float_vector(control_low, "control_low"),
        float_vector(control_high, "control_high"),
    )
    if not low.size == high.size == c_low.size == c_high.size:
        raise ValueError(
            f"interval bounds differ in length ({low.size}, {high.size}, {c_low.size}, "
            f"{c_high.size}); pass the curve and the control at the same n_examples"
        )
    return (low <= c_high) & (c_low <= high)


def why_no_knee(
    ci_low: npt.ArrayLike,
    ci_high: npt.ArrayLike,
    control_low: npt.ArrayLike | None = None,
    control_high: npt.ArrayLike | None = None,
) -> str | None:
    """Why no knee may be claimed on a curve, or None when one may.

    None may be claimed when the curve overlaps the control at every n (with the control's
    bounds given) or is flat within its intervals (:func:`is_flat`): a knee there is noise.
    """
    low, high = np.asarray(ci_low, dtype=float), np.asarray(ci_high, dtype=float)
    if (control_low is None) != (control_high is None):
        raise ValueError("pass both control_low and control_high, or neither")
    if (
        control_low is not None
        and control_high is not None
        and low.size
        and overlaps_control(low, high, control_low, control_high).all()
    ):
        return "no knee: the curve's interval overlaps the control's at every n"
    if low.size >= 2 and is_flat(low, high):
        return (
            f"no knee: the curve is flat within its intervals (one value lies in all of "
            f"them: max ci_low {low.max():.3f} <= min ci_high {high.min():.3f})"
        )
    return None


def guarded_knee(
    n_examples: npt.ArrayLike,
    mean_se: npt.ArrayLike,
    ci_low: npt.ArrayLike,
    ci_high: npt.ArrayLike,
    control_low: npt.ArrayLike | None = None,
    control_high: npt.ArrayLike | None = None,
) -> Knee:
    """:func:`find_knee_noise_aware`, but no knee on a curve that shows nothing.

    No knee is claimed when :func:`why_no_knee` gives a reason: the curve is flat within its
    intervals, or (with a control's intervals given) it overlaps the control at every n.

    Args:
        n_examples: Strictly increasing training examples per concept.
        mean_se: Mean SE at each n_examples.
        ci_low: Lower bound of each mean's interval.
        ci_high: Upper bound of each mean's interval.
        control_low: The control's lower bounds at the same n_examples, or None.
        control_high: The control's upper bounds, or None (both or neither).

    Returns:
        The knee, or ``n_examples=None`` with the reason.

    Raises:
        ValueError: As :func:`find_knee_noise_aware`; on only one of the control's bounds.
    """
    points, (_, low, high) = _curve(n_examples, mean_se=mean_se, ci_low=ci_low, ci_high=ci_high)
    blocked = why_no_knee(low, high, control_low, control_high)
    if blocked is not None:
        return Knee(None, blocked)
    return find_knee_noise_aware(points, mean_se, low, high)


@dataclass(frozen=True)
class KneeSpread:
    """Knees of several resamples' curves and whether they agree.

    Attributes:
        knees: The knee of each resample, in resample order (``None`` for no knee).
        stable: True only when every resample has a knee and all lie within one step of the
            n_examples grid of each other.
        reason: A sentence explaining the decision.
    """

    knees: tuple[int | None, ...]
    stable: bool
    reason: str


def knee_spread(n_examples: npt.ArrayLike, knees: Sequence[Knee | int | None]) -> KneeSpread:
    """Whether the resamples' knees agree: all present and at most one n_examples step apart.

    Args:
        n_examples: The grid of scales (strictly increasing) the knees were found on.
        knees: One knee per resample (a :class:`Knee` or its ``n_examples``).

    Returns:
        The spread; ``stable`` is False when there are no knees, any resample has none, or the
        earliest and latest knees are more than one grid step apart. The reason starts with
        ``"stable: "``, ``"unstable: "`` or, when no resample has a knee (they agree there is
        none), ``"none: "``.

    Raises:
        ValueError: On an unsorted grid or a knee that is not on the grid.
    """
    points, _ = _curve(n_examples)
    values = tuple(k.n_examples if isinstance(k, Knee) else k for k in knees)
    off_grid = [k for k in values if k is not None and k not in points]
    if off_grid:
        raise ValueError(f"knees {off_grid} are not on the n_examples grid {points}")
    if not values:
        return KneeSpread(values, False, "no resamples, so no knee to compare")
    missing = [r for r, k in enumerate(values) if k is None]
    if len(missing) == len(values):  # they agree: no resample's curve has a knee
        return KneeSpread(
            values,
            False,
            "none: no resample's curve has a knee (each is flat within its intervals or at "
            "the control), so the resamples agree that more examples bring no measurable gain",
        )
    if missing:
        return KneeSpread(
            values, False, f"unstable: resample(s) {missing} have no knee; knees {list(values)}"
        )
    steps = [points.index(k) for k in values if k is not None]
    spread = max(steps) - min(steps)
    if spread <= 1:
        return KneeSpread(
            values, True, f"stable: every resample's knee is within one step ({list(values)})"
        )
    return KneeSpread(
        values,
        False,
        f"unstable: knees {list(values)} span {spread} steps of the grid {points} (> 1)",
    )

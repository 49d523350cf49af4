"""Spearman and Pearson correlations that report undefined cases instead of returning NaN."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from steering.evaluation.arrays import float_vector

MIN_CORRELATION_POINTS: Final[int] = 3


@dataclass(frozen=True)
class Correlation:
    """A correlation coefficient that is never NaN.

    Attributes:
        value: The coefficient, or 0.0 when it is undefined.
        defined: False when the coefficient could not be computed.
        reason: Why it is undefined; empty when defined.
    """

    value: float
    defined: bool
    reason: str


def _undefined(reason: str) -> Correlation:
    return Correlation(value=0.0, defined=False, reason=reason)


def _correlate(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    kind: Literal["spearman", "pearson"],
    x_name: str,
    y_name: str,
) -> Correlation:
    xa = float_vector(x, x_name)
    ya = float_vector(y, y_name)
    if xa.size != ya.size:
        raise ValueError(
            f"{x_name} and {y_name} must have the same length, got {xa.size} and {ya.size}; "
            "pass paired observations"
        )
    if xa.size < MIN_CORRELATION_POINTS:
        return _undefined(f"fewer than {MIN_CORRELATION_POINTS} points (n={xa.size})")
    for array, name in ((xa, x_name), (ya, y_name)):
        if not np.isfinite(array).all():
            return _undefined(f"{name} contains NaN or infinite values")
    for array, name in ((xa, x_name), (ya, y_name)):
        if array.min() == array.max():
            return _undefined(f"{name} is constant (all values {array[0]:g})")
    if kind == "spearman":
        value = float(stats.spearmanr(xa, ya).statistic)
    else:
        value = float(stats.pearsonr(xa, ya).statistic)
    if not math.isfinite(value):
        return _undefined(f"{kind} correlation of {x_name} and {y_name} is not finite")
    return Correlation(value=value, defined=True, reason="")


def spearman(
    x: npt.ArrayLike, y: npt.ArrayLike, *, x_name: str = "x", y_name: str = "y"
) -> Correlation:
    """Spearman rank correlation that reports, rather than returns NaN for, undefined cases.

    Undefined (value 0.0, ``defined=False``): fewer than 3 points, any NaN/inf, or a constant
    input.

    Args:
        x: First sample, 1-D.
        y: Second sample, same length as ``x``.
        x_name: How to name ``x`` in reasons and errors.
        y_name: How to name ``y`` in reasons and errors.

    Returns:
        The correlation.

    Raises:
        ValueError: If the inputs are not 1-D numeric vectors of equal length.
    """
    return _correlate(x, y, "spearman", x_name, y_name)


def pearson(
    x: npt.ArrayLike, y: npt.ArrayLike, *, x_name: str = "x", y_name: str = "y"
) -> Correlation:
    """Pearson correlation; arguments, undefined cases and errors as in :func:`spearman`."""
    return _correlate(x, y, "pearson", x_name, y_name)

"""Tests for steering.evaluation.correlation against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from steering.evaluation.correlation import Correlation, pearson, spearman


def test_spearman_hand_value() -> None:
    # ranks x = [1,2,3,4,5], ranks y = [2,1,4,3,5]; d = [-1,1,-1,1,0], sum d^2 = 4
    # rho = 1 - 6*4 / (5*(25-1)) = 1 - 24/120 = 0.8
    c = spearman([1, 2, 3, 4, 5], [20, 10, 40, 30, 50])
    assert isinstance(c, Correlation)
    assert c.value == pytest.approx(0.8)
    assert c.defined
    assert c.reason == ""


def test_spearman_with_ties_uses_average_ranks() -> None:
    # ranks x = [1, 2.5, 2.5, 4], ranks y = [1, 2, 3, 4]; both means 2.5
    # dx = [-1.5, 0, 0, 1.5], dy = [-1.5, -0.5, 0.5, 1.5]
    # sxy = 2.25 + 2.25 = 4.5, sxx = 4.5, syy = 2.25 + 0.25 + 0.25 + 2.25 = 5
    # rho = 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]).value == pytest.approx(3 / math.sqrt(10))


def test_pearson_hand_values() -> None:
    # x = [1,2,3], y = [1,2,4]: dx = [-1,0,1], dy = [-4/3,-1/3,5/3]
    # sxy = 4/3 + 5/3 = 3, sxx = 2, syy = (16+1+25)/9 = 14/3
    # r = 3 / sqrt(2 * 14/3) = sqrt(27/28)
    assert pearson([1, 2, 3], [1, 2, 4]).value == pytest.approx(math.sqrt(27 / 28))
    # x = [1..5], y = [2,1,4,3,5]: dx = [-2,-1,0,1,2], dy = [-1,-2,1,0,2]
    # sxy = 2+2+0+0+4 = 8, sxx = syy = 10 -> r = 0.8
    assert pearson([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]).value == pytest.approx(0.8)
    # perfect negative line
    assert pearson([1, 2, 3], [6, 4, 2]).value == pytest.approx(-1.0)


@pytest.mark.parametrize("corr", [spearman, pearson])
@pytest.mark.parametrize(
    ("x", "y", "reason"),
    [
        ([1, 2], [3, 4], "fewer than 3 points (n=2)"),
        ([], [], "fewer than 3 points (n=0)"),
        ([1, 1, 1, 1], [1, 2, 3, 4], "x is constant"),
        ([1, 2, 3, 4], [5, 5, 5, 5], "y is constant"),
        ([1, np.nan, 3, 4], [1, 2, 3, 4], "x contains NaN"),
        ([1, 2, 3, 4], [1, 2, np.inf, 4], "y contains NaN or infinite"),
    ],
)
def test_undefined_correlation_is_zero_not_nan(
    corr: object, x: list[float], y: list[float], reason: str
) -> None:
    assert callable(corr)
    c = corr(x, y)
    assert c.value == 0.0
    assert not c.defined
    assert reason in c.reason


def test_correlation_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="same length, got 3 and 2"):
        spearman([1, 2, 3], [1, 2])

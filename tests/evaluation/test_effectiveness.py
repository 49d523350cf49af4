"""Tests for steering.evaluation.effectiveness against hand-computed values."""

from __future__ import annotations

import math

import pytest

from steering.evaluation.effectiveness import steering_effectiveness


def test_steering_effectiveness_hand_value() -> None:
    delta = [0, 1, 2, 4, 3]
    strength = [0, 1, 2, 3, 4]
    reference = [1, 1, 2, 5, 3]
    coherent = [True, True, True, False, True]
    # rho: ranks delta [1,2,3,5,4] vs [1,2,3,4,5], sum d^2 = 2 -> 1 - 6*2/120 = 0.9
    # r: delta mean 2, dx = [-2,-1,0,2,1]; reference mean 2.4, dy = [-1.4,-1.4,-0.4,2.6,0.6]
    #    sxy = 2.8 + 1.4 + 0 + 5.2 + 0.6 = 10, sxx = 10, syy = 1.96*2 + 0.16 + 6.76 + 0.36 = 11.2
    #    r = 10 / sqrt(112)
    # coherence = 4/5 = 0.8; SE = 0.5 * (0.9 + 10/sqrt(112)) * 0.8
    result = steering_effectiveness(delta, strength, reference, coherent)
    r = 10 / math.sqrt(112)
    assert result.rho == pytest.approx(0.9)
    assert result.r == pytest.approx(r)
    assert result.coherence_rate == pytest.approx(0.8)
    assert result.se == pytest.approx(0.5 * (0.9 + r) * 0.8)
    assert result.se == pytest.approx(0.737964, abs=1e-6)
    assert result.n == 5
    assert result.flags == ()
    assert result.rho_defined and result.r_defined


def test_steering_effectiveness_constant_delta_flags_and_zero() -> None:
    result = steering_effectiveness([2, 2, 2, 2], [0, 1, 2, 3], [1, 2, 3, 4], [1, 1, 0, 1])
    assert result.se == 0.0
    assert not math.isnan(result.se)
    assert (result.rho, result.r) == (0.0, 0.0)
    assert not result.rho_defined and not result.r_defined
    assert result.flags == (
        "rho_undefined: delta is constant (all values 2)",
        "r_undefined: delta is constant (all values 2)",
    )
    assert result.coherence_rate == pytest.approx(0.75)


def test_steering_effectiveness_one_undefined_counts_as_zero() -> None:
    # constant reference: r undefined -> 0; rho = Spearman([1,2,3],[1,2,3]) = 1
    # SE = 0.5 * (1 + 0) * 1 = 0.5
    result = steering_effectiveness([1, 2, 3], [1, 2, 3], [7, 7, 7], [True] * 3)
    assert result.se == pytest.approx(0.5)
    assert result.flags == ("r_undefined: reference is constant (all values 7)",)


def test_steering_effectiveness_bad_inputs() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        steering_effectiveness([1, 2, 3], [1, 2], [1, 2, 3], [True] * 3)
    with pytest.raises(ValueError, match="empty"):
        steering_effectiveness([], [], [], [])
    with pytest.raises(ValueError, match="coherent must hold booleans or 0/1, found 2"):
        steering_effectiveness([1, 2, 3], [1, 2, 3], [1, 2, 3], [0, 1, 2])

"""Tests for steering.evaluation.stability (split-half cosine, detection AUROC)."""

from __future__ import annotations

import numpy as np
import pytest

from steering.evaluation.resampling import disjoint_halves, held_out_split
from steering.evaluation.stability import (
    cosine,
    detection_auroc,
    nested_halves,
    split_half_stability,
)


def _mean_difference(concept: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    return concept.mean(axis=0) - neutral.mean(axis=0)


def _pool(n: int, signal: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    axis = np.zeros(16)
    axis[0] = 1.0
    return rng.normal(size=(n, 16)) + signal * axis, rng.normal(size=(n, 16))


def test_cosine_by_hand() -> None:
    assert cosine([1, 0], [1, 1]) == pytest.approx(1 / np.sqrt(2))
    assert cosine([1, 2], [-2, -4]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="zero vector"):
        cosine([0, 0], [1, 0])
    with pytest.raises(ValueError, match="differ in length"):
        cosine([1, 0], [1, 0, 0])


def test_split_half_stability_rises_with_n() -> None:
    concept, neutral = _pool(80, signal=1.0)
    by_n = {}
    for n in (2, 8, 32):
        values = [
            split_half_stability(concept, neutral, disjoint_halves(80, n, seed=s), _mean_difference)
            for s in range(10)
        ]
        by_n[n] = float(np.mean(values))
    assert by_n[2] < by_n[8] < by_n[32]
    assert by_n[32] > 0.6


def test_split_half_of_identical_halves_data_is_one_and_overlap_is_refused() -> None:
    row = np.arange(1.0, 5.0)
    concept = np.vstack([row, row, row, row])
    neutral = np.zeros((3, 4))
    assert split_half_stability(concept, neutral, ([0, 1], [2, 3]), _mean_difference) == 1.0
    with pytest.raises(ValueError, match=r"halves share rows \[1\]"):
        split_half_stability(concept, neutral, ([0, 1], [1, 2]), _mean_difference)
    with pytest.raises(ValueError, match="equal in size"):
        split_half_stability(concept, neutral, ([0], [1, 2]), _mean_difference)


def test_detection_auroc_by_hand() -> None:
    direction = [1.0, 0.0]
    concept = [[3.0, 9.0], [1.0, -9.0]]
    neutral = [[2.0, 0.0], [0.0, 5.0]]
    # projections: concept 3, 1; neutral 2, 0 -> pairs won: (3>2, 3>0, 1>0) 3 of 4
    assert detection_auroc(direction, concept, neutral) == pytest.approx(0.75)
    assert detection_auroc([-1.0, 0.0], concept, neutral) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="hidden size 2 but the direction has 3"):
        detection_auroc([1.0, 0.0, 0.0], concept, neutral)


def test_detection_auroc_separates_a_real_signal_on_held_out_rows() -> None:
    concept, neutral = _pool(60, signal=2.0, seed=1)
    direction = _mean_difference(concept[:20], neutral[:20])
    assert detection_auroc(direction, concept[20:], neutral[20:]) > 0.75  # 0.92 with the true axis


def test_nested_halves_are_disjoint_nested_and_never_held_out() -> None:
    pairs = nested_halves(30, [2, 4, 8], resamples=3, seed=5, held_out=6)
    _, held = held_out_split(30, 6, 5)
    assert sorted(pairs) == [(n, r) for n in (2, 4, 8) for r in range(3)]
    for (n, r), (first, second) in pairs.items():
        assert len(first) == len(second) == n
        assert not set(first) & set(second)
        assert not (set(first) | set(second)) & set(held)
        if n > 2:  # the halves at a smaller n are inside the halves at a larger one
            small_first, small_second = pairs[(n // 2, r)]
            assert set(small_first) <= set(first) and set(small_second) <= set(second)
    assert not np.array_equal(pairs[(8, 0)][0], pairs[(8, 1)][0])  # resamples differ
    again = nested_halves(30, [8], resamples=3, seed=5, held_out=6)
    assert all(np.array_equal(again[(8, r)][0], pairs[(8, r)][0]) for r in range(3))


def test_nested_halves_refuse_a_scale_without_2n_examples() -> None:
    with pytest.raises(ValueError, match=r"split-half at n=\[13\] needs 2n examples but only 24"):
        nested_halves(30, [12, 13], resamples=1, seed=0, held_out=6)
    with pytest.raises(ValueError, match="must be >= 1"):
        nested_halves(30, [0], resamples=1, seed=0)

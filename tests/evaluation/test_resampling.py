"""Tests for steering.evaluation.resampling (seeded example subsets and the held-out split)."""

from __future__ import annotations

import numpy as np
import pytest

from steering.evaluation.resampling import (
    concept_seed,
    disjoint_halves,
    example_subsets,
    held_out_split,
)


def test_held_out_split_partitions_the_pool_deterministically() -> None:
    available, held = held_out_split(20, 5, seed=3)
    assert held.size == 5 and available.size == 15
    assert sorted([*available.tolist(), *held.tolist()]) == list(range(20))
    again = held_out_split(20, 5, seed=3)
    assert np.array_equal(again[0], available) and np.array_equal(again[1], held)
    assert not np.array_equal(held_out_split(20, 5, seed=4)[1], held)
    assert held_out_split(6, 0, seed=1)[1].size == 0


def test_subsets_never_use_held_out_and_have_the_right_size() -> None:
    _, held = held_out_split(84, 12, seed=11)
    subsets = example_subsets(84, [2, 4, 8, 16, 32, 64], resamples=3, seed=11, held_out=12)
    assert set(subsets) == {(n, r) for n in (2, 4, 8, 16, 32, 64) for r in range(3)}
    for (n, _), idx in subsets.items():
        assert idx.size == n and np.unique(idx).size == n
        assert not set(idx.tolist()) & set(held.tolist())
        assert idx.min() >= 0 and idx.max() < 84


def test_subsets_are_nested_within_a_resample_and_differ_across_resamples() -> None:
    subsets = example_subsets(40, [2, 4, 8, 16], resamples=4, seed=0, held_out=5)
    for r in range(4):
        for small, big in [(2, 4), (4, 8), (8, 16)]:
            assert set(subsets[(small, r)].tolist()) <= set(subsets[(big, r)].tolist())
    at_8 = {tuple(subsets[(8, r)].tolist()) for r in range(4)}
    assert len(at_8) == 4  # four different subsets of 8 out of 35 (a clash is ~1e-7 likely)


def test_subsets_deterministic_and_stable_when_scales_or_resamples_are_added() -> None:
    first = example_subsets(30, [2, 4], resamples=2, seed=5, held_out=3)
    more = example_subsets(30, [2, 4, 8], resamples=3, seed=5, held_out=3)
    for key, idx in first.items():
        assert np.array_equal(more[key], idx)
    other = example_subsets(30, [2, 4], resamples=2, seed=6, held_out=3)
    assert any(not np.array_equal(other[k], first[k]) for k in first)


def test_whole_available_pool_is_every_resample() -> None:
    subsets = example_subsets(10, [8], resamples=2, seed=1, held_out=2)
    available, _ = held_out_split(10, 2, seed=1)
    assert np.array_equal(subsets[(8, 0)], available)
    assert np.array_equal(subsets[(8, 1)], available)


def test_subset_errors_name_the_numbers_and_the_fix() -> None:
    with pytest.raises(ValueError, match=r"n_examples \[64\] exceed the 60 examples available"):
        example_subsets(72, [8, 64], resamples=1, seed=0, held_out=12)
    with pytest.raises(ValueError, match="held_out=10 leaves no examples"):
        held_out_split(10, 10, seed=0)
    with pytest.raises(ValueError, match="resamples must be an integer >= 1"):
        example_subsets(10, [2], resamples=0, seed=0)
    with pytest.raises(ValueError, match="n_examples entry must be an integer >= 1"):
        example_subsets(10, [2.5], resamples=1, seed=0)  # type: ignore[list-item]


def test_disjoint_halves() -> None:
    a, b = disjoint_halves(30, 10, seed=2, held_out=6)
    _, held = held_out_split(30, 6, seed=2)
    assert a.size == b.size == 10
    assert not set(a.tolist()) & set(b.tolist())
    assert not (set(a.tolist()) | set(b.tolist())) & set(held.tolist())
    with pytest.raises(ValueError, match="needs 26 examples but only 24"):
        disjoint_halves(30, 13, seed=2, held_out=6)


def test_concept_seed_differs_per_concept_and_is_stable() -> None:
    assert concept_seed(0, "animal") == concept_seed(0, "animal")
    assert concept_seed(0, "animal") != concept_seed(0, "person")
    assert concept_seed(0, "animal") != concept_seed(1, "animal")

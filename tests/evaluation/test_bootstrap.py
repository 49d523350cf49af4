"""Tests for steering.evaluation.bootstrap (the prompt bootstrap of SE)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from steering.evaluation.bootstrap import (
    bootstrap_mean_se,
    bootstrap_se,
    fast_se,
    hierarchical_mean_se,
)
from steering.evaluation.effectiveness import steering_effectiveness
from tests.evaluation.synthetic_scores import synthetic_scores


def _one_group() -> pd.DataFrame:
    df = synthetic_scores(methods={"dual": 0.5}, concepts=("person",))
    return df.assign(coherent=True)


def test_bootstrap_deterministic_for_seed_and_contains_estimate() -> None:
    df = _one_group()
    point = steering_effectiveness(df["delta"], df["strength"], df["reference"], df["coherent"])
    first = bootstrap_se(df, n_boot=300, seed=7)
    assert bootstrap_se(df, n_boot=300, seed=7) == first
    assert bootstrap_se(df, n_boot=300, seed=8) != first
    low, high = first
    assert low < point.se < high
    assert high - low < 0.5  # 40 rows, strong signal: a reasonably tight interval


def test_bootstrap_independent_of_row_order() -> None:
    df = _one_group()
    shuffled = df.sample(frac=1.0, random_state=3)
    assert bootstrap_se(shuffled, n_boot=100, seed=1) == bootstrap_se(df, n_boot=100, seed=1)


def test_bootstrap_resamples_whole_prompts() -> None:
    # a single prompt: every resample draws that prompt with all its rows, so every replicate
    # equals the point estimate; a row-level bootstrap would vary
    df = _one_group()
    single = df.loc[df["prompt_id"] == 0]
    point = steering_effectiveness(
        single["delta"], single["strength"], single["reference"], single["coherent"]
    ).se
    low, high = bootstrap_se(single, n_boot=50, seed=0)
    assert low == pytest.approx(point)
    assert high == pytest.approx(point)


def test_bootstrap_bad_arguments() -> None:
    df = _one_group()
    with pytest.raises(ValueError, match="n_boot must be >= 1, got 0"):
        bootstrap_se(df, n_boot=0, seed=0)
    with pytest.raises(ValueError, match=r"ci must lie strictly between 0 and 1, got 1\.5"):
        bootstrap_se(df, n_boot=10, seed=0, ci=1.5)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['coherent'\]"):
        bootstrap_se(df.drop(columns="coherent"), n_boot=10, seed=0)


def test_bootstrap_mean_se_of_one_group_is_its_se_and_interval() -> None:
    df = _one_group()
    point = steering_effectiveness(df["delta"], df["strength"], df["reference"], df["coherent"])
    mean, low, high = bootstrap_mean_se([df], n_boot=50, seed=2)
    assert mean == pytest.approx(point.se)
    assert (low, high) == bootstrap_se(df, n_boot=50, seed=2)


def test_bootstrap_mean_se_pairs_the_draw_across_groups() -> None:
    # two identical groups under one shared draw: the mean's interval equals one group's
    df = _one_group()
    assert bootstrap_mean_se([df, df.copy()], n_boot=50, seed=4)[1:] == bootstrap_se(
        df, n_boot=50, seed=4
    )
    with pytest.raises(ValueError, match="groups is empty"):
        bootstrap_mean_se([], n_boot=5, seed=0)
    with pytest.raises(ValueError, match="df is empty"):
        bootstrap_mean_se([df.iloc[:0]], n_boot=5, seed=0)


# --------------------------------------------------------- hierarchical (resamples, then prompts)


def _rows(deltas_by_prompt: dict[int, list[float]]) -> pd.DataFrame:
    """One concept's outputs: per prompt, strengths 0..3 with the given deltas."""
    rows = [
        {"prompt_id": p, "strength": float(s), "delta": d, "reference": float(s), "coherent": True}
        for p, deltas in deltas_by_prompt.items()
        for s, d in enumerate(deltas)
    ]
    return pd.DataFrame(rows)


def _se(df: pd.DataFrame) -> float:
    return steering_effectiveness(df["delta"], df["strength"], df["reference"], df["coherent"]).se


def test_hierarchical_without_prompt_variance_is_the_plain_bootstrap_over_resamples() -> None:
    # every prompt has the same rows inside a resample, so any prompt draw gives the same SE
    # (duplicating rows changes neither Spearman nor Pearson): each replicate is the mean of two
    # resamples drawn with replacement from {a, b}: a, (a+b)/2 or b with chances 1/4, 1/2, 1/4
    first = [_rows({p: [0, 1, 3, 2] for p in range(3)}), _rows({p: [0, 2, 1, 3] for p in range(3)})]
    second = [_rows({p: [0, 1, 2, 3] for p in range(3)})] * 2
    a = (_se(first[0]) + _se(first[1])) / 2
    b = _se(second[0])
    # by hand: one swapped neighbour pair, rho = r = 1 - 6 * 2 / (4 * 15) = 0.8; SE = 0.8, 1.0
    assert (a, b) == pytest.approx((0.8, 1.0))
    mean, low, high, reps = hierarchical_mean_se([first, second], n_boot=2000, seed=0)
    assert mean == pytest.approx((a + b) / 2)
    support = np.array([a, (a + b) / 2, b])
    nearest = np.abs(reps[:, None] - support[None, :]).argmin(axis=1)
    assert np.allclose(reps, support[nearest])
    freq = np.bincount(nearest, minlength=3) / reps.size
    assert freq == pytest.approx([0.25, 0.5, 0.25], abs=0.04)
    assert (low, high) == pytest.approx((a, b))


def test_hierarchical_matches_the_enumerated_distribution() -> None:
    # two resamples x two prompts whose SEs differ: a replicate draws (u1, u2) in {0,1}^2 and,
    # for each, an ordered pair of prompts in {0,1}^2; the 4 * 4 * 4 = 64 outcomes are equally
    # likely, and the replicate is the mean of the two drawn resamples' SEs
    resamples = [
        [_rows({0: [0, 1, 2, 3], 1: [3, 0, 1, 2]})],
        [_rows({0: [1, 0, 3, 2], 1: [0, 1, 3, 2]})],
    ]

    def se_on(unit: int, prompts: tuple[int, ...]) -> float:
        df = resamples[unit][0]
        return _se(pd.concat([df[df.prompt_id == p] for p in prompts]))

    pairs = list(itertools.product((0, 1), repeat=2))
    exact = np.sort(
        [(se_on(u1, p1) + se_on(u2, p2)) / 2 for u1, u2 in pairs for p1 in pairs for p2 in pairs]
    )
    mean, low, high, reps = hierarchical_mean_se(resamples, n_boot=4000, seed=1)
    assert mean == pytest.approx((se_on(0, (0, 1)) + se_on(1, (0, 1))) / 2)
    exact = np.round(exact, 9)  # equal sums in another order differ in the last bits
    reps = np.round(reps, 9)
    assert np.isin(reps, exact).all()  # only attainable values
    grid = np.unique(exact)
    empirical = np.searchsorted(np.sort(reps), grid, side="right") / reps.size
    exact_cdf = np.searchsorted(exact, grid, side="right") / exact.size
    assert np.abs(empirical - exact_cdf).max() < 0.025
    assert reps.mean() == pytest.approx(exact.mean(), abs=0.01)
    assert (low, high) == pytest.approx(tuple(np.quantile(exact, [0.025, 0.975])), abs=0.05)


def test_hierarchical_of_one_resample_has_the_prompt_bootstrap_estimate() -> None:
    df = _one_group()
    mean, low, high, _ = hierarchical_mean_se([[df]], n_boot=200, seed=3)
    point, plain_low, plain_high = bootstrap_mean_se([df], n_boot=200, seed=3)
    assert mean == pytest.approx(point)
    assert low < point < high
    assert abs((high - low) - (plain_high - plain_low)) < 0.5 * (plain_high - plain_low)
    assert (
        hierarchical_mean_se([[df]], n_boot=50, seed=3)[1:3]
        == hierarchical_mean_se([[df]], n_boot=50, seed=3)[1:3]
    )


def test_hierarchical_bad_arguments() -> None:
    df = _one_group()
    with pytest.raises(ValueError, match="resamples is empty"):
        hierarchical_mean_se([], n_boot=5, seed=0)
    with pytest.raises(ValueError, match="resample 1 has no tables"):
        hierarchical_mean_se([[df], []], n_boot=5, seed=0)
    with pytest.raises(ValueError, match="resample 0 has an empty table"):
        hierarchical_mean_se([[df.iloc[:0]]], n_boot=5, seed=0)
    with pytest.raises(ValueError, match="n_boot must be >= 1"):
        hierarchical_mean_se([[df]], n_boot=0, seed=0)


def test_fast_se_equals_steering_effectiveness() -> None:
    rng = np.random.default_rng(0)
    cases = [
        (rng.normal(size=n), rng.integers(0, 3, size=n).astype(float), rng.normal(size=n))
        for n in (1, 2, 3, 5, 12, 40)
    ]
    cases += [
        (np.ones(6), np.arange(6.0), np.arange(6.0)),  # constant delta: both undefined
        (np.arange(6.0), np.zeros(6), np.arange(6.0)),  # constant strength: rho undefined
        (np.array([1.0, 1, 2, 2, 3]), np.array([0.0, 1, 1, 2, 2]), np.array([3.0, 1, 2, 2, 0])),
        (np.array([0.0, np.nan, 2, 3]), np.arange(4.0), np.arange(4.0)),  # NaN: undefined
    ]
    for delta, strength, reference in cases:
        coherent = rng.random(delta.size) < 0.8
        expected = steering_effectiveness(delta, strength, reference, coherent).se
        assert fast_se(delta, strength, reference, coherent) == pytest.approx(expected, abs=1e-12)

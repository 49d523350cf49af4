"""Tests for steering.evaluation.bootstrap (the prompt bootstrap of SE)."""

from __future__ import annotations

import pandas as pd
import pytest

from steering.evaluation.bootstrap import bootstrap_mean_se, bootstrap_se
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

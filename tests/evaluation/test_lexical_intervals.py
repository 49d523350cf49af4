"""Tests for the concept-word lift per (method, n_examples) and its hierarchical interval."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from steering.evaluation.bootstrap import hierarchical_mean, hierarchical_mean_se
from steering.evaluation.lexical_intervals import LIFT_COLUMNS, lexical_lift_table

CONCEPTS = ("animal", "food")
PROMPTS = (0, 1, 2, 3)


def rated(
    rates: dict[tuple[float | None, float], float], *, per_prompt: float = 0.0
) -> pd.DataFrame:
    """Rows for every concept and prompt: ``rates[(resample, strength)]`` plus
    ``prompt * per_prompt * strength`` (so the lift depends on the prompt when it is not 0).

    ``resample`` None marks the shared baseline (strength 0, resample NaN).
    """
    rows = [
        {
            "method": "dual",
            "n_examples": 4,
            "concept": concept,
            "prompt_id": prompt,
            "strength": strength,
            "resample": math.nan if resample is None else resample,
            "word_rate": rate + prompt * per_prompt * strength,
        }
        for (resample, strength), rate in rates.items()
        for concept in CONCEPTS
        for prompt in PROMPTS
    ]
    return pd.DataFrame(rows)


def test_deterministic_rates_collapse_the_interval_on_the_lift() -> None:
    table = rated({(None, 0.0): 0.1, (0, -1.0): 0.05, (0, 1.0): 0.3})
    row = lexical_lift_table(table, n_boot=200, seed=0).iloc[0]
    assert list(lexical_lift_table(table, n_boot=10, seed=0).columns) == list(LIFT_COLUMNS)
    assert row.lift == pytest.approx(0.2)
    assert (row.ci_low, row.ci_high) == (pytest.approx(0.2), pytest.approx(0.2))
    assert (row.rate_base, row.rate_max, row.rate_min) == pytest.approx((0.1, 0.3, 0.05))
    assert (row.strength_max, row.strength_min, row.n_resamples, row.n_concepts) == (
        1.0,
        -1.0,
        1,
        2,
    )


def test_two_resamples_give_the_bootstrap_of_their_lifts() -> None:
    """The shared baseline (0.1) joins both resamples: lifts 0.1 and 0.3, mean 0.2; with
    prompt-independent lifts the replicates are means of two drawn resamples, so the 95%
    interval spans [0.1, 0.3]."""
    table = rated({(None, 0.0): 0.1, (0, 1.0): 0.2, (1, 1.0): 0.4})
    row = lexical_lift_table(table, n_boot=400, seed=3).iloc[0]
    assert row.lift == pytest.approx(0.2)
    assert (row.ci_low, row.ci_high) == (pytest.approx(0.1), pytest.approx(0.3))
    assert row.rate_base == pytest.approx(0.1) and row.rate_max == pytest.approx(0.3)
    assert math.isnan(row.rate_min) and row.n_resamples == 2


def test_the_baseline_belongs_to_every_resample() -> None:
    """Without the shared baseline rows no resample has a strength-0 rate: no lift."""
    table = rated({(None, 0.0): 0.1, (0, 1.0): 0.2, (1, 1.0): 0.4})
    without = lexical_lift_table(table[table["resample"].notna()], n_boot=20, seed=0).iloc[0]
    assert math.isnan(without.lift) and math.isnan(without.ci_low)
    with pytest.raises(ValueError, match="every row's resample is missing"):
        lexical_lift_table(table[table["resample"].isna()], n_boot=20, seed=0)


def test_seeded_and_reusing_the_hierarchical_bootstrap() -> None:
    table = rated({(None, 0.0): 0.1, (0, 1.0): 0.2, (1, 1.0): 0.25}, per_prompt=0.05)
    first = lexical_lift_table(table, n_boot=300, seed=7)
    pd.testing.assert_frame_equal(first, lexical_lift_table(table, n_boot=300, seed=7))
    assert not first.equals(lexical_lift_table(table, n_boot=300, seed=8))
    row = first.iloc[0]
    assert row.ci_low < row.lift < row.ci_high
    # The same replicates as hierarchical_mean over the resamples' mean lift by hand: each
    # resample's rows at the prompts drawn, top minus strength 0, averaged over concepts
    # (equal here), then over the drawn resamples.
    rates = table.pivot_table(
        index=["resample", "prompt_id"],
        columns="strength",
        values="word_rate",
        aggfunc="mean",
        dropna=False,
    )
    base = table[table.strength == 0].groupby("prompt_id").word_rate.mean().to_numpy()
    tops = [rates.loc[r][1.0].to_numpy() for r in (0.0, 1.0)]
    statistics = [lambda p, top=top: top[p].mean() - base[p].mean() for top in tops]
    point, low, high, _ = hierarchical_mean(statistics, len(PROMPTS), n_boot=300, seed=7)
    assert (row.lift, row.ci_low, row.ci_high) == pytest.approx((point, low, high))


def test_hierarchical_mean_se_runs_through_hierarchical_mean() -> None:
    """hierarchical_mean_se is hierarchical_mean over its resamples' mean SE."""
    rng = np.random.default_rng(0)
    tables = [
        [
            pd.DataFrame(
                {
                    "prompt_id": np.repeat(np.arange(5), 3),
                    "strength": np.tile([0.0, 0.5, 1.0], 5),
                    "delta": rng.normal(size=15),
                    "reference": rng.normal(size=15),
                    "coherent": rng.random(15) > 0.2,
                }
            )
            for _ in range(2)
        ]
        for _ in range(3)
    ]
    mean_se, low, high, replicates = hierarchical_mean_se(tables, n_boot=50, seed=1)
    assert replicates.shape == (50,) and low <= mean_se <= high
    with pytest.raises(ValueError, match="at least one unit"):
        hierarchical_mean([], 3, n_boot=10, seed=0)


def test_bad_input_is_named() -> None:
    table = rated({(None, 0.0): 0.1, (0, 1.0): 0.2})
    with pytest.raises(ValueError, match="word_rate"):
        lexical_lift_table(table.drop(columns="word_rate"), n_boot=10, seed=0)
    with pytest.raises(ValueError, match="n_boot"):
        lexical_lift_table(table, n_boot=0, seed=0)
    empty = lexical_lift_table(table.iloc[:0], n_boot=10, seed=0)
    assert empty.empty and list(empty.columns) == list(LIFT_COLUMNS)

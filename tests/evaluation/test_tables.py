"""Tests for steering.evaluation.tables (SE table, mean SE table, control margin)."""

from __future__ import annotations

import pandas as pd
import pytest

from steering.evaluation.coherence import coherence_flags
from steering.evaluation.effectiveness import steering_effectiveness
from steering.evaluation.resampled_tables import (
    per_resample_mean_se_table,
    per_resample_rows,
    pooled_se_table,
    resampled_mean_se_table,
)
from steering.evaluation.tables import control_margin, mean_se_table, se_table
from tests.evaluation.synthetic_scores import synthetic_scores


def test_se_table_matches_point_estimates() -> None:
    df = synthetic_scores(methods={"dual": 0.5, "random": 0.0})
    table = se_table(df, n_boot=60, seed=0, coherence_rule="robust", ratio=1.5, distinct_ratio=0.5)
    assert list(table.columns) == [
        "method",
        "n_examples",
        "concept",
        "se",
        "ci_low",
        "ci_high",
        "rho",
        "r",
        "coherence_rate",
        "coherence_rate_prototype",
        "flags",
        "n",
    ]
    assert table[["method", "concept"]].values.tolist() == [
        ["dual", "change"],
        ["dual", "person"],
        ["random", "change"],
        ["random", "person"],
    ]
    row = table.iloc[1]
    group = df.loc[(df["method"] == "dual") & (df["concept"] == "person")]
    coherent = coherence_flags(group, rule="robust", ratio=1.5, distinct_ratio=0.5)
    expected = steering_effectiveness(
        group["delta"], group["strength"], group["reference"], coherent
    )
    assert row["se"] == pytest.approx(expected.se)
    assert row["n"] == 40
    # perplexity 10 + strength <= 15 fails only at strength 8 (18): 30/40 under both rules
    assert row["coherence_rate_prototype"] == pytest.approx(30 / 40)
    assert row["coherence_rate"] == pytest.approx(30 / 40)
    assert row["ci_low"] <= row["se"] <= row["ci_high"]
    assert (table["flags"] == "").all()


def test_se_table_robust_vs_prototype_coherence_differ_on_loops() -> None:
    df = synthetic_scores(methods={"dual": 0.5}, concepts=("person",))
    # loops at strength 4 (perplexity 14 passes the prototype's 15 bound): 10 rows
    loops = df["strength"] == 4.0
    df.loc[loops, ["perplexity", "ppl_first_k", "distinct2"]] = [3.0, 40.0, 0.1]
    table = se_table(df, n_boot=20, seed=0, coherence_rule="robust", ratio=1.5, distinct_ratio=0.5)
    # prototype: strengths 0, 2, 4 pass (10, 12, 3 <= 15), strength 8 fails (18) -> 30/40
    # robust: strength 4 loops also fail -> 20/40
    assert table.loc[0, "coherence_rate_prototype"] == pytest.approx(0.75)
    assert table.loc[0, "coherence_rate"] == pytest.approx(0.5)


def test_se_table_flags_constant_delta() -> None:
    df = synthetic_scores(methods={"dual": 0.5}, concepts=("person",)).assign(delta=1.0)
    table = se_table(df, n_boot=20, seed=0, coherence_rule="robust", ratio=1.5, distinct_ratio=0.5)
    assert table.loc[0, "se"] == 0.0
    assert table.loc[0, "flags"] == (
        "rho_undefined: delta is constant (all values 1);"
        "r_undefined: delta is constant (all values 1)"
    )
    assert not table[["se", "ci_low", "ci_high", "rho", "r"]].isna().any().any()


def test_se_table_missing_columns() -> None:
    df = synthetic_scores(methods={"dual": 0.5}).drop(columns="prompt_id")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['prompt_id'\]"):
        se_table(df, n_boot=5, seed=0, coherence_rule="robust", ratio=1.5, distinct_ratio=0.5)


def test_mean_se_table_point_is_mean_of_concepts() -> None:
    df = synthetic_scores(methods={"dual": 0.5}, n_examples=(2, 4), concepts=("a", "b", "c"))
    kwargs = {"n_boot": 80, "seed": 3, "coherence_rule": "robust", "ratio": 1.5}
    table = se_table(df, distinct_ratio=0.5, **kwargs)  # type: ignore[arg-type]
    mean = mean_se_table(df, distinct_ratio=0.5, **kwargs)  # type: ignore[arg-type]
    assert mean["n_examples"].tolist() == [2, 4]
    expected = table.groupby("n_examples")["se"].mean()
    assert mean["mean_se"].to_numpy() == pytest.approx(expected.to_numpy())
    assert (mean["n_concepts"] == 3).all()
    assert (mean["ci_low"] <= mean["mean_se"]).all()
    assert (mean["mean_se"] <= mean["ci_high"]).all()
    # averaging three concepts under a shared prompt draw narrows the interval
    assert (mean["ci_high"] - mean["ci_low"]).mean() < (table["ci_high"] - table["ci_low"]).mean()
    again = mean_se_table(df, distinct_ratio=0.5, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(mean, again)


def test_control_margin() -> None:
    table = pd.DataFrame(
        {
            "method": ["dual", "dual", "random", "random"],
            "n_examples": [4, 4, 4, 4],
            "concept": ["a", "b", "a", "b"],
            "se": [0.6, 0.3, 0.1, 0.2],
            "ci_low": [0.5, 0.1, 0.0, 0.1],
            "ci_high": [0.7, 0.4, 0.2, 0.3],
        }
    )
    out = control_margin(table, method="dual")
    # a: 0.6 - 0.1 = 0.5, ci_low 0.5 > random ci_high 0.2 -> separated
    # b: 0.3 - 0.2 = 0.1, ci_low 0.1 <= 0.3 -> not separated
    assert out["margin"].tolist() == pytest.approx([0.5, 0.1])
    assert out["separated"].tolist() == [True, False]
    with pytest.raises(ValueError, match="method 'manifold' is not in the table"):
        control_margin(table, method="manifold")


SETTINGS = {"coherence_rule": "robust", "ratio": 1.5, "distinct_ratio": 0.5}


def _resampled(slopes: tuple[float, ...]) -> pd.DataFrame:
    """Resample r of 'dual' has delta slope slopes[r]; the strength-0 rows are one shared
    baseline with a missing resample (as a scores table with resamples would carry them)."""
    parts = []
    for r, slope in enumerate(slopes):
        df = synthetic_scores(methods={"dual": slope}, seed=r)
        parts.append(df[df.strength > 0].assign(resample=r))
    base = synthetic_scores(methods={"dual": 0.0}, seed=99)
    parts.append(base[base.strength == 0].assign(resample=float("nan")))
    return pd.concat(parts, ignore_index=True)


def test_per_resample_table_is_mean_se_table_of_each_resample_with_the_baseline() -> None:
    df = _resampled((0.5, 0.1))
    per = per_resample_mean_se_table(df, n_boot=30, seed=0, **SETTINGS)
    assert per[["method", "n_examples", "resample"]].values.tolist() == [
        ["dual", 4, 0],
        ["dual", 4, 1],
    ]
    for r in (0, 1):
        part = df[(df["resample"] == r) | df["resample"].isna()]
        expected = mean_se_table(part, n_boot=30, seed=0, **SETTINGS).iloc[0]
        assert per.iloc[r]["mean_se"] == pytest.approx(expected["mean_se"])
        assert per.iloc[r]["ci_low"] == pytest.approx(expected["ci_low"])
    assert per.iloc[0]["mean_se"] > per.iloc[1]["mean_se"]  # the steeper resample


def test_resampled_table_averages_resamples_and_widens_with_their_spread() -> None:
    df = _resampled((0.5, 0.1))
    per = per_resample_mean_se_table(df, n_boot=30, seed=0, **SETTINGS)
    table = resampled_mean_se_table(df, n_boot=200, seed=0, **SETTINGS)
    row = table.iloc[0]
    assert row["mean_se"] == pytest.approx(per["mean_se"].mean())
    assert (row["n_resamples"], row["n_concepts"]) == (2, 2)
    assert row["ci_low"] <= row["mean_se"] <= row["ci_high"]
    # the interval spans most of the gap between the two resamples' means
    assert row["ci_high"] - row["ci_low"] > 0.5 * (per["mean_se"].max() - per["mean_se"].min())
    same = resampled_mean_se_table(_resampled((0.5, 0.5)), n_boot=200, seed=0, **SETTINGS)
    assert same.iloc[0]["ci_high"] - same.iloc[0]["ci_low"] < row["ci_high"] - row["ci_low"]


def test_resampled_tables_need_the_resample_column() -> None:
    df = synthetic_scores(methods={"dual": 0.5})
    with pytest.raises(ValueError, match=r"missing column\(s\) \['resample'\]"):
        resampled_mean_se_table(df, n_boot=5, seed=0, **SETTINGS)
    with pytest.raises(ValueError, match="every row's resample is missing"):
        per_resample_mean_se_table(df.assign(resample=float("nan")), n_boot=5, seed=0, **SETTINGS)


def test_pooled_se_counts_the_baseline_once_per_resample() -> None:
    df = _resampled((0.5, 0.1))
    rows = per_resample_rows(df)
    n_base = int(df["resample"].isna().sum())
    assert len(rows) == len(df) + n_base  # the shared baseline joins both resamples
    assert rows["resample"].dtype.kind == "i" and set(rows["resample"]) == {0, 1}
    for r in (0, 1):
        own = rows[rows["resample"] == r]
        assert int((own.strength == 0).sum()) == n_base
    pooled = pooled_se_table(df, n_boot=20, seed=0, **SETTINGS)
    assert pooled[["method", "n_examples", "concept"]].values.tolist() == [
        ["dual", 4, c] for c in sorted(set(df.concept))
    ]
    assert pooled["n"].tolist() == rows.groupby("concept").size().tolist()
    expected = se_table(rows, n_boot=20, seed=0, **SETTINGS)
    pd.testing.assert_frame_equal(pooled, expected)

"""Tests for steering.evaluation.metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from steering.evaluation.coherence import coherence_flags, distinct_n
from steering.evaluation.metrics import (
    Correlation,
    Knee,
    auroc,
    bootstrap_se,
    control_margin,
    find_knee,
    find_knee_noise_aware,
    mean_se_by_scale,
    pearson,
    se_table,
    spearman,
    steering_effectiveness,
)

# --------------------------------------------------------------------------------------------
# distinct_n
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        # bigrams: (the,cat) (cat,sat) (sat,on) (on,the) (the,mat): 5 unique / 5
        ("the cat sat on the mat", 2, 1.0),
        # bigrams: ab ba ab ba ab -> {ab, ba}: 2 unique / 5
        ("a b a b a b", 2, 2 / 5),
        # degenerate loop: (mole,mole) x3 -> 1 unique / 3
        ("mole mole mole mole", 2, 1 / 3),
        # unigrams a a b -> {a, b}: 2 / 3
        ("a a b", 1, 2 / 3),
        # whitespace of any kind separates tokens: same as "a b a b a b"
        ("a  b\na\tb a b", 2, 2 / 5),
        # trigrams: (x,y,x) (y,x,y) (x,y,x) -> 2 unique / 3
        ("x y x y x", 3, 2 / 3),
    ],
)
def test_distinct_n_hand_values(text: str, n: int, expected: float) -> None:
    assert distinct_n(text, n) == pytest.approx(expected)


def test_distinct_n_conventions() -> None:
    assert distinct_n("") == 0.0  # empty output is degenerate
    assert distinct_n("   \n ") == 0.0
    assert distinct_n("hello") == 1.0  # fewer than n tokens: nothing can repeat


def test_distinct_n_rejects_bad_n() -> None:
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        distinct_n("a b", 0)


# --------------------------------------------------------------------------------------------
# Correlations
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Coherence
# --------------------------------------------------------------------------------------------


def _coherence_frame() -> pd.DataFrame:
    loop = "mole " * 12
    return pd.DataFrame(
        {
            # 0 normal, 1 degenerate loop, 2 gibberish, 3 exactly at the ratio,
            # 4 only distinct-2 bad, 5 only first-k perplexity bad
            "perplexity": [12.0, 3.0, 30.0, 15.0, 11.0, 11.0],
            "baseline_perplexity": [10.0] * 6,
            "ppl_first_k": [11.0, 40.0, 35.0, 15.0, 11.0, 16.0],
            "baseline_ppl_first_k": [10.0] * 6,
            "distinct2": [0.9, distinct_n(loop), 0.9, 0.475, 0.4, 0.9],
            "baseline_distinct2": [0.95] * 6,
        }
    )


def test_coherence_prototype_rule() -> None:
    # coherent iff perplexity <= 1.5 * 10 = 15: [12, 3, 30, 15, 11, 11]
    flags = coherence_flags(_coherence_frame(), rule="prototype", ratio=1.5, distinct_ratio=0.5)
    assert flags.tolist() == [True, True, False, True, True, True]
    assert flags.dtype == bool


def test_coherence_robust_rule_rejects_degenerate_loop() -> None:
    # ppl <= 15, first_k <= 15, distinct2 >= 0.5 * 0.95 = 0.475
    # row 1: distinct2 = 1/11 and first_k 40 -> rejected although its perplexity (3) is low
    # row 3: all three exactly at the bound (15, 15, 0.475) -> coherent (<= / >=)
    # row 4: distinct2 0.4 < 0.475 -> rejected; row 5: first_k 16 > 15 -> rejected
    df = _coherence_frame()
    flags = coherence_flags(df, rule="robust", ratio=1.5, distinct_ratio=0.5)
    assert flags.tolist() == [True, False, False, True, False, False]
    assert flags.index.equals(df.index)


def test_coherence_nan_counts_as_incoherent() -> None:
    df = _coherence_frame().iloc[:1].assign(perplexity=np.nan)
    assert not coherence_flags(df, rule="prototype", ratio=1.5, distinct_ratio=0.5).iloc[0]


def test_coherence_bad_arguments() -> None:
    df = _coherence_frame()
    with pytest.raises(
        ValueError, match=r"unknown coherence rule 'strict'; valid rules are prototype, robust"
    ):
        coherence_flags(df, rule="strict", ratio=1.5, distinct_ratio=0.5)
    for ratio in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="ratio must be a finite number > 0"):
            coherence_flags(df, rule="robust", ratio=ratio, distinct_ratio=0.5)
    with pytest.raises(ValueError, match="distinct_ratio must be"):
        coherence_flags(df, rule="robust", ratio=1.5, distinct_ratio=-0.1)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['distinct2'\]"):
        coherence_flags(df.drop(columns="distinct2"), rule="robust", ratio=1.5, distinct_ratio=0.5)
    # the prototype rule needs only the perplexity columns
    only_ppl = df[["perplexity", "baseline_perplexity"]]
    assert coherence_flags(only_ppl, rule="prototype", ratio=1.5, distinct_ratio=0.5).sum() == 5


# --------------------------------------------------------------------------------------------
# Steering effectiveness
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Bootstrap and tables
# --------------------------------------------------------------------------------------------

_STRENGTHS = (0.0, 2.0, 4.0, 8.0)


def _scores(
    *,
    methods: dict[str, float],
    scales: tuple[int, ...] = (4,),
    concepts: tuple[str, ...] = ("person", "change"),
    n_prompts: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-output scores; ``methods`` maps method -> delta slope per unit strength."""
    rng = np.random.default_rng(seed)
    rows = []
    for method, slope in methods.items():
        for scale in scales:
            for concept in concepts:
                for prompt in range(n_prompts):
                    for strength in _STRENGTHS:
                        delta = slope * strength + rng.normal(0.0, 1.0)
                        rows.append(
                            {
                                "method": method,
                                "scale": scale,
                                "concept": concept,
                                "prompt_id": prompt,
                                "strength": strength,
                                "text": "some text",
                                "delta": delta,
                                "reference": delta + rng.normal(0.0, 1.0),
                                "perplexity": 10.0 + strength,
                                "baseline_perplexity": 10.0,
                                "ppl_first_k": 10.0,
                                "baseline_ppl_first_k": 10.0,
                                "distinct2": 0.9,
                                "baseline_distinct2": 0.9,
                            }
                        )
    return pd.DataFrame(rows)


def _one_group() -> pd.DataFrame:
    df = _scores(methods={"dual": 0.5}, concepts=("person",))
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


def test_se_table_matches_point_estimates() -> None:
    df = _scores(methods={"dual": 0.5, "random": 0.0})
    table = se_table(df, n_boot=60, seed=0, coherence_rule="robust", ratio=1.5, distinct_ratio=0.5)
    assert list(table.columns) == [
        "method",
        "scale",
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
    df = _scores(methods={"dual": 0.5}, concepts=("person",))
    # loops at strength 4 (perplexity 14 passes the prototype's 15 bound): 10 rows
    loops = df["strength"] == 4.0
    df.loc[loops, ["perplexity", "ppl_first_k", "distinct2"]] = [3.0, 40.0, 0.1]
    table = se_table(df, n_boot=20, seed=0, coherence_rule="robust", ratio=1.5, distinct_ratio=0.5)
    # prototype: strengths 0, 2, 4 pass (10, 12, 3 <= 15), strength 8 fails (18) -> 30/40
    # robust: strength 4 loops also fail -> 20/40
    assert table.loc[0, "coherence_rate_prototype"] == pytest.approx(0.75)
    assert table.loc[0, "coherence_rate"] == pytest.approx(0.5)


def test_se_table_flags_constant_delta() -> None:
    df = _scores(methods={"dual": 0.5}, concepts=("person",)).assign(delta=1.0)
    table = se_table(df, n_boot=20, seed=0, coherence_rule="robust", ratio=1.5, distinct_ratio=0.5)
    assert table.loc[0, "se"] == 0.0
    assert table.loc[0, "flags"] == (
        "rho_undefined: delta is constant (all values 1);"
        "r_undefined: delta is constant (all values 1)"
    )
    assert not table[["se", "ci_low", "ci_high", "rho", "r"]].isna().any().any()


def test_se_table_missing_columns() -> None:
    df = _scores(methods={"dual": 0.5}).drop(columns="prompt_id")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['prompt_id'\]"):
        se_table(df, n_boot=5, seed=0, coherence_rule="robust", ratio=1.5, distinct_ratio=0.5)


def test_mean_se_by_scale_point_is_mean_of_concepts() -> None:
    df = _scores(methods={"dual": 0.5}, scales=(2, 4), concepts=("a", "b", "c"))
    kwargs = {"n_boot": 80, "seed": 3, "coherence_rule": "robust", "ratio": 1.5}
    table = se_table(df, distinct_ratio=0.5, **kwargs)  # type: ignore[arg-type]
    mean = mean_se_by_scale(df, distinct_ratio=0.5, **kwargs)  # type: ignore[arg-type]
    assert mean["scale"].tolist() == [2, 4]
    expected = table.groupby("scale")["se"].mean()
    assert mean["mean_se"].to_numpy() == pytest.approx(expected.to_numpy())
    assert (mean["n_concepts"] == 3).all()
    assert (mean["ci_low"] <= mean["mean_se"]).all()
    assert (mean["mean_se"] <= mean["ci_high"]).all()
    # averaging three concepts under a shared prompt draw narrows the interval
    assert (mean["ci_high"] - mean["ci_low"]).mean() < (table["ci_high"] - table["ci_low"]).mean()
    again = mean_se_by_scale(df, distinct_ratio=0.5, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(mean, again)


def test_control_margin() -> None:
    table = pd.DataFrame(
        {
            "method": ["dual", "dual", "random", "random"],
            "scale": [4, 4, 4, 4],
            "concept": ["a", "b", "a", "b"],
            "se": [0.6, 0.3, 0.1, 0.2],
            "ci_low": [0.5, 0.1, 0.0, 0.1],
            "ci_high": [0.7, 0.4, 0.2, 0.3],
        }
    )
    out = control_margin(table)
    # a: 0.6 - 0.1 = 0.5, ci_low 0.5 > random ci_high 0.2 -> separated
    # b: 0.3 - 0.2 = 0.1, ci_low 0.1 <= 0.3 -> not separated
    assert out["margin"].tolist() == pytest.approx([0.5, 0.1])
    assert out["separated"].tolist() == [True, False]
    with pytest.raises(ValueError, match="method 'manifold' is not in the table"):
        control_margin(table, method="manifold")


# --------------------------------------------------------------------------------------------
# Knee
# --------------------------------------------------------------------------------------------


def test_knee_normal() -> None:
    # gains: 2->4 +0.20, 4->8 +0.01 (< 0.02) -> knee at 4
    knee = find_knee([2, 4, 8, 16], [0.1, 0.3, 0.31, 0.5])
    assert knee.scale == 4
    assert "from scale 4 to 8" in knee.reason


def test_knee_none_when_still_improving() -> None:
    knee = find_knee([2, 4, 8, 16], [0.1, 0.2, 0.3, 0.4])
    assert knee == Knee(None, "no knee: SE still improving by >= threshold at the largest scale")


def test_knee_tie_at_threshold_counts_as_improving() -> None:
    # exact in binary: gains 0.25, 0.5 with threshold 0.25 -> never strictly below -> no knee
    assert find_knee([2, 4, 8], [0.25, 0.5, 1.0], threshold=0.25).scale is None
    # 0.30 - 0.28 == 0.019999999999999997 in floats: still a tie with 0.02, not a knee
    assert find_knee([2, 4, 8], [0.28, 0.30, 0.60]).scale is None
    # just below the threshold is a knee: 0.49 - 0.25 = 0.24 < 0.25
    assert find_knee([2, 4, 8], [0.25, 0.49, 1.0], threshold=0.25).scale == 2


def test_knee_single_scale_and_empty() -> None:
    assert find_knee([8], [0.4]) == Knee(None, "no knee: need at least 2 scales, got 1")
    assert find_knee([], []).scale is None


def test_knee_decreasing_se_is_knee_at_first_scale() -> None:
    knee = find_knee([2, 4, 8], [0.5, 0.4, 0.3])
    assert knee.scale == 2
    assert "-0.100" in knee.reason


def test_knee_bad_inputs() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        find_knee([4, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="mean_se has 1 values but scales has 2"):
        find_knee([2, 4], [0.1])
    with pytest.raises(ValueError, match="NaN"):
        find_knee([2, 4], [0.1, float("nan")])
    with pytest.raises(ValueError, match="threshold must be"):
        find_knee([2, 4], [0.1, 0.2], threshold=-0.1)


def test_noise_aware_knee() -> None:
    scales = [2, 4, 8, 16]
    mean = [0.10, 0.30, 0.35, 0.36]
    low = [0.05, 0.25, 0.28, 0.30]
    high = [0.15, 0.35, 0.42, 0.43]
    # 2->4: 0.10 < ci_low(4) = 0.25 -> significant; 4->8: 0.30 in [0.28, 0.42] -> knee at 4
    knee = find_knee_noise_aware(scales, mean, low, high)
    assert knee.scale == 4
    assert "inside" in knee.reason
    # only ci_low decides: a different upper bound leaves the knee at 4
    assert find_knee_noise_aware(scales, mean, low, [0.15, 0.35, 0.40, 0.40]).scale == 4
    # raised lower bounds: 0.10 < 0.25, 0.30 < 0.33, 0.35 < 0.355 -> every step significant
    none = find_knee_noise_aware(scales, mean, [0.05, 0.25, 0.33, 0.355], high)
    assert none.scale is None and none.reason.startswith("no knee")
    # the next scale significantly worse: CI entirely below the current mean -> knee
    worse = find_knee_noise_aware([2, 4], [0.5, 0.2], [0.45, 0.1], [0.55, 0.3])
    assert worse.scale == 2 and "above" in worse.reason
    assert find_knee_noise_aware([2], [0.5], [0.4], [0.6]).scale is None
    with pytest.raises(ValueError, match="ci_low must be <= ci_high"):
        find_knee_noise_aware([2, 4], [0.1, 0.2], [0.2, 0.1], [0.1, 0.3])


# --------------------------------------------------------------------------------------------
# AUROC
# --------------------------------------------------------------------------------------------


def test_auroc_hand_values() -> None:
    # pairs (pos, neg): (0.35,0.1) win, (0.35,0.4) loss, (0.8,0.1) win, (0.8,0.4) win -> 3/4
    assert auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    # a tie counts half: (0.5 vs 0.5) -> 0.5
    assert auroc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    # pos 0.5 vs neg {0.5, 0.1}: 0.5 + 1 = 1.5 / 2
    assert auroc([False, False, True], [0.5, 0.1, 0.5]) == pytest.approx(0.75)
    assert auroc([1, 1, 0, 0], [3, 4, 1, 2]) == 1.0
    assert auroc([1, 1, 0, 0], [1, 2, 3, 4]) == 0.0


def test_auroc_bad_inputs() -> None:
    with pytest.raises(ValueError, match="both classes, got 2 positives and 0 negatives"):
        auroc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="labels must hold booleans or 0/1, found 2"):
        auroc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="differ in length"):
        auroc([0, 1], [0.1])

"""Tests for steering.evaluation.coherence against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steering.evaluation.coherence import coherence_flags, distinct_n, require_columns


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


def test_require_columns_names_missing_and_present() -> None:
    df = pd.DataFrame({"a": [1], "b": [2]})
    require_columns(df, ["a", "b"], "table")  # all present: no error
    with pytest.raises(
        ValueError, match=r"table is missing column\(s\) \['c'\]; it has \['a', 'b'\]"
    ):
        require_columns(df, ("a", "c"), "table")

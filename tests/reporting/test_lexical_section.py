"""Tests for the report's judge-free concept-word section and its per-method sentence."""

from __future__ import annotations

import math

import pandas as pd

from steering.reporting.verdicts import lexical_section, lexical_sentence


def lift_table(method: str, rows: list[tuple[int, float, float, float]]) -> pd.DataFrame:
    """Rows ``(n_examples, lift, ci_low, ci_high)`` of one method, rates made up around them."""
    return pd.DataFrame(
        [
            {
                "method": method,
                "n_examples": n,
                "lift": lift,
                "ci_low": low,
                "ci_high": high,
                "rate_base": 0.01,
                "rate_max": 0.01 + lift,
                "rate_min": 0.005,
                "n_resamples": 3,
            }
            for n, lift, low, high in rows
        ]
    )


def per_concept(lift: pd.DataFrame) -> pd.DataFrame:
    return lift[["method", "n_examples", "rate_base", "rate_max"]].assign(concept="animal", rho=0.5)


def test_an_interval_above_zero_raises_the_words_at_that_n_only() -> None:
    table = lift_table("dual", [(1, 0.01, -0.002, 0.02), (4, 0.05, 0.02, 0.08)])
    sentence = lexical_sentence("dual", table)
    assert sentence == (
        "- **dual**: raises its concept's words: lift 0.05 [0.02, 0.08] at n = 4; "
        "the interval covers 0 at n = 1."
    )


def test_every_interval_covering_zero_is_no_measurable_effect() -> None:
    table = lift_table("random", [(1, 0.001, -0.01, 0.012), (4, -0.002, -0.02, 0.0)])
    assert lexical_sentence("random", table) == (
        "- **random**: no measurable lexical effect (every interval covers 0, n = 1, 4)."
    )


def test_an_interval_below_zero_lowers_and_no_interval_is_said() -> None:
    lowers = lexical_sentence("mean", lift_table("mean", [(2, -0.03, -0.05, -0.01)]))
    assert lowers == "- **mean**: lowers its concept's words: lift -0.03 [-0.05, -0.01] at n = 2."
    none = lexical_sentence("mean", lift_table("mean", [(2, math.nan, math.nan, math.nan)]))
    assert "no interval" in none and "raises" not in none


def test_section_shows_the_intervals_and_one_sentence_per_method() -> None:
    lift = pd.concat(
        [
            lift_table("dual", [(4, 0.05, 0.02, 0.08)]),
            lift_table("random", [(4, 0.0, -0.01, 0.01)]),
        ],
        ignore_index=True,
    )
    text = "\n".join(lexical_section(per_concept(lift), ["food"], lift=lift))
    assert (
        "| method | n_examples | rate_base | rate_max | rate_min | lift | ci_low | ci_high |"
        in text
    )
    assert "- **dual**: raises its concept's words" in text
    assert "- **random**: no measurable lexical effect" in text
    assert "Not checked (no word list): food." in text
    # Without negative strengths there is no rate_min column; without a lift table, no sentence.
    no_negative = "\n".join(
        lexical_section(per_concept(lift), [], lift=lift.assign(rate_min=math.nan))
    )
    assert "rate_min |" not in no_negative
    old = "\n".join(lexical_section(per_concept(lift), []))
    assert "rho" in old and "- **dual**" not in old
    assert "nothing checked" in "\n".join(lexical_section(pd.DataFrame(), [], lift=lift.iloc[:0]))

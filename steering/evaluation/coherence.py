"""Coherence of generated text: distinct-n and the coherence rules (prototype and robust).

Kept apart from the SE, bootstrap and knee modules so that strength calibration, which uses
these rules, does not depend on them. Also home of :func:`require_columns`, the one check that a
table has the columns a function needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

import pandas as pd

COHERENCE_RULES: Final[tuple[str, ...]] = ("prototype", "robust")
_PROTOTYPE_COLUMNS: Final[tuple[str, ...]] = ("perplexity", "baseline_perplexity")
_ROBUST_COLUMNS: Final[tuple[str, ...]] = (
    "perplexity",
    "baseline_perplexity",
    "ppl_first_k",
    "baseline_ppl_first_k",
    "distinct2",
    "baseline_distinct2",
)


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise a ``ValueError`` naming the missing columns unless ``df`` has all of ``columns``.

    Args:
        df: The table to check.
        columns: The column names it needs.
        what: How to name the table in the error (e.g. the argument or file name).

    Raises:
        ValueError: If any column is missing; the message lists the missing and present columns.
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what} is missing column(s) {missing}; it has {list(df.columns)}. Add the missing "
            "columns (the per-output scores schema is in steering.evaluation.scoring)."
        )


def _check_ratio(ratio: float, distinct_ratio: float) -> None:
    if not (math.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratio must be a finite number > 0, got {ratio}; e.g. use 1.5")
    if not (math.isfinite(distinct_ratio) and distinct_ratio >= 0):
        raise ValueError(
            f"distinct_ratio must be a finite number >= 0, got {distinct_ratio}; e.g. use 0.5"
        )


def distinct_n(text: str, n: int = 2) -> float:
    """Fraction of distinct n-grams among the n-grams of whitespace-separated tokens.

    Conventions: an empty (or all-whitespace) text returns 0.0, because an empty output is
    degenerate; a non-empty text with fewer than ``n`` tokens returns 1.0, because it has no
    n-grams and so cannot repeat one.

    Args:
        text: The generated text.
        n: The n-gram order, >= 1.

    Returns:
        ``len(set(ngrams)) / len(ngrams)`` in [0, 1].

    Raises:
        ValueError: If ``n`` < 1.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}; use n=2 for distinct-2")
    tokens = text.split()
    if not tokens:
        return 0.0
    if len(tokens) < n:
        return 1.0
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams)


def coherence_flags(
    df: pd.DataFrame, *, rule: str, ratio: float, distinct_ratio: float
) -> pd.Series[bool]:
    """Decide per output whether it is coherent.

    Rules:
        ``"prototype"``: coherent iff ``perplexity <= ratio * baseline_perplexity`` (exactly the
        prototype's rule; ``distinct_ratio`` is validated but unused).
        ``"robust"``: coherent iff ``ppl_first_k <= ratio * baseline_ppl_first_k`` and
        ``perplexity <= ratio * baseline_perplexity`` and
        ``distinct2 >= distinct_ratio * baseline_distinct2``. The distinct-2 and first-k terms
        reject degenerate loops ("mole mole mole ..."), whose full-continuation perplexity is low.

    A NaN in any compared column makes the comparison false, so the output counts as incoherent.

    Args:
        df: Per-output table with the columns named above.
        rule: ``"prototype"`` or ``"robust"``.
        ratio: Allowed perplexity ratio to the unsteered output, > 0.
        distinct_ratio: Required distinct-2 ratio to the unsteered output, >= 0.

    Returns:
        A boolean Series named ``"coherent"`` aligned with ``df.index``.

    Raises:
        ValueError: On an unknown rule, ``ratio <= 0``, ``distinct_ratio < 0`` or missing columns.
    """
    if rule not in COHERENCE_RULES:
        raise ValueError(
            f"unknown coherence rule {rule!r}; valid rules are {', '.join(COHERENCE_RULES)}"
        )
    _check_ratio(ratio, distinct_ratio)
    require_columns(df, _PROTOTYPE_COLUMNS if rule == "prototype" else _ROBUST_COLUMNS, "df")
    ok = df["perplexity"].astype(float) <= ratio * df["baseline_perplexity"].astype(float)
    if rule == "robust":
        ok &= df["ppl_first_k"].astype(float) <= ratio * df["baseline_ppl_first_k"].astype(float)
        ok &= df["distinct2"].astype(float) >= distinct_ratio * df["baseline_distinct2"].astype(
            float
        )
    return ok.astype(bool).rename("coherent")

"""Judge confusion matrix: how the judge scores texts about concept X under concept Y's rubric.

A trustworthy judge gives texts about X high scores under X's rubric and low ones under every
other rubric: a strong diagonal. The texts about X are the label-1 lines of X in the judge
checks (``data/judge_checks.jsonl``, read with
:func:`~steering.evaluation.judges.validation.load_checks`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from steering.evaluation.auroc import auroc
from steering.evaluation.coherence import require_columns
from steering.evaluation.judges.base import Judge, Rubric
from steering.evaluation.judges.validation import SCORE_COLUMNS, check_scores

CONFUSION_COLUMNS: tuple[str, ...] = ("about", "rubric_concept", "text", "score")
"""Columns of the long table of :func:`confusion_scores` (written as judge_confusion.parquet)."""


def confusion_scores(
    judge: Judge, checks: pd.DataFrame, rubrics: Mapping[str, Rubric]
) -> pd.DataFrame:
    """Score every on-concept check text with every concept's rubric.

    Args:
        judge: Any judge.
        checks: The checks table (``concept``, ``text``, ``label``); label-1 rows are the texts
            about their concept.
        rubrics: Rubric per concept (usually the ``concept`` kind); every concept of the checks
            needs one.

    Returns:
        Long table ``about``, ``rubric_concept``, ``text``, ``score``.

    Raises:
        ValueError: On missing columns, a concept without a rubric, or a judge that returns the
            wrong number of scores.
    """
    require_columns(checks, ("concept", "text", "label"), "checks (load them with load_checks())")
    on = checks[checks["label"] == 1]
    return confusion_from_scores(checks, check_scores(judge, on, rubrics))


def confusion_from_scores(checks: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """The confusion long table from scores already made by
    :func:`~steering.evaluation.judges.validation.check_scores` (every text, every rubric).

    Args:
        checks: The checks table; its label-1 rows are the texts about their concept.
        scores: ``text``, ``rubric_concept``, ``score`` covering those texts.

    Returns:
        :data:`CONFUSION_COLUMNS`, rows ordered by rubric then check order.

    Raises:
        ValueError: On missing columns or an on-concept text without a score.
    """
    require_columns(checks, ("concept", "text", "label"), "checks (load them with load_checks())")
    require_columns(scores, SCORE_COLUMNS, "scores (make them with check_scores())")
    on = checks.loc[checks["label"] == 1, ["concept", "text"]].drop_duplicates()
    on = on.rename(columns={"concept": "about"})
    merged = on.merge(scores[list(SCORE_COLUMNS)], on="text", how="left", validate="many_to_many")
    if merged["score"].isna().any():
        text = merged.loc[merged["score"].isna(), "text"].iloc[0]
        raise ValueError(f"no score for on-concept check text {text!r:.60}; score it first")
    merged = merged.sort_values("rubric_concept", kind="stable", ignore_index=True)
    merged["score"] = merged["score"].astype(np.float64)
    return merged[list(CONFUSION_COLUMNS)]


def pairwise_auroc(scored: pd.DataFrame) -> pd.DataFrame:
    """Per rubric Y and other concept X: AUROC of Y's rubric, texts about Y vs texts about X.

    Args:
        scored: The confusion long table (:data:`CONFUSION_COLUMNS`).

    Returns:
        Columns ``rubric``, ``about`` (the other concept), ``auroc``, ``mean_own`` (texts about
        Y), ``mean_about`` (texts about X), all under Y's rubric; sorted by ``auroc`` (the
        weakest pair first).

    Raises:
        ValueError: On missing columns, or fewer than two concepts.
    """
    require_columns(scored, ("about", "rubric_concept", "score"), "scored")
    concepts = sorted(set(scored["about"]) & set(scored["rubric_concept"]))
    if len(concepts) < 2:
        raise ValueError(f"pairwise AUROC needs two or more concepts, got {concepts}")
    rows = []
    for rubric in concepts:
        under = scored[scored["rubric_concept"] == rubric]
        own = under.loc[under["about"] == rubric, "score"].to_numpy()
        for about in concepts:
            if about == rubric:
                continue
            theirs = under.loc[under["about"] == about, "score"].to_numpy()
            labels = np.r_[np.ones(own.size), np.zeros(theirs.size)]
            rows.append(
                {
                    "rubric": rubric,
                    "about": about,
                    "auroc": auroc(labels, np.r_[own, theirs]),
                    "mean_own": float(own.mean()),
                    "mean_about": float(theirs.mean()),
                }
            )
    return pd.DataFrame(rows).sort_values(["auroc", "rubric", "about"], ignore_index=True)


def confusion_matrix(scored: pd.DataFrame) -> pd.DataFrame:
    """Mean score of texts about X (rows) under Y's rubric (columns).

    Args:
        scored: Long table with ``about``, ``rubric_concept`` and ``score`` (e.g.
            :func:`confusion_scores`).

    Returns:
        Index ``about``, columns ``rubric``, both sorted; NaN where a pair was not scored.

    Raises:
        ValueError: On missing columns or an empty table.
    """
    require_columns(scored, ("about", "rubric_concept", "score"), "scored")
    if scored.empty:
        raise ValueError("scored is empty; score at least one text")
    table = scored.pivot_table(
        index="about", columns="rubric_concept", values="score", aggfunc="mean"
    )
    table = table.sort_index()[sorted(table.columns)].astype(np.float64)
    table.index.name, table.columns.name = "about", "rubric"
    return table

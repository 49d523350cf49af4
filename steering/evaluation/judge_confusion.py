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

from steering.evaluation.coherence import require_columns
from steering.evaluation.judges.base import Judge, Rubric


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
    on = checks[checks["label"] == 1].drop_duplicates(["concept", "text"])
    concepts = sorted(set(checks["concept"]))
    no_rubric = [c for c in concepts if c not in rubrics]
    if no_rubric:
        raise ValueError(f"no rubric for concept(s) {no_rubric}; rubrics given: {sorted(rubrics)}")
    texts = on["text"].tolist()
    frames = []
    for rubric_concept in concepts:
        scores = list(judge.score(texts, rubrics[rubric_concept]))
        if len(scores) != len(texts):
            raise ValueError(
                f"judge returned {len(scores)} scores for {len(texts)} texts under "
                f"{rubric_concept!r}'s rubric"
            )
        frames.append(
            pd.DataFrame(
                {
                    "about": on["concept"].to_numpy(),
                    "rubric_concept": rubric_concept,
                    "text": texts,
                    "score": np.asarray(scores, dtype=np.float64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


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

"""Off-target matrix: how steering toward concept A moves the judge's score for concept B.

The scores table (:mod:`steering.evaluation.scoring`) holds each output's score for the concept
it was steered toward only. The off-target matrix needs every steered text scored with EVERY
concept's rubric: a long table ``judge_scores`` with columns ``output_id``, ``rubric_concept``
and ``score`` (0-10), one row per (output, rubric), for steered and baseline outputs alike.

Entry (A, B) is the mean score under B's rubric of the outputs steered toward A at positive
strengths, minus the mean score under B's rubric of the unsteered baseline outputs (strength 0,
each baseline output counted once however many groups it is copied into). The diagonal is the
on-target effect; a selective method has a large diagonal and off-diagonal entries near 0.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from steering.evaluation.coherence import require_columns

OUTPUT_COLUMNS: Final[tuple[str, ...]] = (
    "output_id",
    "method",
    "n_examples",
    "concept",
    "strength",
)
JUDGE_SCORE_COLUMNS: Final[tuple[str, ...]] = ("output_id", "rubric_concept", "score")


def _mean_scores(ids: pd.Series, wide: pd.DataFrame, what: str) -> pd.Series:
    unique = pd.Index(ids.unique())
    missing = unique.difference(wide.index)
    if len(missing):
        raise ValueError(
            f"judge_scores has no scores for {len(missing)} {what} output(s), e.g. "
            f"{list(missing[:3])}; score every output with every concept's rubric"
        )
    rows = wide.loc[unique]
    if rows.isna().any().any():
        gaps = rows.columns[rows.isna().any()].tolist()
        raise ValueError(
            f"judge_scores lacks rubric(s) {gaps} for some {what} outputs; score every output "
            "with every concept's rubric"
        )
    return rows.mean()


def off_target_matrix(
    outputs: pd.DataFrame,
    judge_scores: pd.DataFrame,
    *,
    method: str,
    n_examples: int | None = None,
) -> pd.DataFrame:
    """Concepts x concepts table of score changes (definition in the module docstring).

    Args:
        outputs: One row per output and group, with ``output_id``, ``method``, ``n_examples``,
            ``concept`` (steered toward) and ``strength`` (the scores table has them); strength-0
            rows are the baseline.
        judge_scores: Long table ``output_id``, ``rubric_concept``, ``score``.
        method: The method whose steering is examined.
        n_examples: Only this scale; None pools every scale of the method.

    Returns:
        Index ``steered`` (concept A, sorted), columns ``rubric`` (concept B, sorted): the mean
        score change. Rows are the steered concepts present; columns every rubric scored.

    Raises:
        ValueError: On missing columns, no rows for the method (and scale), no positive-strength
            or no baseline outputs, or an output missing some rubric's score.
    """
    require_columns(outputs, OUTPUT_COLUMNS, "outputs")
    require_columns(judge_scores, JUDGE_SCORE_COLUMNS, "judge_scores")
    rows = outputs[outputs["method"] == method]
    if n_examples is not None:
        rows = rows[rows["n_examples"] == n_examples]
    if rows.empty:
        scale = "" if n_examples is None else f" at n_examples={n_examples}"
        raise ValueError(
            f"no outputs of method {method!r}{scale}; methods: {sorted(set(outputs['method']))}"
        )
    steered = rows[rows["strength"] > 0]
    baseline = rows[rows["strength"] == 0]
    if steered.empty or baseline.empty:
        raise ValueError(
            f"method {method!r} needs outputs at positive strengths and at strength 0 (the "
            f"baseline); got {len(steered)} and {len(baseline)}"
        )
    if judge_scores.duplicated(["output_id", "rubric_concept"]).any():
        raise ValueError("judge_scores has several scores for one (output_id, rubric_concept)")
    wide = judge_scores.pivot(index="output_id", columns="rubric_concept", values="score")
    base = _mean_scores(baseline["output_id"], wide, "baseline")
    matrix = {
        concept: _mean_scores(group["output_id"], wide, f"{concept!r}-steered") - base
        for concept, group in steered.groupby("concept", sort=True)
    }
    table = pd.DataFrame(matrix).T.astype(np.float64)
    table = table[sorted(table.columns)]
    table.index.name, table.columns.name = "steered", "rubric"
    return table


def selectivity(matrix: pd.DataFrame) -> pd.Series:
    """Per steered concept: its on-target change minus the mean change of the other rubrics.

    Raises:
        ValueError: When a steered concept has no column of its own in ``matrix``.
    """
    missing = [c for c in matrix.index if c not in matrix.columns]
    if missing:
        raise ValueError(f"no rubric column for steered concept(s) {missing}; score them too")
    out = {}
    for concept in matrix.index:
        others = matrix.loc[concept].drop(concept)
        on = float(matrix.loc[concept, concept])
        out[concept] = on - float(others.mean()) if len(others) else on
    return pd.Series(out, name="selectivity", dtype=np.float64)

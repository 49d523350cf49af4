"""Contrastive concept scores: a concept's rubric score minus part of the other concepts'.

With contrast weight ``w`` (config ``judge.contrast``, 0 to 1), a text's concept score is

    score_X = raw_X - w * mean(raw_Y for every other concept Y)

where ``raw_C`` is the judge's 0-10 score under concept C's rubric (range ``-10 w`` to 10).
``w = 0`` is the raw score (and reads only X's rubric); ``w = 1`` is fully contrastive. A small
judge rates many texts a little "about" every concept (gemma-3-270m rates texts about action
high under the animal rubric); what separates a text about animals from one about action is
that it scores higher under the animal rubric than under the others. The subtraction removes
the part every rubric shares. A full subtraction also erases what sets texts about a concept
apart from neutral texts (low under every rubric), hence a weight. Measured on gemma-3-270m
(BENCHMARKS.md, "Judge AUROC per concept"): 0.5 raises AUROC against the other concepts by
0.01-0.04 but lowers change-vs-neutral, so the default is 0. Opposite and bipolar rubrics pass
through raw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from steering.evaluation.judges.base import Judge, Rubric

__all__ = ["ContrastiveJudge", "check_weight", "contrast", "scoring_judge"]


def check_weight(weight: float) -> float:
    """``weight`` as a float after checking it lies in [0, 1] (``judge.contrast``)."""
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
        raise ValueError(
            f"judge.contrast = {weight!r} must be a number from 0 (raw scores) to 1 (fully "
            "contrastive), e.g. 0.5"
        )
    return float(weight)


def contrast(wide: pd.DataFrame, weight: float = 1.0) -> pd.DataFrame:
    """Contrastive scores from a text x concept table of raw scores.

    Args:
        wide: One row per text, one column per concept (raw 0-10 scores under that concept's
            rubric); at least two columns.
        weight: The contrast weight ``w`` in [0, 1].

    Returns:
        The same shape: each cell minus ``weight`` x the mean of the other columns of its row.

    Raises:
        ValueError: With fewer than two concepts (nothing to contrast against) or a weight
            outside [0, 1].
    """
    weight = check_weight(weight)
    k = wide.shape[1]
    if k < 2:
        raise ValueError(
            f"contrastive scores need at least two concepts, got {list(wide.columns)}; "
            "use judge.contrast: 0 with a single concept"
        )
    total = wide.sum(axis=1).to_numpy()[:, None]
    values = wide.to_numpy(dtype=np.float64)
    out = values - weight * (total - values) / (k - 1)
    return pd.DataFrame(out, index=wide.index, columns=wide.columns)


class ContrastiveJudge:
    """A judge whose ``concept`` scores are contrastive (see the module docstring).

    Args:
        inner: The judge that gives raw scores (usually a
            :class:`~steering.evaluation.judges.cached.CachedJudge`, so each rubric's raw
            judgments are cached and shared with other stages).
        concept_rubrics: The ``concept`` rubric of every concept, by concept name (two or more).
        weight: The contrast weight ``w`` in [0, 1].

    Attributes:
        judge_id: ``inner.judge_id`` + ``":contrast<w>"``, e.g. ``...:contrast0.5``.
    """

    def __init__(
        self, inner: Judge, concept_rubrics: Mapping[str, Rubric], weight: float = 1.0
    ) -> None:
        self.weight = check_weight(weight)
        if len(concept_rubrics) < 2:
            raise ValueError(
                f"contrastive scoring needs the rubrics of at least two concepts, got "
                f"{sorted(concept_rubrics)}; use judge.contrast: 0 with a single concept"
            )
        for name, rubric in concept_rubrics.items():
            if rubric.kind != "concept" or rubric.concept != name:
                raise ValueError(
                    f"concept_rubrics[{name!r}] must be the 'concept' rubric of {name!r}, got a "
                    f"{rubric.kind!r} rubric of {rubric.concept!r}"
                )
        self.inner = inner
        self.concept_rubrics = dict(sorted(concept_rubrics.items()))
        self.judge_id = f"{inner.judge_id}:contrast{self.weight:g}"

    def raw_scores(self, texts: Sequence[str]) -> pd.DataFrame:
        """Raw scores of ``texts`` (rows, in order) under every concept's rubric (columns)."""
        return pd.DataFrame(
            {c: self.inner.score(texts, r) for c, r in self.concept_rubrics.items()},
            index=range(len(texts)),
            dtype=np.float64,
        )

    def score(self, texts: Sequence[str], rubric: Rubric) -> list[float]:
        """Contrastive scores for a ``concept`` rubric; raw scores for any other kind."""
        if rubric.kind != "concept":
            return list(self.inner.score(texts, rubric))
        known = self.concept_rubrics.get(rubric.concept)
        if known != rubric:
            raise ValueError(
                f"rubric for {rubric.concept!r} is not one of the contrastive judge's concept "
                f"rubrics ({sorted(self.concept_rubrics)}); build the judge with it"
            )
        if len(texts) == 0:
            return []
        return contrast(self.raw_scores(texts), self.weight)[rubric.concept].tolist()


def scoring_judge(inner: Judge, weight: float, concept_rubrics: Mapping[str, Rubric]) -> Judge:
    """Wrap ``inner`` for the contrast ``weight`` (``0``: ``inner`` itself, raw scores).

    Raises:
        ValueError: On a weight outside [0, 1].
    """
    if check_weight(weight) == 0:
        return inner
    return ContrastiveJudge(inner, concept_rubrics, weight)

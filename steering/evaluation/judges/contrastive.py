"""Scoring modes of the judge: raw rubric scores, or contrastive concept scores.

``raw``: a text's score under a concept's rubric is what the judge says (0-10).

``contrastive``: a text's concept score is its raw score under that concept's rubric minus the
mean of its raw scores under the *other* concepts' rubrics (range -10 to 10). A small judge
rates many texts a little "about" every concept (on-concept means 2.7-3.7 of 10, off-concept
2.4-3.2 for gemma-3-270m); what separates a text about animals from one about people is that
it scores higher under the animal rubric than under the others. The subtraction removes the
part of the score every rubric shares. Opposite and bipolar rubrics are passed through raw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from steering.evaluation.judges.base import Judge, Rubric

__all__ = ["SCORING_MODES", "ContrastiveJudge", "contrast", "scoring_judge"]

SCORING_MODES: tuple[str, ...] = ("raw", "contrastive")
"""Values of the ``judge.scoring`` setting."""


def contrast(wide: pd.DataFrame) -> pd.DataFrame:
    """Contrastive scores from a text x concept table of raw scores.

    Args:
        wide: One row per text, one column per concept (raw 0-10 scores under that concept's
            rubric); at least two columns.

    Returns:
        The same shape: each cell minus the mean of the other columns of its row.

    Raises:
        ValueError: With fewer than two concepts (nothing to contrast against).
    """
    k = wide.shape[1]
    if k < 2:
        raise ValueError(
            f"contrastive scores need at least two concepts, got {list(wide.columns)}; "
            "use judge.scoring: raw with a single concept"
        )
    total = wide.sum(axis=1).to_numpy()[:, None]
    values = wide.to_numpy(dtype=np.float64)
    return pd.DataFrame(values - (total - values) / (k - 1), index=wide.index, columns=wide.columns)


class ContrastiveJudge:
    """A judge whose ``concept`` scores are contrastive (see the module docstring).

    Args:
        inner: The judge that gives raw scores (usually a
            :class:`~steering.evaluation.judges.cached.CachedJudge`, so each rubric's raw
            judgments are cached and shared with other stages).
        concept_rubrics: The ``concept`` rubric of every concept, by concept name (two or more).

    Attributes:
        judge_id: ``inner.judge_id`` + ``":contrastive"``.
    """

    def __init__(self, inner: Judge, concept_rubrics: Mapping[str, Rubric]) -> None:
        if len(concept_rubrics) < 2:
            raise ValueError(
                f"contrastive scoring needs the rubrics of at least two concepts, got "
                f"{sorted(concept_rubrics)}; use judge.scoring: raw with a single concept"
            )
        for name, rubric in concept_rubrics.items():
            if rubric.kind != "concept" or rubric.concept != name:
                raise ValueError(
                    f"concept_rubrics[{name!r}] must be the 'concept' rubric of {name!r}, got a "
                    f"{rubric.kind!r} rubric of {rubric.concept!r}"
                )
        self.inner = inner
        self.concept_rubrics = dict(sorted(concept_rubrics.items()))
        self.judge_id = f"{inner.judge_id}:contrastive"

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
        return contrast(self.raw_scores(texts))[rubric.concept].tolist()


def scoring_judge(inner: Judge, mode: str, concept_rubrics: Mapping[str, Rubric]) -> Judge:
    """Wrap ``inner`` for the scoring ``mode`` (``"raw"``: returned as is).

    Raises:
        ValueError: On an unknown mode (the message lists :data:`SCORING_MODES`).
    """
    if mode == "raw":
        return inner
    if mode == "contrastive":
        return ContrastiveJudge(inner, concept_rubrics)
    raise ValueError(f"judge.scoring = {mode!r} is not a scoring mode; use one of {SCORING_MODES}")

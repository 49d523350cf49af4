"""Tests for steering.evaluation.judge_confusion."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from steering.evaluation.judge_confusion import confusion_matrix, confusion_scores
from steering.evaluation.judges.base import Rubric


class KeywordJudge:
    """Scores 9 when the rubric's concept name is in the text, 1 otherwise."""

    judge_id = "keyword"

    def score(self, texts: Sequence[str], rubric: Rubric) -> list[float]:
        return [9.0 if rubric.concept in t else 1.0 for t in texts]


def _rubric(concept: str) -> Rubric:
    return Rubric(kind="concept", concept=concept, description=concept, version=1, shots=())


def test_confusion_matrix_from_a_judge() -> None:
    checks = pd.DataFrame(
        {
            "concept": ["animal", "animal", "animal", "person", "person"],
            "text": ["an animal", "an animal and a person", "nothing", "a person", "an animal"],
            "label": [1, 1, 0, 1, 0],
        }
    )
    rubrics = {c: _rubric(c) for c in ("animal", "person")}
    scored = confusion_scores(KeywordJudge(), checks, rubrics)
    assert len(scored) == 3 * 2  # three on-concept texts, two rubrics
    m = confusion_matrix(scored)
    assert m.index.tolist() == ["animal", "person"] and m.columns.tolist() == ["animal", "person"]
    assert m.loc["animal"].tolist() == pytest.approx([9.0, 5.0])  # second text names both
    assert m.loc["person"].tolist() == pytest.approx([1.0, 9.0])
    with pytest.raises(ValueError, match=r"no rubric for concept\(s\) \['person'\]"):
        confusion_scores(KeywordJudge(), checks, {"animal": rubrics["animal"]})


def test_confusion_matrix_errors() -> None:
    with pytest.raises(ValueError, match="scored is empty"):
        confusion_matrix(pd.DataFrame(columns=["about", "rubric_concept", "score"]))
    with pytest.raises(ValueError, match="missing column"):
        confusion_matrix(pd.DataFrame({"about": ["a"], "score": [1.0]}))


def test_confusion_from_scores_and_pairwise_auroc() -> None:
    from steering.evaluation.judge_confusion import (
        CONFUSION_COLUMNS,
        confusion_from_scores,
        pairwise_auroc,
    )
    from steering.evaluation.judges.validation import check_scores

    checks = pd.DataFrame(
        {
            "concept": ["animal", "animal", "animal", "person", "person"],
            "text": ["an animal", "an animal and a person", "nothing", "a person", "x"],
            "label": [1, 1, 0, 1, 0],
        }
    )
    rubrics = {c: _rubric(c) for c in ("animal", "person")}
    scores = check_scores(KeywordJudge(), checks, rubrics)
    assert len(scores) == 5 * 2  # every distinct text, every rubric
    scored = confusion_from_scores(checks, scores)
    assert list(scored.columns) == list(CONFUSION_COLUMNS)
    assert len(scored) == 3 * 2  # only the on-concept texts
    direct = confusion_scores(KeywordJudge(), checks, rubrics)
    pd.testing.assert_frame_equal(scored, direct)
    pairs = pairwise_auroc(scored)
    assert list(zip(pairs.rubric, pairs.about, strict=True)) == [
        ("person", "animal"),  # person rubric: "a person" 9 vs animal texts 1 and 9
        ("animal", "person"),
    ]
    assert pairs["auroc"].tolist() == pytest.approx([0.75, 1.0])
    assert pairs["mean_about"].tolist() == pytest.approx([5.0, 1.0])
    with pytest.raises(ValueError, match="no score for on-concept check text 'a person'"):
        confusion_from_scores(checks, scores[scores.text != "a person"])
    with pytest.raises(ValueError, match="two or more concepts"):
        pairwise_auroc(scored[scored.about == "animal"])

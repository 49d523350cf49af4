"""Tests for steering.evaluation.offtarget (how steering toward A moves B's judge score)."""

from __future__ import annotations

import pandas as pd
import pytest

from steering.evaluation.offtarget import off_target_matrix, selectivity


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    # baseline b0, b1 copied into both concepts' groups (as the scores table does); dual steered
    # toward animal (a1, a2) and person (p1) at strength 1, one animal output at 2 (a3)
    outputs = pd.DataFrame(
        [
            ("b0", "dual", 4, "animal", 0.0),
            ("b1", "dual", 4, "animal", 0.0),
            ("b0", "dual", 4, "person", 0.0),
            ("b1", "dual", 4, "person", 0.0),
            ("a1", "dual", 4, "animal", 1.0),
            ("a2", "dual", 4, "animal", 1.0),
            ("a3", "dual", 8, "animal", 2.0),
            ("p1", "dual", 4, "person", 1.0),
            ("x1", "random", 4, "animal", 1.0),
        ],
        columns=["output_id", "method", "n_examples", "concept", "strength"],
    )
    scores = {  # output -> (animal rubric, person rubric)
        "b0": (1.0, 2.0),
        "b1": (3.0, 2.0),
        "a1": (6.0, 1.0),
        "a2": (8.0, 3.0),
        "a3": (9.0, 0.0),
        "p1": (2.0, 7.0),
        "x1": (2.0, 2.0),
    }
    judge_scores = pd.DataFrame(
        [(o, r, s[i]) for o, s in scores.items() for i, r in enumerate(("animal", "person"))],
        columns=["output_id", "rubric_concept", "score"],
    )
    return outputs, judge_scores


def test_off_target_matrix_by_hand() -> None:
    outputs, judge_scores = _tables()
    # baseline means: animal 2, person 2 (b0 and b1 counted once each)
    m = off_target_matrix(outputs, judge_scores, method="dual", n_examples=4)
    assert m.index.tolist() == ["animal", "person"] and m.columns.tolist() == ["animal", "person"]
    assert m.loc["animal"].tolist() == pytest.approx([5.0, 0.0])  # (6+8)/2-2, (1+3)/2-2
    assert m.loc["person"].tolist() == pytest.approx([0.0, 5.0])
    pooled = off_target_matrix(outputs, judge_scores, method="dual")
    assert pooled.loc["animal"].tolist() == pytest.approx([23 / 3 - 2, 4 / 3 - 2])
    sel = selectivity(m)
    assert sel.to_dict() == pytest.approx({"animal": 5.0, "person": 5.0})


def test_off_target_errors_name_what_is_missing() -> None:
    outputs, judge_scores = _tables()
    with pytest.raises(ValueError, match="no outputs of method 'manifold'"):
        off_target_matrix(outputs, judge_scores, method="manifold")
    with pytest.raises(ValueError, match="positive strengths and at strength 0"):
        off_target_matrix(outputs, judge_scores, method="random")
    partial = judge_scores[
        ~((judge_scores.output_id == "a2") & (judge_scores.rubric_concept == "person"))
    ]
    with pytest.raises(ValueError, match=r"lacks rubric\(s\) \['person'\]"):
        off_target_matrix(outputs, partial, method="dual", n_examples=4)
    no_base = judge_scores[judge_scores.output_id != "b1"]
    with pytest.raises(ValueError, match="no scores for 1 baseline output"):
        off_target_matrix(outputs, no_base, method="dual")
    with pytest.raises(ValueError, match="missing column"):
        off_target_matrix(outputs.drop(columns="strength"), judge_scores, method="dual")

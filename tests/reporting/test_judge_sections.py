"""Tests for steering.reporting.judge_sections."""

from __future__ import annotations

import pandas as pd
import pytest

from steering.reporting.judge_sections import judge_confusion_section


def _confusion() -> pd.DataFrame:
    """Two texts per concept; under the change rubric, animal texts score like change texts."""
    rows = []
    scores = {  # (about, rubric): scores of its two texts
        ("animal", "animal"): [8, 6],
        ("animal", "change"): [5, 3],
        ("change", "animal"): [2, 1],
        ("change", "change"): [4, 6],
    }
    for (about, rubric), values in scores.items():
        for i, v in enumerate(values):
            rows.append(
                {"about": about, "rubric_concept": rubric, "text": f"{about}{i}", "score": v}
            )
    return pd.DataFrame(rows)


def test_section_renders_matrix_and_weakest_pair() -> None:
    validation = pd.DataFrame(
        {
            "concept": ["animal", "change"],
            "auroc": [0.9, 0.8],
            "auroc_other": [0.9, 0.8],
            "auroc_neutral": [1.0, 0.7],
            "n": [4, 4],
        }
    )
    lines = judge_confusion_section(_confusion(), validation, contrast=0.5)
    text = "\n".join(lines)
    assert lines[0] == "## Judge confusion matrix" and lines[-1] == ""
    assert "Mean judge score (contrast weight 0.5)" in text
    assert "| animal | **7.00** | 4.00 |" in text  # row about animal: animal, change rubric
    assert "| change | 1.50 | **5.00** |" in text
    # change rubric: change texts (4, 6) vs animal texts (5, 3): AUROC 0.75; the weakest pair.
    assert (
        "Weakest pair: under the **change** rubric, texts about change vs texts about animal: "
        "AUROC 0.75 (mean score 5.00 vs 4.00). 1 of 2 ordered pairs have an AUROC below 0.9."
    ) in text
    assert "| concept | auroc_other | auroc_neutral |" in text
    assert "| change | 0.800 | 0.700 |" in text


def test_section_without_validation_and_errors() -> None:
    text = "\n".join(judge_confusion_section(_confusion(), threshold=0.7))
    assert "0 of 2 ordered pairs have an AUROC below 0.7" in text
    assert "auroc_other" not in text
    with pytest.raises(ValueError, match="scored is empty"):
        judge_confusion_section(_confusion().iloc[:0])

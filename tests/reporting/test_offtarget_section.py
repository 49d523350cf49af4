"""Tests for steering.reporting.offtarget_section."""

from __future__ import annotations

import pandas as pd
import pytest

from steering.evaluation.offtarget import off_target_matrix
from steering.reporting.offtarget_section import off_target_section

CONCEPTS = ["animal", "food", "sport"]


def _tidy(change: dict[tuple[str, str], float]) -> pd.DataFrame:
    rows = [
        {
            "method": "dual",
            "n_examples": 16,
            "steered": a,
            "rubric": b,
            "change": change.get((a, b), 3.0 if a == b else 0.1),
        }
        for a in CONCEPTS
        for b in CONCEPTS
    ]
    return pd.DataFrame(rows)


def test_section_bolds_the_diagonal_and_names_the_largest_off_target_effect():
    lines = off_target_section(_tidy({("food", "sport"): -1.25}))
    text = "\n".join(lines)
    assert lines[0] == "## Off-target effects" and lines[-1] == ""
    assert "`dual` at n_examples = 16" in text
    table = [line for line in text.splitlines() if line.startswith("| food")]
    assert table and "**+3.00**" in table[0] and "-1.25" in table[0]
    assert text.count("**+3.00**") == len(CONCEPTS)
    assert "steering toward **food** changes the **sport** score by -1.25" in text
    off = (0.1 * 5 - 1.25) / 6
    assert f"Mean on-target change +3.00 against {off:+.2f} off-target" in text
    assert "moves its own concept's score more" in text and "judge_confusion.parquet" in text


def test_section_says_when_steering_is_not_selective():
    change = {(a, b): (0.0 if a == b else 2.0) for a in CONCEPTS for b in CONCEPTS}
    assert "does **not** move its own concept's score" in "\n".join(
        off_target_section(_tidy(change))
    )


def test_section_takes_the_wide_matrix_of_the_library():
    outputs = pd.DataFrame(
        {
            "output_id": ["b0", "b1", "a0", "f0"],
            "method": "dual",
            "n_examples": 4,
            "concept": ["", "", "animal", "food"],
            "strength": [0.0, 0.0, 1.0, 1.0],
        }
    )
    base = {"animal": 1.0, "food": 1.0}
    scores = {"a0": {"animal": 6.0, "food": 2.0}, "f0": {"animal": 1.5, "food": 5.0}}
    judge_scores = pd.DataFrame(
        [
            {"output_id": o, "rubric_concept": c, "score": v}
            for o, row in {"b0": base, "b1": base, **scores}.items()
            for c, v in row.items()
        ]
    )
    wide = off_target_matrix(outputs, judge_scores, method="dual", n_examples=4)
    text = "\n".join(off_target_section(wide))
    assert "**+5.00**" in text and "**+4.00**" in text
    assert "steering toward **animal** changes the **food** score by +1.00" in text


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pd.DataFrame(columns=["steered", "rubric", "change"]), "empty"),
        (pd.DataFrame({"steered": ["a"], "change": [1.0]}), "rubric"),
        (pd.DataFrame({"steered": ["a"], "rubric": ["b"], "change": [1.0]}), "no diagonal"),
    ],
)
def test_section_refuses_bad_tables(table, message):
    with pytest.raises(ValueError, match=message):
        off_target_section(table)

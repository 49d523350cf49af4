"""The ``judge_off_target`` stage in the session's finished tiny run (``tiny_run``).

The tiny config's primary method is dual and its ablation's first n_examples is 4, so the
matrix is of ``dual/n4``: its positive-strength outputs and the baseline, under every rubric.
"""

from __future__ import annotations

import numpy as np
import pytest

from steering.io import parquet_metadata, read_parquet
from tests.helpers.workflow_project import CONCEPTS

pytestmark = pytest.mark.workflow


def test_off_target_matrix_covers_every_concept_pair(tiny_run):
    path = tiny_run.project / "results/metrics/off_target.parquet"
    table = read_parquet(path)
    assert list(table.columns) == ["method", "n_examples", "steered", "rubric", "change"]
    assert set(table.method) == {"dual"} and set(table.n_examples) == {4}
    matrix = table.pivot(index="steered", columns="rubric", values="change")
    assert matrix.shape == (len(CONCEPTS), len(CONCEPTS))
    assert list(matrix.index) == list(matrix.columns) == sorted(CONCEPTS)
    assert np.isfinite(matrix.to_numpy()).all()
    assert "judge_id" in parquet_metadata(path)


def test_off_target_diagonal_is_the_on_target_change_of_the_scores(tiny_run):
    """Entry (A, A) agrees with the judge_outputs scores: the mean concept score of the outputs
    steered toward A at positive strengths minus the baseline's under A's rubric (to the
    judge's batch-dependent last bits)."""
    results = tiny_run.project / "results"
    table = read_parquet(results / "metrics/off_target.parquet")
    steered = read_parquet(results / "judgments/dual/n4.parquet").merge(
        read_parquet(results / "generations/dual/n4.parquet")[["output_id", "strength"]]
    )
    baseline = read_parquet(results / "judgments/baseline.parquet")
    for concept in CONCEPTS:
        on = steered[(steered.concept == concept) & (steered.strength > 0)].concept_score.mean()
        base = baseline[baseline.concept == concept].concept_score.mean()
        entry = table[(table.steered == concept) & (table.rubric == concept)].change
        assert entry.to_numpy() == pytest.approx([on - base], abs=1e-3), concept

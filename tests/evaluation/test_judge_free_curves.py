"""Tests for steering.evaluation.judge_free_curves (means over concepts and resamples with a
crossed bootstrap interval)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from steering.evaluation.judge_free import COLUMNS
from steering.evaluation.judge_free_curves import (
    CURVE_COLUMNS,
    crossed_bootstrap,
    judge_free_curves,
)


def test_crossed_bootstrap_by_hand() -> None:
    # One resample, two concepts valued 0 and 1: a replicate's mean is 0, 0.5 or 1 with
    # probabilities 1/4, 1/2, 1/4, so the 95% percentile interval is [0, 1] and the mean 0.5.
    assert crossed_bootstrap(np.array([[0.0, 1.0]]), n_boot=4000, seed=0) == (0.5, 0.0, 1.0)
    # A constant matrix has a zero-width interval; NaN cells are left out of every mean.
    assert crossed_bootstrap(np.full((3, 5), 0.7), n_boot=200, seed=1) == pytest.approx(
        (0.7, 0.7, 0.7)
    )
    with_nan = np.array([[0.2, math.nan], [0.2, 0.2]])
    assert crossed_bootstrap(with_nan, n_boot=200, seed=1) == pytest.approx((0.2, 0.2, 0.2))
    assert all(
        math.isnan(v) for v in crossed_bootstrap(np.full((2, 2), math.nan), n_boot=10, seed=0)
    )


def test_crossed_bootstrap_draws_resamples_as_well_as_concepts() -> None:
    # Concepts agree within a resample, resamples differ: a bootstrap over concepts alone would
    # give a zero-width interval; the crossed one covers the spread between resamples.
    values = np.array([[0.2, 0.2, 0.2], [0.8, 0.8, 0.8]])
    mean, low, high = crossed_bootstrap(values, n_boot=2000, seed=0)
    assert (mean, low, high) == pytest.approx((0.5, 0.2, 0.8))
    again = crossed_bootstrap(values, n_boot=2000, seed=0)
    assert again == (mean, low, high)


def test_crossed_bootstrap_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty \\(resamples, concepts\\) matrix"):
        crossed_bootstrap(np.zeros(3), n_boot=10, seed=0)
    with pytest.raises(ValueError, match="n_boot must be >= 1"):
        crossed_bootstrap(np.zeros((2, 2)), n_boot=0, seed=0)


def _table() -> pd.DataFrame:
    rows = []
    for method in ("dual", "random"):
        for n in (4, 64):
            for r in range(2):
                for concept in ("a", "b"):
                    measured = n == 4
                    rows.append(
                        {
                            "method": method,
                            "n_examples": n,
                            "resample": r,
                            "concept": concept,
                            "stability": 0.5 + 0.1 * r if measured else math.nan,
                            "stability_note": "" if measured else "split-half at n=64 needs 128",
                            "detection_auroc": 0.9 if concept == "a" else 0.7,
                            "detection_note": "",
                        }
                    )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_curves_average_and_carry_the_reason_for_a_missing_point() -> None:
    curves = judge_free_curves(_table(), n_boot=500, seed=0)
    assert list(curves.columns) == list(CURVE_COLUMNS)
    assert len(curves) == 2 * 2 * 2
    assert list(pd.unique(curves["method"])) == ["dual", "random"]  # the table's order
    point = curves.set_index(["method", "n_examples", "measure"])
    assert point.loc[("dual", 4, "stability"), "mean"] == pytest.approx(0.55)
    assert point.loc[("dual", 4, "stability"), "n_values"] == 4
    assert point.loc[("dual", 64, "detection_auroc"), "mean"] == pytest.approx(0.8)
    missing = point.loc[("dual", 64, "stability")]
    assert math.isnan(missing["mean"]) and missing["n_values"] == 0
    assert missing["note"] == "split-half at n=64 needs 128"
    assert point.loc[("dual", 4, "stability"), "note"] == ""


def test_curves_refuse_a_table_without_the_columns() -> None:
    with pytest.raises(ValueError, match="detection_auroc"):
        judge_free_curves(_table().drop(columns=["detection_auroc"]))
    with pytest.raises(ValueError, match="empty"):
        judge_free_curves(_table().iloc[:0])

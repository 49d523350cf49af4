"""The cost table's row of a fit job: the directions apart from the calibration."""

from __future__ import annotations

import math

import pytest

from steering.reporting.cost import fit_cost


def _report(total: float, directions: float | None, calibration: float | None) -> dict:
    report = {"fit_seconds": total, "peak_memory_mb": 900.0, "memory_kind": "rss"}
    if directions is not None:
        report |= {"direction_seconds": directions, "calibration_seconds": calibration}
    return report


def test_sums_every_resample_and_takes_memory_from_resample_0():
    fits = [_report(40.0, 0.5, 39.0), _report(0.6, 0.55, 0.01), _report(0.7, 0.6, 0.02)]
    row = fit_cost({"n_examples": 16, "fit": fits[0], "fits": fits})
    assert row["n_examples"] == 16
    assert row["fit_seconds"] == pytest.approx(41.3)
    assert row["direction_seconds"] == pytest.approx(1.65)
    assert row["calibration_seconds"] == pytest.approx(39.03)
    assert (row["peak_memory_mb"], row["memory_kind"]) == (900.0, "rss")


def test_a_file_without_the_split_gives_nan_parts_not_zero():
    row = fit_cost({"n_examples": 2, "fit": _report(12.0, None, None)})
    assert row["fit_seconds"] == 12.0
    assert math.isnan(row["direction_seconds"]) and math.isnan(row["calibration_seconds"])

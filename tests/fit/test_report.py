"""FitReport: degenerate-vector evidence (kept norm per step, signal-to-noise) and warnings."""

from __future__ import annotations

import json

import numpy as np

from steering.fit.directions import fit_directions
from steering.fit.report import fit_report

HIDDEN = 16
RNG = np.random.default_rng(3)


def test_report_records_kept_norm_signal_to_noise_and_low_retention_warnings() -> None:
    shared = 10 * np.eye(HIDDEN)[0]
    concepts = {
        "mostly": RNG.normal(size=(8, HIDDEN)) * 0.1 + shared + 0.2 * np.eye(HIDDEN)[1],
        "distinct": RNG.normal(size=(8, HIDDEN)) * 0.1 + shared + 4 * np.eye(HIDDEN)[2],
        "third": RNG.normal(size=(8, HIDDEN)) * 0.1 + shared + 4 * np.eye(HIDDEN)[3],
        "single": shared[None, :] + 4 * np.eye(HIDDEN)[4],  # one example: no noise estimate
    }
    neutral = RNG.normal(size=(8, HIDDEN)) * 0.1
    manifold = RNG.normal(size=(40, HIDDEN))
    directions = fit_directions(concepts, neutral, manifold, method="dual")
    report = fit_report(directions, {}, layer=4)
    assert list(report.step_retained) == ["contamination", "manifold"]
    assert report.step_retained["manifold"]["mostly"] == report.retained_norm["mostly"]
    assert report.step_retained["contamination"]["mostly"] < 0.2
    assert report.signal_to_noise["distinct"] > 10 and report.signal_to_noise["single"] is None
    assert any("concept 'mostly'" in w and "contamination step" in w for w in report.warnings)
    stored = json.loads(json.dumps(report.as_dict(), allow_nan=False))  # the vectors' JSON
    assert stored["step_retained"]["contamination"]["mostly"] < 0.2
    assert stored["warnings"] == report.warnings

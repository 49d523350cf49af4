"""The cost of one fit job, from its vectors' JSON: the fit itself apart from calibration.

A fit job fits every resample's directions (activations -> contamination subspace, concept
vectors, task-manifold projection: SVDs and projections, which grow with n_examples) and
calibrates strength 1.0 once, on resample 0, by generating (which does not depend on n). The
report shows the two apart, so the cost curve says how fitting scales with n.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def fit_cost(meta: Mapping[str, Any]) -> dict[str, Any]:
    """One row of the cost table from a vectors file's metadata.

    Returns:
        ``n_examples``; ``fit_seconds`` (every resample's fit, calibration included);
        ``direction_seconds`` (the directions of every resample: the fit itself);
        ``calibration_seconds`` (the strength calibration); ``peak_memory_mb`` and
        ``memory_kind`` (resample 0's fit, which holds the calibration's generation).
        Files written before the split was recorded give NaN for the two parts.
    """
    reports = list(meta.get("fits") or [meta["fit"]])

    def total(key: str) -> float:
        values = [report.get(key) for report in reports]
        return float("nan") if None in values else float(sum(values))

    return {
        "n_examples": meta["n_examples"],
        "fit_seconds": total("fit_seconds"),
        "direction_seconds": total("direction_seconds"),
        "calibration_seconds": total("calibration_seconds"),
        "peak_memory_mb": meta["fit"]["peak_memory_mb"],
        "memory_kind": meta["fit"]["memory_kind"],
    }

"""``FitReport``: what a fit did (cost, subspace ranks, SVD fallbacks, cosines, calibration)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from steering.fit.calibration import Calibration
from steering.fit.directions import Directions, pairwise_cosines


@dataclass(frozen=True)
class FitReport:
    """What a fit did: cost, subspace ranks, SVD fallbacks, cosines, calibration, warnings."""

    method: str
    layer: int
    n_examples: dict[str, int]
    fit_seconds: float
    peak_memory_mb: float
    memory_kind: str
    contamination_rank: int | None
    contamination_explained: float | None
    manifold_rank: int | None
    manifold_explained: float | None
    manifold_samples: int | None
    svd_methods: dict[str, str]
    svd_fallbacks: dict[str, list[str]]
    cosine_raw: dict[str, float]
    cosine_final: dict[str, float]
    retained_norm: dict[str, float]
    calibration: dict[str, dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    step_retained: dict[str, dict[str, float]] = field(default_factory=dict)  # step -> concept
    signal_to_noise: dict[str, float | None] = field(default_factory=dict)  # |diff| / its SE
    # The two parts of fit_seconds' work: activations -> directions (SVDs, projections), and
    # the strength calibration (generation; 0 when another fit's calibration was reused).
    direction_seconds: float = 0.0
    calibration_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)

    def with_cost(self, seconds: float, peak_mb: float, kind: str) -> FitReport:
        """A copy with the measured time and peak memory."""
        return replace(self, fit_seconds=seconds, peak_memory_mb=peak_mb, memory_kind=kind)


def fit_report(
    directions: Directions, calibrations: Mapping[str, Calibration], *, layer: int
) -> FitReport:
    """The report of a fit from its directions and their calibrations (cost left at 0).

    Args:
        directions: The fitted directions (see :func:`steering.fit.directions.fit_directions`).
        calibrations: Concept -> its strength calibration.
        layer: The fitted layer.
    """
    contamination = directions.subspaces.get("contamination")
    manifold = directions.subspaces.get("manifold")
    warnings = list(directions.warnings)
    warnings += [
        f"calibration of {name!r}: {c.note}" for name, c in calibrations.items() if c.degraded
    ]
    return FitReport(
        method=directions.method,
        layer=layer,
        n_examples=dict(directions.n_examples),
        fit_seconds=0.0,
        peak_memory_mb=0.0,
        memory_kind="",
        contamination_rank=contamination.rank if contamination else None,
        contamination_explained=contamination.explained if contamination else None,
        manifold_rank=manifold.rank if manifold else None,
        manifold_explained=manifold.explained if manifold else None,
        manifold_samples=manifold.n_samples if manifold else None,
        svd_methods={name: s.svd_method for name, s in directions.subspaces.items()},
        svd_fallbacks={name: list(s.fallbacks) for name, s in directions.subspaces.items()},
        cosine_raw=pairwise_cosines(directions.raw),
        cosine_final=pairwise_cosines(directions.final),
        retained_norm=directions.retained_norm,
        calibration={name: c.as_dict() for name, c in calibrations.items()},
        warnings=warnings,
        step_retained={step: dict(kept) for step, kept in directions.step_retained.items()},
        signal_to_noise={  # inf (one example) is not JSON: stored as null
            name: (snr if np.isfinite(snr) else None)
            for name, snr in directions.signal_to_noise.items()
        },
    )

"""From activations to calibrated vectors: fit the directions, then calibrate strength 1.0."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from steering.fit.calibration import CalibrationSettings, calibrate_norms, reuse_calibration
from steering.fit.directions import DirectionSettings, fit_directions
from steering.fit.report import FitReport, fit_report
from steering.fit.vectors import SteeringVector

log = logging.getLogger(__name__)


def fit_vectors(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    concept_acts: Mapping[str, np.ndarray],
    neutral_acts: np.ndarray,
    manifold_acts: np.ndarray | None,
    task_prompts: Sequence[str],
    *,
    layer: int,
    method: str,
    settings: DirectionSettings,
    calibration: CalibrationSettings,
    batch_size: int = 16,
    layer_template: str | None = None,
    reuse: Mapping[str, Mapping[str, Any]] | None = None,
    reuse_source: str = "another fit",
) -> tuple[dict[str, SteeringVector], FitReport]:
    """Fit one direction per concept with ``method``, calibrate its strength-1 norm by
    generating on ``task_prompts`` at ``layer``, and log the report's warnings.

    With ``reuse`` (concept -> a calibration's dict, e.g. another resample's
    ``report.calibration``), no calibration search runs: each concept's multiple is applied to
    this fit's raw norm (:func:`~steering.fit.calibration.reuse_calibration`, noted as coming
    from ``reuse_source``).

    Returns:
        ``(concept -> vector, the fit's report)``.
    """
    start = time.perf_counter()
    directions = fit_directions(
        concept_acts,
        neutral_acts,
        manifold_acts,
        method=method,
        settings=settings,
    )
    units = directions.unit_directions()
    raw_norms = directions.raw_norms
    fitted = time.perf_counter()
    calibrations = (
        reuse_calibration(reuse, raw_norms, reuse_source)
        if reuse
        else calibrate_norms(
            model,
            tokenizer,
            layer=layer,
            directions=units,
            raw_norms=raw_norms,
            prompts=task_prompts,
            settings=calibration,
            batch_size=max(batch_size, 1),
            layer_template=layer_template,
        )
    )
    report = replace(
        fit_report(directions, calibrations, layer=layer),
        direction_seconds=fitted - start,
        calibration_seconds=time.perf_counter() - fitted,
    )
    vectors = {
        name: SteeringVector(
            name,
            units[name],
            calibrations[name].full_strength_norm,
            raw_norms[name],
            method,
            report.calibration[name],
        )
        for name in units
    }
    for warning in report.warnings:
        log.warning(warning)
    return vectors, report

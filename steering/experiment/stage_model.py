"""Loading a stage's model from its ``model`` params (kept apart from :mod:`.stage`, so that
stages without a model do not list the model code among their inputs)."""

from __future__ import annotations

from typing import Any

from steering.core.models import load_model
from steering.experiment.settings import ModelSettings, from_section
from steering.experiment.stage import Stage


def model_settings(stage: Stage) -> ModelSettings:
    """The stage's ``model`` params as :class:`ModelSettings`."""
    return from_section(ModelSettings, stage.params.model)


def stage_model(stage: Stage, dtype: Any = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` named by the stage's ``model`` params, on the stage's device, in
    ``dtype`` when given (a resolved ``torch.dtype``), else in the ``model`` params' dtype."""
    spec = model_settings(stage)
    return load_model(
        spec.name,
        dtype=spec.dtype if dtype is None else dtype,
        device=stage.device,
        trust_remote_code=spec.trust_remote_code,
        revision=spec.revision,
    )

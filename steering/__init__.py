"""Dual-subspace manifold steering for Hugging Face decoders.

The names below are loaded on first use (PEP 562 ``__getattr__``): importing a submodule, as
the workflow's Snakefile does for its config helpers, does not pull in torch and transformers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # where each name lives (loaded by __getattr__; the code inputs' ast reads it)
    from steering.core.activations import (
        collect_activations,
        collect_token_activations,
        example_key,
        example_names,
    )
    from steering.core.generation import Generation, generate
    from steering.core.hooks import record_residual, steer
    from steering.core.layers import find_layers, get_layer, guess_layer_template, resolve_layer
    from steering.core.models import EMBEDDED_MODELS, load_model
    from steering.evaluation.perplexity import Perplexity, continuation_perplexity
    from steering.fit.calibration import (
        Calibration,
        CalibrationSettings,
        calibrate_norm,
        calibrate_norms,
    )
    from steering.fit.directions import METHODS, Directions, DirectionSettings, fit_directions
    from steering.fit.report import FitReport
    from steering.fit.steerer import ManifoldSteerer
    from steering.fit.subspaces import Subspace, contamination_subspace, robust_svd, task_manifold
    from steering.fit.vector_files import VectorFileError, load_vectors, save_vectors
    from steering.fit.vectors import SteeringVector, export_control_vector_gguf

__all__ = [
    "EMBEDDED_MODELS",
    "METHODS",
    "Calibration",
    "CalibrationSettings",
    "DirectionSettings",
    "Directions",
    "FitReport",
    "Generation",
    "ManifoldSteerer",
    "Perplexity",
    "SteeringVector",
    "Subspace",
    "VectorFileError",
    "calibrate_norm",
    "calibrate_norms",
    "collect_activations",
    "collect_token_activations",
    "contamination_subspace",
    "continuation_perplexity",
    "example_key",
    "example_names",
    "export_control_vector_gguf",
    "find_layers",
    "fit_directions",
    "generate",
    "get_layer",
    "guess_layer_template",
    "load_model",
    "load_vectors",
    "record_residual",
    "resolve_layer",
    "robust_svd",
    "save_vectors",
    "steer",
    "task_manifold",
]

# The modules of the imports above, in their order.
_MODULES = (
    "steering.core.activations",
    "steering.core.generation",
    "steering.core.hooks",
    "steering.core.layers",
    "steering.core.models",
    "steering.evaluation.perplexity",
    "steering.fit.calibration",
    "steering.fit.directions",
    "steering.fit.report",
    "steering.fit.steerer",
    "steering.fit.subspaces",
    "steering.fit.vector_files",
    "steering.fit.vectors",
)


def __getattr__(name: str) -> object:
    """On first use of a public name, import its modules and bind every public name."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    names = globals()
    for module in map(importlib.import_module, _MODULES):
        for key in __all__:
            if key not in names and hasattr(module, key):
                names[key] = getattr(module, key)
    return names[name]

"""Fitted steering vectors: the frozen :class:`SteeringVector` value and llama.cpp GGUF export.

The files a set of vectors is saved in (safetensors + JSON, checksummed) are
:mod:`steering.fit.vector_files`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from steering.io import atomic_path


@dataclass(frozen=True)
class SteeringVector:
    """A unit steering direction and the norm that strength 1.0 adds.

    ``strength * full_strength_norm * direction`` is added to the residual stream;
    ``full_strength_norm`` comes from the strength calibration (see ``steering.fit.calibration``)
    and is stored so strength 1.0 means the same thing when the vector is loaded again.
    """

    concept: str
    direction: np.ndarray  # (hidden,), float32, unit norm
    full_strength_norm: float  # the norm added at strength 1.0
    raw_norm: float  # norm of the raw difference-of-means vector
    method: str
    calibration: Mapping[str, Any] = field(default_factory=dict)

    def added_vector(self, strength: float = 1.0) -> np.ndarray:
        """The vector added to the residual stream at ``strength``."""
        return (strength * self.full_strength_norm * self.direction).astype(np.float32)

    def to_tensor(
        self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """The strength-1 vector as a tensor on ``device`` in ``dtype``."""
        return torch.from_numpy(self.added_vector()).to(device=device, dtype=dtype)

    def with_full_strength_norm(self, norm: float) -> SteeringVector:
        """A copy with another strength-1 norm (e.g. a config override).

        Raises:
            ValueError: ``norm`` is not a finite number > 0.
        """
        return replace(self, full_strength_norm=check_norm(norm, f"{self.concept!r}"))


def check_norm(value: Any, what: str) -> float:
    """Return ``value`` as a float, refusing a norm that is not finite and > 0.

    Raises:
        ValueError: Naming ``what`` and the value.
    """
    try:
        norm = float(value)
    except (TypeError, ValueError):
        norm = math.nan
    if not math.isfinite(norm) or norm <= 0:
        raise ValueError(
            f"full_strength_norm of {what} is {value!r}; a norm must be a finite number > 0. "
            "Refit (or recalibrate) the vectors."
        )
    return norm


def export_control_vector_gguf(
    path: str | Path, vector: SteeringVector, *, layer: int, n_layers: int, strength: float = 1.0
) -> None:
    """Write a llama.cpp control vector (the GGUF layout repeng writes) for one concept.

    llama.cpp's ``--control-vector`` adds ``direction.{l}`` to the output of block ``l - 1``
    (its layers are 1-indexed in this format), so the vector is written for ``layer + 1``.
    """
    import gguf  # optional dependency, installed with the embedded models

    if not 0 <= layer < n_layers:
        raise ValueError(f"layer={layer} out of range 0..{n_layers - 1}.")
    with atomic_path(path, ".gguf") as tmp:
        writer = gguf.GGUFWriter(str(tmp), "controlvector")
        writer.add_string("controlvector.model_hint", vector.method)
        writer.add_uint32("controlvector.layer_count", 1)
        writer.add_tensor(f"direction.{layer + 1}", vector.added_vector(strength))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()

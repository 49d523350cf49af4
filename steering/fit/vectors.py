"""Fitted steering vectors: a frozen value, safetensors + JSON files, llama.cpp GGUF export."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from steering.io import atomic_path

FORMAT_VERSION = 2  # 2: the key "scale" became "full_strength_norm"


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
        """A copy with another strength-1 norm (e.g. a config override)."""
        return replace(self, full_strength_norm=float(norm))


class VectorFileError(ValueError):
    """A vectors file is missing, corrupt, or was fitted for another model or layer."""


def save_vectors(
    path: str | Path, vectors: Mapping[str, SteeringVector], metadata: Mapping[str, Any]
) -> None:
    """Write ``<path>.safetensors`` (directions) and ``<path>.json`` (everything else).

    Both files are written to temp names and renamed; the JSON, written last, is the marker
    that the pair is complete.
    """
    base = Path(path)
    tensors = {
        name: np.ascontiguousarray(v.direction, dtype=np.float32) for name, v in vectors.items()
    }
    meta = {
        **dict(metadata),
        "format_version": FORMAT_VERSION,
        "vectors": {
            name: {k: val for k, val in asdict(v).items() if k != "direction"}
            for name, v in vectors.items()
        },
    }
    with atomic_path(base.with_suffix(".safetensors"), ".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata={"format_version": str(FORMAT_VERSION)})
        meta["tensors_sha256"] = hashlib.sha256(tmp.read_bytes()).hexdigest()
    with atomic_path(base.with_suffix(".json"), ".json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2, default=float), encoding="utf-8")


def load_vectors(
    path: str | Path, *, expect_model: str | None = None, expect_layer: int | None = None
) -> tuple[dict[str, SteeringVector], dict[str, Any]]:
    """Read vectors written by :func:`save_vectors`, refusing a mismatched or corrupt file.

    Raises:
        VectorFileError: A file is missing or corrupt, or the vectors were fitted on another
            model or layer than expected (the message names both).
    """
    base = Path(path)
    json_path, tensor_path = base.with_suffix(".json"), base.with_suffix(".safetensors")
    for required in (json_path, tensor_path):
        if not required.is_file():
            raise VectorFileError(f"Vectors file {required} is missing; refit the vectors.")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise VectorFileError(
            f"{json_path} is not valid JSON ({error}); refit the vectors."
        ) from error
    if meta.get("format_version") != FORMAT_VERSION:
        raise VectorFileError(
            f"{json_path} has format version {meta.get('format_version')}, but this library "
            f"reads version {FORMAT_VERSION}; refit the vectors."
        )
    digest = hashlib.sha256(tensor_path.read_bytes()).hexdigest()
    if meta.get("tensors_sha256") != digest:
        raise VectorFileError(
            f"{tensor_path} does not match the checksum in {json_path}: the file is corrupt or "
            "from another fit; refit the vectors."
        )
    if expect_model is not None and meta.get("model_id") != expect_model:
        raise VectorFileError(
            f"{base} was fitted on model {meta.get('model_id')!r}, not {expect_model!r}; "
            "refit the vectors for this model."
        )
    if expect_layer is not None and meta.get("layer") != expect_layer:
        raise VectorFileError(
            f"{base} was fitted at layer {meta.get('layer')}, not layer {expect_layer}; "
            "refit the vectors for this layer."
        )
    try:
        tensors = load_file(str(tensor_path))
    except (SafetensorError, OSError) as error:
        raise VectorFileError(
            f"{tensor_path} is not a readable safetensors file: {error}"
        ) from error
    vectors = {}
    for name, info in meta["vectors"].items():
        vectors[name] = SteeringVector(direction=tensors[name], **info)
    return vectors, meta


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

"""The files of a set of steering vectors: safetensors + JSON, checksummed, crash-safe.

A set holds one or more RESAMPLES (the same concepts fitted on different seeded example
subsets, see :mod:`steering.evaluation.resampling`): the tensor of concept ``c`` in resample
``r`` is named ``r<r>/<c>`` and the JSON lists ``resamples`` (one ``{concept: info}`` per
resample). A plain ``{concept: vector}`` mapping is saved as a single resample.

A saved set is ``<name>.safetensors`` (the unit directions) and ``<name>.json`` (norms,
calibration, provenance), where ``<name>`` is the path given, suffix included: ``animal.v2``
and ``animal.v3`` are two sets, never one. Integrity: the JSON carries ``tensors_sha256`` (over
the directions' contents) and ``meta_sha256`` (over every other JSON field), both verified on
read, so a flipped tensor byte or an edited norm is refused. The safetensors file embeds the
same metadata, and is written first: a save interrupted between the two files (a full disk, a
crash) leaves the previous pair intact, or the new tensors whose embedded metadata is read in
place of the stale JSON (with a warning). Norms must be finite and > 0, on save and on load.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from steering.fit.vector_integrity import FORMAT_VERSION, VectorFileError, check_format, check_norms
from steering.fit.vector_integrity import meta_digest as _meta_digest
from steering.fit.vector_integrity import tensors_digest as _tensors_digest
from steering.fit.vectors import SteeringVector, check_norm
from steering.io import atomic_path

__all__ = [
    "FORMAT_VERSION",
    "VectorFileError",
    "VectorSet",
    "load_resampled_vectors",
    "load_vectors",
    "pick_resample",
    "save_vectors",
    "tensor_name",
    "vector_paths",
]

log = logging.getLogger(__name__)

VectorSet = Mapping[str, SteeringVector]
"""Concept name -> its vector: one resample of a saved set."""

_EMBEDDED_KEY = "steering_meta"


def vector_paths(path: str | Path) -> tuple[Path, Path]:
    """The ``(json, safetensors)`` files of the vector set at ``path``.

    The suffixes are appended to the whole name (``vectors/animal.v2`` gives
    ``vectors/animal.v2.json``), so names differing after a dot never share files; a path that
    already ends in ``.json`` or ``.safetensors`` names its set.
    """
    base = Path(path)
    name = base.name
    for suffix in (".json", ".safetensors"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if not name or name in (".", ".."):
        raise ValueError(f"{str(path)!r} does not name a vector set; pass e.g. 'vectors/animal'.")
    return base.with_name(name + ".json"), base.with_name(name + ".safetensors")


def _fsync(path: Path) -> None:
    """Flush ``path`` to disk, so a crash after the rename cannot leave it empty."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def tensor_name(resample: int, concept: str) -> str:
    """The safetensors name of ``concept``'s direction in resample ``resample``."""
    return f"r{resample}/{concept}"


def save_vectors(
    path: str | Path,
    vectors: VectorSet | Sequence[VectorSet],
    metadata: Mapping[str, Any],
) -> None:
    """Write ``<path>.safetensors`` (directions) and ``<path>.json`` (everything else).

    ``<path>`` keeps its own dots (see :func:`vector_paths`). Each file is written to a temp
    name and renamed. The tensors file goes first and embeds the full metadata, so a save
    interrupted before the JSON is renamed leaves a pair that still loads (see the module doc).

    Args:
        path: The set's path (suffixes are appended).
        vectors: One ``{concept: vector}`` mapping (one resample), or one per resample.
        metadata: Provenance and fit details stored in the JSON (``n_resamples`` and
            ``resamples`` are set here).

    Raises:
        ValueError: A vector's norm is not finite and > 0 (the message names the concept and
            resample), or there are no resamples.
    """
    json_path, tensor_path = vector_paths(path)
    sets = [vectors] if isinstance(vectors, Mapping) else list(vectors)
    if not sets:
        raise ValueError(f"No resamples to save to {json_path}; pass at least one vector set.")
    for r, vector_set in enumerate(sets):
        for name, vector in vector_set.items():
            where = f" of resample {r}" if len(sets) > 1 else ""
            check_norm(vector.full_strength_norm, f"vector {name!r}{where}")
    tensors = {
        tensor_name(r, name): np.ascontiguousarray(v.direction, dtype=np.float32)
        for r, vector_set in enumerate(sets)
        for name, v in vector_set.items()
    }
    meta = {
        **dict(metadata),
        "format_version": FORMAT_VERSION,
        "n_resamples": len(sets),
        "resamples": [
            {
                name: {k: val for k, val in asdict(v).items() if k != "direction"}
                for name, v in vector_set.items()
            }
            for vector_set in sets
        ],
    }
    meta.pop("vectors", None)
    meta.pop("meta_sha256", None)
    meta["tensors_sha256"] = _tensors_digest(tensors)
    meta = json.loads(json.dumps(meta, default=float))  # the values exactly as read back
    meta["meta_sha256"] = _meta_digest(meta)
    text = json.dumps(meta, indent=2)
    with atomic_path(tensor_path, ".safetensors") as tmp:
        save_file(
            tensors,
            str(tmp),
            metadata={"format_version": str(FORMAT_VERSION), _EMBEDDED_KEY: text},
        )
        _fsync(tmp)
    with atomic_path(json_path, ".json") as tmp:
        tmp.write_text(text, encoding="utf-8")
        _fsync(tmp)


def _read_tensors(tensor_path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any] | None]:
    """The tensors of a vectors file, and the metadata embedded in it (if any, parsed)."""
    try:
        tensors = load_file(str(tensor_path))
        with safe_open(str(tensor_path), framework="numpy") as handle:
            header = handle.metadata() or {}
    except (SafetensorError, OSError) as error:
        raise VectorFileError(
            f"{tensor_path} is not a readable safetensors file: {error}; refit the vectors."
        ) from error
    try:
        embedded = json.loads(header[_EMBEDDED_KEY])
    except (KeyError, json.JSONDecodeError):
        embedded = None
    return tensors, embedded if isinstance(embedded, dict) else None


def _vectors_from(
    meta: Mapping[str, Any], tensors: Mapping[str, np.ndarray], json_path: Path
) -> list[dict[str, SteeringVector]]:
    """Build every resample's vectors, refusing a missing or non-finite direction and a bad
    norm."""
    sets = meta.get("resamples")
    if not isinstance(sets, list) or not sets or not all(isinstance(x, dict) for x in sets):
        raise VectorFileError(
            f"{json_path} has no list of resamples; the file is corrupt, refit the vectors."
        )
    out = []
    for r, infos in enumerate(sets):
        vectors = {}
        for name, info in infos.items():
            key = tensor_name(r, name)
            if key not in tensors:
                raise VectorFileError(
                    f"{json_path} lists vector {name!r} of resample {r} but its tensors file "
                    f"has only {sorted(tensors)}; refit the vectors."
                )
            direction = tensors[key]
            if direction.ndim != 1 or not np.isfinite(direction).all():
                raise VectorFileError(
                    f"direction {name!r} of resample {r} in {json_path} is not a finite 1-D "
                    "vector; refit the vectors."
                )
            check_norms(name, info, json_path)
            vectors[name] = SteeringVector(direction=direction, **info)
        out.append(vectors)
    return out


def load_vectors(
    path: str | Path,
    *,
    expect_model: str | None = None,
    expect_layer: int | None = None,
    resample: int = 0,
) -> tuple[dict[str, SteeringVector], dict[str, Any]]:
    """One resample's vectors of a set written by :func:`save_vectors` (see
    :func:`load_resampled_vectors` for the refusals); the file holds ``meta["n_resamples"]``.

    Raises:
        VectorFileError: As :func:`load_resampled_vectors`, or ``resample`` is not in the file.
    """
    sets, meta = load_resampled_vectors(path, expect_model=expect_model, expect_layer=expect_layer)
    if resample is None:
        raise VectorFileError("pass a resample number; load_resampled_vectors reads them all.")
    return pick_resample(sets, resample, path), meta


def pick_resample(
    sets: Sequence[Mapping[str, SteeringVector]], resample: int | None, path: str | Path
) -> dict[str, SteeringVector]:
    """Resample ``resample``'s vectors of ``sets``, or (``None``) every resample's, keyed
    :func:`tensor_name` (``r<r>/<concept>``) so one batched generation can use any of them.

    Raises:
        VectorFileError: ``resample`` is not one of the set's (``path`` names the file).
    """
    if resample is None:
        return {tensor_name(r, c): v for r, vectors in enumerate(sets) for c, v in vectors.items()}
    if isinstance(resample, bool) or not isinstance(resample, int) or not 0 <= resample < len(sets):
        raise VectorFileError(
            f"{vector_paths(path)[0]} holds resamples 0..{len(sets) - 1}, not {resample!r}; "
            "pass one of those or None for all."
        )
    return dict(sets[resample])


def load_resampled_vectors(
    path: str | Path, *, expect_model: str | None = None, expect_layer: int | None = None
) -> tuple[list[dict[str, SteeringVector]], dict[str, Any]]:
    """Every resample's vectors of a set written by :func:`save_vectors`, refusing a
    mismatched or corrupt file.

    Returns:
        ``([{concept: vector} per resample], metadata)``.

    Raises:
        VectorFileError: A file is missing or corrupt (a checksum fails, a norm is not finite
            and > 0), or the vectors were fitted on another model or layer than expected (the
            message names both).
    """
    json_path, tensor_path = vector_paths(path)
    for required in (json_path, tensor_path):
        if not required.is_file():
            raise VectorFileError(f"Vectors file {required} is missing; refit the vectors.")
    tensors, embedded = _read_tensors(tensor_path)
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise VectorFileError(
            f"{json_path} is not valid JSON ({error}); refit the vectors."
        ) from error
    if not isinstance(meta, dict):
        raise VectorFileError(f"{json_path} is not a JSON object; refit the vectors.")
    check_format(meta, json_path)
    digest = _tensors_digest(tensors)
    if meta.get("tensors_sha256") != digest:
        if (
            embedded is not None
            and embedded.get("tensors_sha256") == digest
            and embedded.get("format_version") == FORMAT_VERSION
            and embedded.get("meta_sha256") == _meta_digest(embedded)
        ):
            log.warning(
                "%s is older than %s (a save was interrupted between the two files); using the "
                "metadata stored in the tensors file. Save the vectors again to refresh the JSON.",
                json_path,
                tensor_path,
            )
            meta = embedded
        else:
            raise VectorFileError(
                f"{tensor_path} does not match the checksum in {json_path}: the file is corrupt "
                "or from another fit; refit the vectors."
            )
    base = json_path.with_suffix("")
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
    return _vectors_from(meta, tensors, json_path), meta

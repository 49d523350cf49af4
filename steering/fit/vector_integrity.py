"""Integrity of vector files: the format version, content and metadata checksums, norms.

Used by :mod:`steering.fit.vector_files`, which writes and reads the files.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 4
"""2: the key "scale" became "full_strength_norm"; 3: content and metadata checksums, the
metadata embedded in the safetensors file, and ``<name>.json`` next to ``<name>`` (no more
``with_suffix``); 4: a resample dimension (``resamples`` in the JSON, tensors ``r<r>/<c>``)."""

_NORMS = ("full_strength_norm", "raw_norm")


class VectorFileError(ValueError):
    """A vectors file is missing, corrupt, or was fitted for another model or layer."""


def tensors_digest(tensors: Mapping[str, np.ndarray]) -> str:
    """Hex sha256 over the tensors' names, dtypes, shapes and contents (not the file bytes)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode("utf-8"))
        digest.update(array.tobytes())
    return digest.hexdigest()


def meta_digest(meta: Mapping[str, Any]) -> str:
    """Hex sha256 over every metadata field but ``meta_sha256`` itself (canonical JSON)."""
    body = {key: value for key, value in meta.items() if key != "meta_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=float)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_format(meta: Mapping[str, Any], json_path: Path) -> None:
    """Refuse another format version or metadata failing its checksum."""
    if meta.get("format_version") != FORMAT_VERSION:
        raise VectorFileError(
            f"{json_path} has format version {meta.get('format_version')}, but this library "
            f"reads version {FORMAT_VERSION} (vectors per resample of the example subsets); "
            "rerun the fit (the workflow: delete the file or rerun fit_vectors) to refit the "
            "vectors."
        )
    if meta.get("meta_sha256") != meta_digest(meta):
        raise VectorFileError(
            f"{json_path} fails its metadata checksum (meta_sha256): a field such as a norm "
            "was edited or the file is corrupt; refit the vectors (or save them again)."
        )


def check_norms(name: str, info: Mapping[str, Any], json_path: Path) -> None:
    """Refuse a stored norm that is not finite (and > 0 for the strength-1 norm)."""
    for key in _NORMS:
        value = info.get(key)
        positive = key == "full_strength_norm"
        number = (
            float(value)
            if isinstance(value, int | float) and not isinstance(value, bool)
            else math.nan
        )
        if not math.isfinite(number) or number < 0 or (positive and number == 0):
            raise VectorFileError(
                f"{key} of vector {name!r} in {json_path} is {value!r}; it must be a finite "
                f"number {'> 0' if positive else '>= 0'}. Refit the vectors."
            )

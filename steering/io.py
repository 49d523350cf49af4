"""Atomic, provenance-stamped files: Parquet, npz and JSON written to a temp name, then renamed.

A job killed mid-write leaves at most a hidden ``.*.tmp`` file, never a file under the final
name that looks complete. Readers refuse unreadable files with :class:`CorruptFileError`, which
names the file; nothing here ever deletes a file it did not just write.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

METADATA_KEY = b"steering"


class CorruptFileError(ValueError):
    """A file cannot be read; it must be rebuilt. ``path`` is the file."""

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(message)
        self.path = Path(path)


def _umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path next to ``path``; rename it onto ``path`` only if the block succeeds.

    The final file gets the mode an ordinary ``open()`` would give it (``0o666`` less the
    umask), not the ``0o600`` of a temp file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix + ".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically (sorted keys, indented)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | Path) -> Any:
    """Read JSON, naming the file when it is corrupt."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CorruptFileError(path, f"{path} is not valid JSON ({error}).") from error


def write_parquet(path: str | Path, frame: pd.DataFrame, metadata: Mapping[str, Any]) -> None:
    """Write a DataFrame as Parquet with provenance metadata, atomically."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    existing = table.schema.metadata or {}
    table = table.replace_schema_metadata(
        {**existing, METADATA_KEY: json.dumps(dict(metadata), sort_keys=True, default=str)}
    )
    with atomic_path(path, ".parquet") as tmp:
        pq.write_table(table, tmp)


def read_parquet(path: str | Path) -> pd.DataFrame:
    """Read a Parquet file, raising :class:`CorruptFileError` naming it when unreadable."""
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as error:
        raise CorruptFileError(path, f"{path} is not a readable Parquet file ({error}).") from error


def parquet_metadata(path: str | Path) -> dict[str, Any]:
    """The provenance metadata stored by :func:`write_parquet` (``{}`` when there is none)."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (pa.ArrowException, OSError) as error:
        raise CorruptFileError(path, f"{path} is not a readable Parquet file ({error}).") from error
    return json.loads(meta.get(METADATA_KEY, b"{}"))


def save_npz(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Save arrays to an uncompressed npz atomically (object arrays are refused)."""
    for name, array in arrays.items():
        if np.asarray(array).dtype == object:
            raise TypeError(f"Array {name!r} has dtype object; only numeric arrays are saved.")
    with atomic_path(path, ".npz") as tmp, tmp.open("wb") as handle:
        np.savez(handle, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Load an npz without pickle, raising :class:`CorruptFileError` naming it when unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise CorruptFileError(path, f"{path} is not a readable npz file ({error}).") from error


def is_readable(path: str | Path) -> bool:
    """Cheap integrity check of a cached output by its suffix (Parquet footer, npz, JSON)."""
    target = Path(path)
    try:
        if target.suffix == ".parquet":
            pq.read_metadata(target)
        elif target.suffix == ".npz":
            with zipfile.ZipFile(target) as archive:
                return archive.testzip() is None
        elif target.suffix == ".json":
            json.loads(target.read_text(encoding="utf-8"))
        elif target.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(target), framework="numpy") as handle:
                list(handle.keys())
    except Exception:  # noqa: BLE001 - any failure means "do not trust this file"
        return False
    return True


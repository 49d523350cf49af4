"""What produced an output: hashes of inputs, config and code, and the library version."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def library_version() -> str:
    """Installed version of the ``steering`` package."""
    try:
        return version("steering")
    except PackageNotFoundError:
        return "0+unknown"


def hash_texts(texts: Iterable[str]) -> str:
    """sha256 over texts in order (length-prefixed, so boundaries matter)."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def hash_config(config: Mapping[str, Any]) -> str:
    """sha256 of a config mapping in canonical JSON."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def hash_files(paths: Iterable[str | Path]) -> str:
    """sha256 over the contents of files in sorted path order (the code hash)."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_hash() -> str:
    """Hash of every module of the installed ``steering`` package."""
    package = Path(__file__).parent
    return hash_files(package.rglob("*.py"))

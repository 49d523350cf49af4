"""A prepared model folder stored once more in the dtype a run computes in.

The embedded models are converted once into fp32 folders (:mod:`steering.core.models`). A run
that computes in bf16 or fp16 (``dtype: auto`` on a GPU) would otherwise read all fp32 bytes and
cast them in every job; the copy written here holds the same weights already cast (bit for bit
what loading the fp32 folder with that dtype gives), so every later job reads half the bytes and
skips the cast (BENCHMARKS B12). The copy sits next to the folder as ``<name>.<dtype>``, is
written to a temp folder, verified and renamed into place under a file lock, and records its
source; a source rebuilt since (other marker, size or mtime) makes it stale and rewritten.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import torch
from filelock import FileLock
from transformers import AutoModelForCausalLM

log = logging.getLogger(__name__)

COPY_MARKER = "steering_dtype_copy.json"
SOURCE_MARKER = "steering_embedded.json"
WEIGHTS = "model.safetensors"


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` -> ``"bfloat16"``."""
    return str(dtype).removeprefix("torch.")


def folder_dtype(folder: Path) -> str | None:
    """The dtype a folder's ``config.json`` says its weights are stored in (None if unsaid)."""
    config = json.loads((Path(folder) / "config.json").read_text())
    return config.get("dtype") or config.get("torch_dtype")


def _source_stamp(folder: Path) -> dict:
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise FileNotFoundError(f"{folder} has no .safetensors file to store in another dtype.")
    marker = folder / SOURCE_MARKER
    return {
        "source": str(folder),
        "source_marker": json.loads(marker.read_text()) if marker.is_file() else None,
        "source_weights": {w.name: [w.stat().st_size, w.stat().st_mtime_ns] for w in weights},
    }


def copy_dir(folder: Path, dtype: torch.dtype) -> Path:
    """Where :func:`store_in_dtype` keeps ``folder``'s copy in ``dtype``."""
    folder = Path(folder)
    return folder.parent / f"{folder.name}.{dtype_name(dtype)}"


def stored_copy(folder: Path, dtype: torch.dtype) -> Path | None:
    """The complete, current copy of ``folder`` in ``dtype``, or None when there is none."""
    target = copy_dir(folder, dtype)
    marker = target / COPY_MARKER
    if not marker.is_file():
        return None
    recorded = json.loads(marker.read_text())
    current = {**_source_stamp(Path(folder)), "dtype": dtype_name(dtype)}
    return target if recorded == current else None


def store_in_dtype(folder: Path, dtype: torch.dtype) -> Path:
    """The folder to load ``folder``'s weights from in ``dtype``, writing the copy if needed.

    Returns ``folder`` itself when it already stores ``dtype`` (the fp32 folder for fp32 runs).
    Otherwise returns its copy in ``dtype``, written once (under a lock, so side-by-side jobs
    write it once) and checked tensor by tensor against the cast fp32 weights.
    """
    folder = Path(folder)
    if folder_dtype(folder) == dtype_name(dtype):
        return folder
    target = copy_dir(folder, dtype)
    with FileLock(str(target) + ".lock"):
        if stored_copy(folder, dtype) is not None:
            return target
        if target.exists():
            log.warning("Copy %s is incomplete or older than %s; rewriting it.", target, folder)
            shutil.rmtree(target)
        log.info("Storing %s as %s in %s (once).", folder, dtype_name(dtype), target)
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
        model.save_pretrained(tmp)
        for path in folder.iterdir():  # tokenizer, generation config, the source's marker
            if path.is_file() and not (tmp / path.name).exists() and path.suffix != ".safetensors":
                shutil.copy2(path, tmp / path.name)
        _verify(model, tmp)
        stamp = {**_source_stamp(folder), "dtype": dtype_name(dtype)}
        (tmp / COPY_MARKER).write_text(json.dumps(stamp, indent=2))
        os.replace(tmp, target)
    return target


def _verify(model, folder: Path) -> None:
    reloaded = AutoModelForCausalLM.from_pretrained(str(folder), dtype=model.dtype)
    expected, got = model.state_dict(), reloaded.state_dict()
    bad = [k for k in expected if k not in got or not torch.equal(expected[k], got[k])]
    if bad or set(got) != set(expected):
        raise RuntimeError(f"Copy in {folder} does not reproduce the cast weights: {bad[:5]}.")

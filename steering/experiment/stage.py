"""Process setup for pipeline stages: logging to a file, threads, device, output metadata."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from steering.provenance import code_hash, hash_config, library_version


def setup_logging(log_file: str | Path | None, level: int = logging.INFO) -> logging.Logger:
    """Send ``logging`` (and warnings) to ``log_file`` and stderr; return the stage logger."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=level,
        handlers=handlers,
        force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.captureWarnings(True)
    return logging.getLogger("steering.stage")


def stage_device(gpus: int, threads: int = 1) -> str:
    """``"cuda"`` when the stage holds a GPU and CUDA is available, else ``"cpu"``.

    Also sets torch's CPU threads to the stage's thread count (oversubscribed threads make
    torch several times slower on a busy machine).
    """
    torch.set_num_threads(max(1, int(threads)))
    return "cuda" if gpus >= 1 and torch.cuda.is_available() else "cpu"


def output_metadata(params: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """What produced an output: config hash of the stage's params, library version, code hash."""
    return {
        "config_hash": hash_config(dict(params)),
        "library_version": library_version(),
        "code_hash": code_hash(),
        **extra,
    }

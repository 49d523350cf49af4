"""Process setup for pipeline stages: logging to a file, threads, device, errors, metadata.

A workflow script is a ``main(stage)`` run by :func:`run_stage`, which opens the log, picks the
device and turns an unreadable input into the one command that rebuilds it. The job object is
anything with ``log``, ``params``, ``input``, ``output``, ``wildcards``, ``threads`` and
``resources`` (Snakemake's ``snakemake`` object in a script, or a mock of it).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from steering.doctor import rebuild_command
from steering.io import CorruptFileError
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

    Also sets torch's CPU threads, and numpy's BLAS / OpenMP threads, to the stage's thread
    count (oversubscribed threads make torch several times slower on a busy machine, and an
    SVD-heavy numpy stage took 46 s instead of 0.9 s with OpenBLAS's default threads).
    """
    torch.set_num_threads(max(1, int(threads)))
    threadpool_limits(limits=max(1, int(threads)))
    return "cuda" if gpus >= 1 and torch.cuda.is_available() else "cpu"


def output_metadata(params: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """What produced an output: config hash of the stage's params, library version, code hash."""
    return {
        "config_hash": hash_config(dict(params)),
        "library_version": library_version(),
        "code_hash": code_hash(),
        **extra,
    }


@dataclass
class Stage:
    """One running job: its files, params, logger and device."""

    job: Any
    log: logging.Logger
    device: str

    @property
    def params(self) -> Any:
        """The rule's ``params`` (attribute and item access)."""
        return self.job.params

    @property
    def input(self) -> Any:
        """The rule's ``input`` files."""
        return self.job.input

    @property
    def output(self) -> Any:
        """The rule's ``output`` files."""
        return self.job.output

    @property
    def wildcards(self) -> Any:
        """The job's wildcards."""
        return self.job.wildcards

    def metadata(self, **extra: Any) -> dict[str, Any]:
        """:func:`output_metadata` of this stage's params."""
        return output_metadata(dict(self.job.params), **extra)


def open_stage(job: Any) -> Stage:
    """Open the job's log (its first ``log`` file) and pick its device."""
    log = setup_logging(job.log[0] if len(job.log) else None)
    gpus = int(job.resources.get("gpu", 0) or 0)
    return Stage(job, log, stage_device(gpus, job.threads))


def unreadable_input_message(error: CorruptFileError) -> str:
    """What to do about an unreadable file: the command that rebuilds it and what follows."""
    return (
        f"{error}\nAn earlier job's output cannot be read (truncated or damaged). Rebuild it "
        f"and everything that depends on it with\n    {rebuild_command([error.path])}\n"
        "or list every unreadable output with: python -m steering.doctor"
    )


def run_stage(main: Callable[[Stage], None], job: Any) -> None:
    """Run ``main(stage)`` for ``job``; an unreadable input ends the job with the fix.

    Raises:
        SystemExit: An input could not be read; the message gives the ``snakemake -R`` line.
    """
    stage = open_stage(job)
    try:
        main(stage)
    except CorruptFileError as error:
        message = unreadable_input_message(error)
        stage.log.error(message)
        raise SystemExit(message) from error

"""Shared helpers of the benchmark scripts: machine description and BENCHMARKS.md entries."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import sys
from pathlib import Path

import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def machine() -> str:
    """Cores, torch version and device, in one line."""
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    return (
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, device {device}, torch threads {torch.get_num_threads()}"
    )


def record(title: str, lines: list[str], *, append: bool = True) -> None:
    """Print a benchmark's figures and append them, with the command and machine, to
    BENCHMARKS.md."""
    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    block = [
        f"### {title}",
        "",
        f"- command: `{command}`",
        f"- machine: {machine()}",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        *lines,
        "",
    ]
    text = "\n".join(block)
    print(text)
    if append and os.environ.get("BENCH_NO_RECORD") != "1":
        with BENCHMARKS.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")

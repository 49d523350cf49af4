"""Peak memory of a block of work: CUDA ``max_memory_allocated`` on GPU, sampled RSS on CPU."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil
import torch


@dataclass
class PeakMemory:
    """Filled in when the ``track_peak_memory`` block ends."""

    kind: str = "rss"  # "cuda" (max_memory_allocated) or "rss" (peak resident set size)
    peak_mb: float = 0.0
    seconds: float = 0.0


@contextmanager
def track_peak_memory(
    device: torch.device | str = "cpu", interval: float = 0.02
) -> Iterator[PeakMemory]:
    """Measure wall time and peak memory of the ``with`` block.

    On CUDA the peak is ``torch.cuda.max_memory_allocated`` (reset at entry). On CPU a
    background thread samples this process's RSS every ``interval`` seconds.
    """
    result = PeakMemory()
    device = torch.device(device)
    start = time.perf_counter()
    if device.type == "cuda":
        result.kind = "cuda"
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        try:
            yield result
        finally:
            torch.cuda.synchronize(device)
            result.peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
            result.seconds = time.perf_counter() - start
        return
    process = psutil.Process()
    peak = [process.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            peak[0] = max(peak[0], process.memory_info().rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], process.memory_info().rss)
        result.peak_mb = peak[0] / 2**20
        result.seconds = time.perf_counter() - start

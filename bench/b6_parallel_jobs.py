"""B6 lever: two model jobs side by side at one thread each vs one after another at two.

Each "job" is a fresh Python process, as in the workflow: it imports the library, loads the
embedded gemma-3-270m and generates 150 steered rows x 20 tokens in one batch. Mode A runs two
such jobs back to back with 2 torch threads each (the local profile); mode B runs two at once
with 1 thread each (the cpu profile). On a 2-core machine B uses the core that A leaves idle
during imports, model loading and Python between operations.

    python bench/b6_parallel_jobs.py [--rows 150] [--tokens 20]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import record  # noqa: E402


def job(threads: int, rows: int, tokens: int) -> None:
    """One workflow-like job (runs in its own process)."""
    import torch

    torch.set_num_threads(threads)
    from steering import generate, load_model

    model, tokenizer = load_model("gemma-3-270m")
    prompts = (REPO / "data" / "prompts.txt").read_text().splitlines()[:10]
    direction = torch.randn(model.config.hidden_size, generator=torch.Generator().manual_seed(0))
    generate(
        model,
        tokenizer,
        [prompts[i % len(prompts)] for i in range(rows)],
        layer=12,
        direction=direction * 50,
        strengths=[0.5] * rows,
        max_new_tokens=tokens,
        batch_size=rows,
        progress=False,
    )


def start(threads: int, args) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--job",
            str(threads),
            "--rows",
            str(args.rows),
            "--tokens",
            str(args.tokens),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--job", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job is not None:
        job(args.job, args.rows, args.tokens)
        return
    t0 = time.perf_counter()
    for _ in range(2):
        if start(2, args).wait() != 0:
            sys.exit("a job failed")
    back_to_back = time.perf_counter() - t0
    t0 = time.perf_counter()
    if any(p.wait() != 0 for p in [start(1, args), start(1, args)]):
        sys.exit("a job failed")
    side_by_side = time.perf_counter() - t0
    record(
        "B6 lever: model jobs side by side (bench/b6_parallel_jobs.py)",
        [
            f"- setup: 2 jobs, each a fresh process that imports steering, loads gemma-3-270m and "
            f"generates {args.rows} steered rows x {args.tokens} tokens in one batch",
            f"- back to back, 2 torch threads each (local profile): {back_to_back:.1f} s",
            f"- side by side, 1 torch thread each (cpu profile): {side_by_side:.1f} s",
            f"- **ratio side by side / back to back: {side_by_side / back_to_back:.2f}**",
        ],
    )


if __name__ == "__main__":
    main()

"""B1 hook overhead: steered vs unsteered ``generate`` tokens/s at the same batch.

Same model (embedded gemma-3-270m), same prompts, same batch: once without a direction (no
hook registered) and once with a direction and one strength per row (the steering hook adds
``strength * direction`` at the steered block on every forward call). The two are interleaved
(A, B, A, B, ...) in one process so machine load hits both alike; the figure is the median of
the per-pair ratios. Target: steered / unsteered >= 0.97.

    python bench/b1_hook_overhead.py            # 70 rows x 50 tokens, 3 pairs
    python bench/b1_hook_overhead.py --quick    # 16 rows x 16 tokens
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record  # noqa: E402
from steering.core.activations import collect_activations  # noqa: E402
from steering.core.generation import generate  # noqa: E402
from steering.core.models import load_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET = 0.97


def diffmean_direction(model, tokenizer, layer: int, concept: str = "animal") -> torch.Tensor:
    """A real steering vector: mean(concept) - mean(neutral) over 16 examples each."""
    texts = (REPO / "data" / "concepts" / f"{concept}.txt").read_text().splitlines()[:16]
    neutral = (REPO / "data" / "concepts" / "neutral.txt").read_text().splitlines()[:16]
    a = collect_activations(model, tokenizer, texts, layer, progress=False)
    b = collect_activations(model, tokenizer, neutral, layer, progress=False)
    return torch.from_numpy(a.mean(0) - b.mean(0))


def timed_generate(model, tokenizer, rows, layer, direction, strength, tokens):
    start, cpu = time.perf_counter(), time.process_time()
    out = generate(
        model,
        tokenizer,
        rows,
        layer=layer,
        direction=direction,
        strengths=None if direction is None else [strength] * len(rows),
        max_new_tokens=tokens,
        batch_size=len(rows),
        progress=False,
    )
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    return sum(len(o.token_ids) for o in out), seconds, cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=70)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="A/B pairs (3)")
    parser.add_argument("--layer", type=int, default=12)
    parser.add_argument("--strength", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="16 rows x 16 tokens")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.tokens = 16, 16
    torch.set_num_threads(args.threads)
    model, tokenizer = load_model("gemma-3-270m")
    prompts = (REPO / "data" / "prompts.txt").read_text().splitlines()
    rows = [prompts[i % len(prompts)] for i in range(args.rows)]
    direction = diffmean_direction(model, tokenizer, args.layer)
    # warm-up of both paths (allocator, kernels) at a small size
    for d in (None, direction):
        timed_generate(model, tokenizer, rows[:4], args.layer, d, args.strength, 4)

    plain_tps, steered_tps, ratios, cpu_ratios = [], [], [], []
    plain_cpu, steered_cpu = [], []
    same_length = True
    for trial in range(args.repeats):
        n_a, s_a, c_a, _ = timed_generate(
            model, tokenizer, rows, args.layer, None, 0.0, args.tokens
        )
        n_b, s_b, c_b, _ = timed_generate(
            model, tokenizer, rows, args.layer, direction, args.strength, args.tokens
        )
        # tokens/s counts the tokens each path generated (steering may end rows early at EOS)
        plain_tps.append(n_a / s_a)
        steered_tps.append(n_b / s_b)
        plain_cpu.append(n_a / c_a)
        steered_cpu.append(n_b / c_b)
        same_length &= n_a == n_b
        ratios.append(steered_tps[-1] / plain_tps[-1])
        cpu_ratios.append(steered_cpu[-1] / plain_cpu[-1])
        print(
            f"pair {trial}: unsteered {n_a} tok in {s_a:.2f} s wall / {c_a:.2f} s CPU, "
            f"steered {n_b} tok in {s_b:.2f} s wall / {c_b:.2f} s CPU; ratio wall "
            f"{ratios[-1]:.3f}, CPU {cpu_ratios[-1]:.3f}",
            flush=True,
        )
    ratio = statistics.median(ratios)
    cpu_ratio = statistics.median(cpu_ratios)

    def series(values: list[float], digits: int = 1) -> str:
        return ", ".join(f"{v:.{digits}f}" for v in values)

    lines = [
        f"- setup: gemma-3-270m fp32 CPU, layer {args.layer}, {args.rows} rows x "
        f"{args.tokens} new tokens, one batch, greedy; diffmean 'animal' direction "
        f"|v| = {direction.norm():.1f}, strength {args.strength}; {args.repeats} interleaved "
        f"A/B pairs{' (--quick)' if args.quick else ''}",
        f"- unsteered: median {statistics.median(plain_tps):.1f} tok/s wall "
        f"(per pair: {series(plain_tps)}); {statistics.median(plain_cpu):.1f} tok/s of "
        f"process CPU time (per pair: {series(plain_cpu)})",
        f"- steered: median {statistics.median(steered_tps):.1f} tok/s wall "
        f"(per pair: {series(steered_tps)}); {statistics.median(steered_cpu):.1f} tok/s of "
        f"process CPU time (per pair: {series(steered_cpu)})",
        f"- ratio steered/unsteered, wall clock: median {ratio:.3f} (per pair: "
        f"{series(ratios, 3)})",
        f"- **ratio steered/unsteered, process CPU time: median {cpu_ratio:.3f}** (per pair: "
        f"{series(cpu_ratios, 3)}); target >= {TARGET}: "
        f"{'met' if cpu_ratio >= TARGET else 'MISSED'} (CPU time of this 1-thread process is "
        f"what the hook costs; wall time also carries the other jobs' load on the machine)",
        f"- both paths generated the same number of tokens in every pair: {same_length}",
    ]
    record("B1 hook overhead (bench/b1_hook_overhead.py)", lines)


if __name__ == "__main__":
    main()

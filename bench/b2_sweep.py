"""B2 sweep: one concept's full grid batched vs one ``generate`` per cell vs steering-vectors.

The grid is 10 prompts (data/prompts.txt) x 7 strengths x N new tokens, greedy, on the
embedded gemma-3-270m with a diffmean 'animal' vector at layer 12. Three ways:

* batched: one ``steering.core.generation.generate`` call, 70 rows, one strength per row;
* per cell: one ``generate`` call per (prompt, strength) cell, batch 1;
* steering-vectors (PyPI 0.12.2): its ``SteeringVector(layer_activations={layer: v},
  layer_type="decoder_block")`` applied with ``with vec.apply(model, multiplier=s):`` one strength
  at a time, 10 prompts per call, 7 calls (the same left-padded ``model.generate`` call, run
  through ``generate`` without a direction so that only the library's hook steers).

Rounds interleave the three (batched, steering-vectors, per-cell, batched, ...); figures are
medians over rounds. The per-cell loop of the full grid takes minutes on CPU, so by default it
is timed on a subset of cells spread over every prompt and strength and extrapolated to the 70
cells (said so in the output; ``--full-loop`` times all 70). Greedy tokens of the three are
compared cell for cell. Target: batched >= 10x faster than the per-cell loop on CPU.

steering-vectors declares transformers<5, so it is not a project dependency: install it apart
(``pip install --no-deps --target /tmp/sv steering-vectors==0.12.2 scikit-learn joblib
threadpoolctl cloudpickle narwhals``) and point ``--sv-path`` at that folder (default /tmp/sv);
without it the steering-vectors column is skipped.

    python bench/b2_sweep.py            # 50 tokens, per-cell loop timed on 14 cells, 2 rounds
    python bench/b2_sweep.py --quick    # 16 tokens
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.b1_hook_overhead import diffmean_direction  # noqa: E402
from bench.common import record  # noqa: E402
from steering.core.generation import generate  # noqa: E402
from steering.core.models import load_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STRENGTHS = [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0]
TARGET = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cells", type=int, default=14, help="per-cell loop subset (of 70)")
    parser.add_argument("--full-loop", action="store_true", help="time all 70 cells one by one")
    parser.add_argument("--layer", type=int, default=12)
    parser.add_argument("--sv-path", type=Path, default=Path("/tmp/sv"))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="16 tokens")
    args = parser.parse_args()
    if args.quick:
        args.tokens = 16
    torch.set_num_threads(args.threads)

    sv = None
    if args.sv_path.is_dir():
        sys.path.insert(0, str(args.sv_path))
        try:
            import steering_vectors as sv  # type: ignore[no-redef]
        except ImportError as error:
            print(f"steering-vectors not importable from {args.sv_path}: {error}")
            sv = None

    model, tokenizer = load_model("gemma-3-270m")
    prompts = (REPO / "data" / "prompts.txt").read_text().splitlines()[:10]
    direction = diffmean_direction(model, tokenizer, args.layer)
    grid = [(p, s) for p in prompts for s in STRENGTHS]  # prompt-major, 70 cells
    n_cells = len(grid)
    subset = (
        list(range(n_cells))
        if args.full_loop
        else list(range(0, n_cells, max(1, n_cells // args.cells)))[: args.cells]
    )
    vec = None
    if sv is not None:
        vec = sv.SteeringVector(
            layer_activations={args.layer: direction.clone()}, layer_type="decoder_block"
        )

    def batched() -> list[tuple[int, ...]]:
        out = generate(
            model,
            tokenizer,
            [p for p, _ in grid],
            layer=args.layer,
            direction=direction,
            strengths=[s for _, s in grid],
            max_new_tokens=args.tokens,
            batch_size=n_cells,
            progress=False,
        )
        return [o.token_ids for o in out]

    def per_cell() -> dict[int, tuple[int, ...]]:
        result = {}
        for i in subset:
            prompt, strength = grid[i]
            out = generate(
                model,
                tokenizer,
                [prompt],
                layer=args.layer,
                direction=direction,
                strengths=[strength],
                max_new_tokens=args.tokens,
                batch_size=1,
                progress=False,
            )
            result[i] = out[0].token_ids
        return result

    def steering_vectors_lib() -> list[tuple[int, ...]]:
        by_cell: dict[tuple[str, float], tuple[int, ...]] = {}
        for strength in STRENGTHS:
            with vec.apply(model, multiplier=strength):
                out = generate(
                    model,
                    tokenizer,
                    prompts,
                    max_new_tokens=args.tokens,
                    batch_size=len(prompts),
                    progress=False,
                )
            for prompt, o in zip(prompts, out, strict=True):
                by_cell[(prompt, strength)] = o.token_ids
        return [by_cell[cell] for cell in grid]

    cpus: dict[str, list[float]] = {"batched": [], "per_cell": [], "sv": []}

    def timed(name, fn):
        start, cpu = time.perf_counter(), time.process_time()
        value = fn()
        cpus[name].append(time.process_time() - cpu)
        return time.perf_counter() - start, value

    # warm-up: a short batched call and a short single-row call
    generate(
        model,
        tokenizer,
        prompts[:2],
        layer=args.layer,
        direction=direction,
        strengths=[1.0, -1.0],
        max_new_tokens=4,
        batch_size=2,
        progress=False,
    )

    times: dict[str, list[float]] = {"batched": [], "per_cell": [], "sv": []}
    tokens_batched = tokens_cells = tokens_sv = None
    for rnd in range(args.rounds):
        s, tokens_batched = timed("batched", batched)
        times["batched"].append(s)
        if vec is not None:
            s, tokens_sv = timed("sv", steering_vectors_lib)
            times["sv"].append(s)
        s, tokens_cells = timed("per_cell", per_cell)
        times["per_cell"].append(s)
        print(
            f"round {rnd}: batched {times['batched'][-1]:.1f} s, "
            + (f"steering-vectors {times['sv'][-1]:.1f} s, " if vec is not None else "")
            + f"per-cell ({len(subset)} cells) {times['per_cell'][-1]:.1f} s",
            flush=True,
        )

    batched_s = statistics.median(times["batched"])
    cell_s = statistics.median(times["per_cell"])
    per_cell_full = cell_s * n_cells / len(subset)
    same_cells = sum(tokens_cells[i] == tokens_batched[i] for i in subset)
    lines = [
        f"- setup: gemma-3-270m fp32 CPU, layer {args.layer}, diffmean 'animal' vector "
        f"(|v| = {direction.norm():.0f}), {len(prompts)} prompts x {len(STRENGTHS)} strengths "
        f"{STRENGTHS} x {args.tokens} new tokens = {n_cells} cells, greedy; {args.rounds} "
        f"interleaved rounds, medians{' (--quick)' if args.quick else ''}",
        f"- batched (1 call, 70 rows, per-row strengths): {batched_s:.1f} s "
        f"(per round: {', '.join(f'{t:.1f}' for t in times['batched'])})",
    ]
    if len(subset) == n_cells:
        lines.append(
            f"- per-cell loop (70 calls, batch 1): {cell_s:.1f} s (per round: "
            f"{', '.join(f'{t:.1f}' for t in times['per_cell'])})"
        )
    else:
        lines.append(
            f"- per-cell loop (batch 1): timed on {len(subset)} of {n_cells} cells "
            f"(every {n_cells // len(subset)}th cell: all prompts and strengths) in {cell_s:.1f} s "
            f"(per round: {', '.join(f'{t:.1f}' for t in times['per_cell'])}), "
            f"**extrapolated** to {n_cells} cells: {per_cell_full:.1f} s"
        )
    speedup = per_cell_full / batched_s
    cpu_batched = statistics.median(cpus["batched"])
    cpu_speedup = statistics.median(cpus["per_cell"]) * n_cells / len(subset) / cpu_batched
    lines.append(
        f"- **batched speed-up over the per-cell loop: {speedup:.1f}x wall** "
        f"({cpu_speedup:.1f}x in process CPU time); target >= {TARGET:.0f}x on CPU: "
        f"{'met' if speedup >= TARGET else 'MISSED'}"
    )
    if vec is not None:
        sv_s = statistics.median(times["sv"])
        same_sv = sum(a == b for a, b in zip(tokens_sv, tokens_batched, strict=True))
        lines.append(
            f"- steering-vectors 0.12.2 (7 calls x 10 prompts, `vec.apply(model, multiplier=s)`): "
            f"{sv_s:.1f} s (per round: {', '.join(f'{t:.1f}' for t in times['sv'])}); "
            f"**batched is {sv_s / batched_s:.2f}x faster** than it (wall; "
            f"{statistics.median(cpus['sv']) / cpu_batched:.2f}x in process CPU time)"
        )
        lines.append(
            f"- identical greedy tokens: batched vs steering-vectors {same_sv}/{n_cells} cells; "
            f"batched vs per-cell {same_cells}/{len(subset)} cells timed"
        )
    else:
        lines.append(
            f"- steering-vectors: not installed at {args.sv_path}, skipped; identical greedy "
            f"tokens batched vs per-cell: {same_cells}/{len(subset)} cells"
        )
    record("B2 sweep (bench/b2_sweep.py)", lines)


if __name__ == "__main__":
    main()

"""B7 scaling: generation cost vs rows, judge cost vs texts, fit cost vs samples per concept.

On gemma-3-270m (fp32, CPU):

* generation: one steered ``generate`` call (diffmean 'animal' vector, strength 1, layer 12) of
  1, 8, 32, 128 rows x 16 new tokens in one batch;
* judge: ``LocalJudge.score`` of 1, 8, 32, 128 texts (data/judge_checks.jsonl, 'animal' concept
  rubric, batch 16), a fresh judge per pass so each pass pays for the rubric prefix once;
* fit: ``ManifoldSteerer.fit_from_activations`` (dual, layer 12, 5 concepts) on precomputed
  activations sliced to 2, 4, 8, 16, 32, 64 samples per concept, once with
  ``CalibrationSettings(mode="fixed")`` and once with the search of config.yaml's
  ``calibration`` section (the default experiment's), separately.

Sizes are interleaved round-robin over the repeats (every size once per round), medians
reported, with cost per row / text / sample and its change from the previous size; the curve
"bends" where the per-unit cost stops falling (batching no longer amortises fixed cost) or
where the total stops growing in proportion.

    python bench/b7_scaling.py            # 2 rounds (generation, judge, fixed fit), 1 (search)
    python bench/b7_scaling.py --quick    # rows/texts up to 32, samples 2..16, 1 round
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.b1_hook_overhead import diffmean_direction  # noqa: E402
from bench.b4_judge import load_texts  # noqa: E402
from bench.common import record  # noqa: E402
from steering.core.activations import collect_activations  # noqa: E402
from steering.core.generation import generate  # noqa: E402
from steering.core.models import load_model  # noqa: E402
from steering.evaluation.judges.local import LocalJudge  # noqa: E402
from steering.experiment.judge_inputs import load_rubrics  # noqa: E402
from steering.fit.calibration import CalibrationSettings  # noqa: E402
from steering.fit.steerer import ManifoldSteerer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONCEPTS = ("person", "change", "animal", "object", "action")


def measure(sizes, rounds, fn) -> tuple[dict[int, float], dict[int, float]]:
    """Median process CPU seconds and wall seconds of ``fn(size)`` per size, sizes
    interleaved within every round."""
    cpu: dict[int, list[float]] = {n: [] for n in sizes}
    wall: dict[int, list[float]] = {n: [] for n in sizes}
    for rnd in range(rounds):
        order = sizes if rnd % 2 == 0 else list(reversed(sizes))
        for n in order:
            start, c = time.perf_counter(), time.process_time()
            fn(n)
            cpu[n].append(time.process_time() - c)
            wall[n].append(time.perf_counter() - start)
            print(
                f"  round {rnd} size {n}: {wall[n][-1]:.2f} s wall, {cpu[n][-1]:.2f} s CPU",
                flush=True,
            )
    return (
        {n: statistics.median(t) for n, t in cpu.items()},
        {n: statistics.median(t) for n, t in wall.items()},
    )


def table(what: str, unit: str, timing: tuple[dict[int, float], dict[int, float]]) -> list[str]:
    medians, wall = timing
    sizes = sorted(medians)
    lines = [
        f"| {what} | CPU s | s per {unit} (CPU) | per-{unit} change vs previous | "
        f"total growth vs size growth | wall s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for i, n in enumerate(sizes):
        per = medians[n] / n
        if i == 0:
            change, growth = "", ""
        else:
            prev = sizes[i - 1]
            change = f"{per / (medians[prev] / prev):.2f}x"
            growth = f"{medians[n] / medians[prev]:.2f}x for {n / prev:.0f}x"
        lines.append(
            f"| {n} | {medians[n]:.2f} | {per:.3f} | {change} | {growth} | {wall[n]:.2f} |"
        )
    return lines


def bend(timing: tuple[dict[int, float], dict[int, float]]) -> str:
    """Where the cost per unit stops falling by more than 20% per step (the linear regime)."""
    medians = timing[0]
    sizes = sorted(medians)
    per = [medians[n] / n for n in sizes]
    for i in range(1, len(sizes)):
        if per[i] > 0.8 * per[i - 1]:
            return (
                f"per-unit cost falls up to {sizes[i - 1]} and stays within 20% from there "
                f"({per[i - 1]:.3f} -> {per[i]:.3f} s): roughly linear from {sizes[i - 1]} on"
            )
    return (
        f"per-unit cost still falling by > 20% per step at {sizes[-1]} "
        f"({per[-2]:.3f} -> {per[-1]:.3f} s): fixed cost dominates over the whole range"
    )


def flat(timing: tuple[dict[int, float], dict[int, float]]) -> str:
    medians = timing[0]
    sizes = sorted(medians)
    values = [medians[n] for n in sizes]
    lo, hi = min(values), max(values)
    growth = values[-1] / values[0]
    monotonic = all(b >= a for a, b in zip(values, values[1:], strict=False))
    if growth < 2:
        verdict = "essentially flat (cost independent of the sample count)"
    elif not monotonic:
        verdict = "no monotonic trend: the variation between sizes is noise, not scaling"
    else:
        verdict = "grows with samples"
    return (
        f"total {lo:.2f}-{hi:.2f} s over {sizes[0]}..{sizes[-1]} samples "
        f"({growth:.2f}x for {sizes[-1] / sizes[0]:.0f}x): {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--texts", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--samples", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--search-rounds", type=int, default=1)
    parser.add_argument("--layer", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", nargs="*", default=[], choices=["generate", "judge", "fit"])
    args = parser.parse_args()
    if args.quick:
        args.rows, args.texts, args.samples = [1, 8, 32], [1, 8, 32], [2, 4, 8, 16]
        args.rounds = 1
    torch.set_num_threads(args.threads)
    model, tokenizer = load_model("gemma-3-270m")
    prompts = (REPO / "data" / "prompts.txt").read_text().splitlines()[:10]
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    lines = [
        f"- setup: gemma-3-270m fp32 CPU, layer {args.layer}; costs in process CPU seconds "
        f"(1-thread process; wall seconds, inflated by the machine's other jobs, in the last "
        f"column); sizes interleaved, medians of "
        f"{args.rounds} rounds ({args.search_rounds} for the fit with search)"
        f"{' (--quick)' if args.quick else ''}",
        "",
    ]

    if "generate" not in args.skip:
        direction = diffmean_direction(model, tokenizer, args.layer)

        def gen(n: int) -> None:
            generate(
                model,
                tokenizer,
                [prompts[i % len(prompts)] for i in range(n)],
                layer=args.layer,
                direction=direction,
                strengths=[1.0] * n,
                max_new_tokens=args.tokens,
                batch_size=n,
                progress=False,
            )

        gen(2)  # warm-up
        print("generation:", flush=True)
        g = measure(args.rows, args.rounds, gen)
        lines += [
            f"**Generation** (steered, one batch, {args.tokens} new tokens per row):",
            "",
            *table("rows", "row", g),
            "",
            f"- bend: {bend(g)}",
            "",
        ]

    if "judge" not in args.skip:
        rubric = load_rubrics(REPO / "data" / "judge_shots.yaml", config["concepts"])[
            ("concept", "animal")
        ]
        texts = [t for _, t in load_texts(max(args.texts))]

        def judge(n: int) -> None:
            LocalJudge(model, tokenizer, model_id="gemma-3-270m", batch_size=16).score(
                texts[:n], rubric
            )

        judge(1)  # warm-up
        print("judge:", flush=True)
        j = measure(args.texts, args.rounds, judge)
        lines += [
            "**Judge** (`LocalJudge.score`, fresh judge per pass: prefix + batches of 16):",
            "",
            *table("texts", "text", j),
            "",
            f"- bend: {bend(j)}",
            "",
        ]

    if "fit" not in args.skip:
        top = max(args.samples)
        print("collecting activations for the fit...", flush=True)
        acts = {
            c: collect_activations(
                model,
                tokenizer,
                (REPO / "data" / "concepts" / f"{c}.txt").read_text().splitlines()[:top],
                args.layer,
                progress=False,
            )
            for c in (*CONCEPTS, "neutral")
        }
        manifold = ManifoldSteerer(model, tokenizer, args.layer, "dual").manifold_activations(
            prompts
        )
        cal = config.get("calibration", {})
        search = CalibrationSettings(
            mode="search", multiples=tuple(cal.get("multiples", (0.5, 1.0, 1.5, 2.0)))
        )
        fixed = CalibrationSettings(mode="fixed")

        def fitter(settings: CalibrationSettings):
            def fit(n: int) -> None:
                steerer = ManifoldSteerer(
                    model, tokenizer, args.layer, "dual", calibration=settings
                )
                steerer.fit_from_activations(
                    {c: acts[c][:n] for c in CONCEPTS},
                    acts["neutral"][:n],
                    np.asarray(manifold),
                    prompts,
                )

            return fit

        print("fit, fixed calibration:", flush=True)
        ff = measure(args.samples, args.rounds, fitter(fixed))
        print("fit, calibration search:", flush=True)
        fs = measure(args.samples, args.search_rounds, fitter(search))
        lines += [
            f"**Fit, fixed calibration** (`fit_from_activations`, dual, {len(CONCEPTS)} concepts, "
            f"manifold of {manifold.shape[0]} token activations; activations precomputed):",
            "",
            *table("samples/concept", "sample", ff),
            "",
            f"- {flat(ff)}",
            "",
            f"**Fit, calibration search** (multiples {list(search.multiples)}, "
            f"{search.n_prompts} prompts x {search.max_new_tokens} tokens; the default "
            f"experiment's):",
            "",
            *table("samples/concept", "sample", fs),
            "",
            f"- {flat(fs)}",
            f"- search / fixed at {max(args.samples)} samples: "
            f"{fs[0][max(args.samples)] / ff[0][max(args.samples)]:.0f}x (CPU time)",
        ]
    record("B7 scaling (bench/b7_scaling.py)", lines)


if __name__ == "__main__":
    main()

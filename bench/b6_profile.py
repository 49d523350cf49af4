"""B6 profile: where the default stress test's time goes, by torch.profiler, stage by stage.

Runs the three stages that make up ~80% of the default run's wall time (steered generation,
perplexity, judging) on the embedded gemma-3-270m at a reduced size with the same settings as
the workflow (2 torch threads, generation batch 128, judge batch 16, 3 rubrics), under
``torch.profiler``, and splits each stage's CPU time into: the output layer (the 262k-word
vocabulary projection), the decoder layers' matrix products, attention, (log-)softmax over the
vocabulary, and the rest, and reports how many cores the stage kept busy. (The profiler and the
smaller batches slow each stage down: for the stages' real times see B6's table.)

    python bench/b6_profile.py [--rows 64] [--tokens 50] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
import yaml
from torch.profiler import ProfilerActivity, profile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.b1_hook_overhead import diffmean_direction  # noqa: E402
from bench.common import record  # noqa: E402
from steering.core.generation import generate  # noqa: E402
from steering.core.models import load_model  # noqa: E402
from steering.evaluation.judges.local import LocalJudge  # noqa: E402
from steering.evaluation.perplexity import continuation_perplexity  # noqa: E402
from steering.experiment.judge_inputs import load_rubrics  # noqa: E402

MATMULS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear"}
ATTENTION = ("scaled_dot_product", "flash_attention", "aten::_efficient_attention")
SOFTMAX = {
    "aten::_log_softmax",
    "aten::_softmax",
    "aten::logsumexp",
    "aten::log_softmax",
    "aten::softmax",
    "aten::gather",
    "aten::argmax",
    "aten::max",
}


def category(name: str, shapes: list, vocab: int) -> str:
    if name in MATMULS:
        dims = {d for shape in shapes if isinstance(shape, list) for d in shape}
        return "output layer (vocabulary projection)" if vocab in dims else "decoder matmuls"
    if any(key in name for key in ATTENTION):
        return "attention"
    if name in SOFTMAX:
        return "softmax / log-softmax / argmax"
    return "other ops"


def profiled(fn, vocab: int) -> tuple[float, float, dict[str, float], list[tuple[str, float]]]:
    """Wall seconds, process CPU seconds, op self-time per category, top 5 ops."""
    split: dict[str, float] = defaultdict(float)
    start, cpu = time.perf_counter(), time.process_time()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    top: dict[str, float] = defaultdict(float)
    for event in prof.key_averages(group_by_input_shape=True):
        seconds = event.self_cpu_time_total / 1e6
        split[category(event.key, event.input_shapes, vocab)] += seconds
        top[event.key] += seconds
    return wall, cpu, dict(split), sorted(top.items(), key=lambda kv: -kv[1])[:5]


def describe(stage: str, wall: float, cpu: float, split: dict[str, float], top) -> list[str]:
    total = sum(split.values())
    parts = ", ".join(
        f"{k} {v / total:.0%}" for k, v in sorted(split.items(), key=lambda kv: -kv[1])
    )
    ops = ", ".join(f"{k} {v:.1f} s" for k, v in top)
    return [
        f"- **{stage}**: {wall:.1f} s wall, {cpu:.1f} s process CPU ({cpu / wall:.2f} cores "
        f"busy on average), {total:.1f} s of op self-time: {parts}",
        f"  - top ops (self time): {ops}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=64, help="steered rows / judged texts")
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layer", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, tokenizer = load_model("gemma-3-270m")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    vocab = model.get_output_embeddings().weight.shape[0]
    prompts = (REPO / "data" / "prompts.txt").read_text().splitlines()[:10]
    rows = [prompts[i % len(prompts)] for i in range(args.rows)]
    strengths = [(-1.0, -0.5, -0.25, 0.25, 0.5, 1.0)[i % 6] for i in range(args.rows)]
    direction = diffmean_direction(model, tokenizer, args.layer)
    lines = [
        f"- setup: gemma-3-270m fp32 CPU, {args.threads} torch threads, {args.rows} rows "
        f"x {args.tokens} new tokens (the default job: 300 rows), judge on 3 rubrics "
        f"(concept, opposite, bipolar) of 'animal', batch 16; vocabulary {vocab}; "
        "time split by torch.profiler op self-time",
        "",
    ]
    out = []

    def gen() -> None:
        out.extend(
            generate(
                model,
                tokenizer,
                rows,
                layer=args.layer,
                direction=direction,
                strengths=strengths,
                max_new_tokens=args.tokens,
                batch_size=128,
                progress=False,
            )
        )

    def stage(name: str, fn) -> None:
        wall, cpu, split, top = profiled(fn, vocab)
        nonlocal lines
        lines += describe(name, wall, cpu, split, top)

    stage("steered generation", gen)

    def ppl() -> None:
        continuation_perplexity(
            model,
            [g.prompt_ids for g in out],
            [g.token_ids for g in out],
            pad_token_id=tokenizer.pad_token_id,
            batch_size=128,
            progress=False,
        )

    stage("perplexity", ppl)
    rubrics = load_rubrics(REPO / "data" / "judge_shots.yaml", config["concepts"])
    texts = [g.text for g in out]

    def judge() -> None:
        j = LocalJudge(model, tokenizer, model_id="gemma-3-270m", batch_size=16)
        for kind in ("concept", "opposite", "bipolar"):
            j.score(texts, rubrics[(kind, "animal")])

    stage("judge (3 rubrics)", judge)
    record("B6 profile: where the stress test's time goes (bench/b6_profile.py)", lines)


if __name__ == "__main__":
    main()

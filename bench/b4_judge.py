"""B4 judge: texts/s of the batched, prefix-cached local judge vs one full prompt per text.

``LocalJudge.score`` runs each rubric's instruction + few-shot prefix once, keeps its KV cache
and scores the texts' suffixes in batches against it; ``LocalJudge.score_full_prompt`` runs the
whole prompt (prefix + text) for every text, one forward pass each. Both on gemma-3-270m with
the 'concept' rubrics of data/judge_shots.yaml (concepts from config.yaml), on texts of
data/judge_checks.jsonl, each text rated on its own concept's rubric. A fresh judge is built
for every timed pass, so the cached path pays for computing each rubric's prefix every time.
Interleaved (A, B, A, B, ...); medians. Scores of the two paths are compared.
Target: cached / full-prompt texts/s >= 5.

    python bench/b4_judge.py            # 48 texts, 3 pairs
    python bench/b4_judge.py --quick    # 16 texts
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record  # noqa: E402
from steering.core.models import load_model  # noqa: E402
from steering.evaluation.judges.local import LocalJudge  # noqa: E402
from steering.experiment.judge_inputs import load_rubrics  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET = 5.0


def load_texts(n: int) -> list[tuple[str, str]]:
    """``n`` (concept, text) pairs from judge_checks.jsonl, round-robin over the concepts."""
    by_concept: dict[str, list[str]] = defaultdict(list)
    for line in (REPO / "data" / "judge_checks.jsonl").open():
        item = json.loads(line)
        by_concept[item["concept"]].append(item["text"])
    concepts = sorted(by_concept)
    out: list[tuple[str, str]] = []
    i = 0
    while len(out) < n:
        concept = concepts[i % len(concepts)]
        texts = by_concept[concept]
        out.append((concept, texts[(i // len(concepts)) % len(texts)]))
        i += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3, help="A/B pairs")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-text-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--one-rubric",
        action="store_true",
        help="rate every text on the 'animal' concept rubric (one prefix, as one concept's "
        "group in a judge_outputs job) instead of each on its own concept's",
    )
    parser.add_argument("--quick", action="store_true", help="16 texts")
    args = parser.parse_args()
    if args.quick:
        args.texts = 16
    torch.set_num_threads(args.threads)
    model, tokenizer = load_model("gemma-3-270m")
    concepts = yaml.safe_load((REPO / "config.yaml").read_text())["concepts"]
    rubrics = load_rubrics(REPO / "data" / "judge_shots.yaml", concepts)
    pairs = load_texts(args.texts)
    groups: dict[str, list[str]] = defaultdict(list)
    for concept, text in pairs:
        groups["animal" if args.one_rubric else concept].append(text)

    def judge() -> LocalJudge:
        return LocalJudge(
            model,
            tokenizer,
            model_id="gemma-3-270m",
            batch_size=args.batch_size,
            max_text_tokens=args.max_text_tokens,
        )

    def cached() -> tuple[list[float], LocalJudge]:
        j = judge()
        return [s for c, t in groups.items() for s in j.score(t, rubrics[("concept", c)])], j

    def full() -> tuple[list[float], LocalJudge]:
        j = judge()
        return [
            s for c, t in groups.items() for s in j.score_full_prompt(t, rubrics[("concept", c)])
        ], j

    j = judge()  # warm-up, both paths
    j.score(pairs[0][1:], rubrics[("concept", pairs[0][0])])
    j.score_full_prompt(pairs[0][1:], rubrics[("concept", pairs[0][0])])
    prefix_tokens = {
        c: len(j.prompts.layout(rubrics[("concept", c)]).prefix_ids)
        for c in groups  # noqa: SLF001
    }

    cached_tps, full_tps, ratios, cpu_ratios = [], [], [], []
    for trial in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        a, ja = cached()
        s_a = time.perf_counter() - start
        cpu_a = time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        b, jb = full()
        s_b = time.perf_counter() - start
        cpu_ratios.append((time.process_time() - cpu) / cpu_a)
        cached_tps.append(len(pairs) / s_a)
        full_tps.append(len(pairs) / s_b)
        ratios.append(cached_tps[-1] / full_tps[-1])
        print(
            f"pair {trial}: cached {s_a:.2f} s ({cached_tps[-1]:.2f} texts/s, "
            f"{ja.forward_calls} forward calls), full prompt {s_b:.2f} s "
            f"({full_tps[-1]:.2f} texts/s, {jb.forward_calls} forward calls), "
            f"ratio {ratios[-1]:.2f} (CPU time {cpu_ratios[-1]:.2f})",
            flush=True,
        )
    diff = max(abs(x - y) for x, y in zip(a, b, strict=True))
    ratio = statistics.median(ratios)
    lines = [
        f"- setup: gemma-3-270m fp32 CPU judge, {len(pairs)} texts of data/judge_checks.jsonl "
        f"over 5 concepts, rated on {len(groups)} 'concept' rubric(s) "
        f"({'all on animal' if args.one_rubric else 'each text on its own concept'}; 10 shots; "
        f"prefix "
        f"{min(prefix_tokens.values())}-{max(prefix_tokens.values())} tokens), batch "
        f"{args.batch_size}, max_text_tokens {args.max_text_tokens}; fresh judge per pass "
        f"(prefix recomputed); {args.repeats} interleaved pairs, medians"
        f"{' (--quick)' if args.quick else ''}",
        f"- cached + batched (`LocalJudge.score`): {statistics.median(cached_tps):.2f} texts/s "
        f"({ja.forward_calls} forward calls: {ja.prefix_computations} prefixes + batches)",
        f"- full prompt per text (`score_full_prompt`): {statistics.median(full_tps):.2f} "
        f"texts/s ({jb.forward_calls} forward calls)",
        f"- **speed-up: median {ratio:.1f}x** (per pair: "
        f"{', '.join(f'{r:.1f}' for r in ratios)}); target >= {TARGET:.0f}x: "
        f"{'met' if ratio >= TARGET else 'MISSED'}; in process CPU time: median "
        f"{statistics.median(cpu_ratios):.1f}x",
        f"- max |score difference| between the two paths: {diff:.2e} (0-10 scale)",
    ]
    record("B4 judge (bench/b4_judge.py)", lines)


if __name__ == "__main__":
    main()

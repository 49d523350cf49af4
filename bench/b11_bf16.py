"""B11 bf16 on this CPU: speed of each part, and whether the results hold.

On gemma-3-270m (the embedded default), fp32 vs bf16 loaded from the same folder, each
comparison in one process with the two dtypes interleaved (medians of ``--repeats``), at 1 and
2 torch threads:

* the output layer alone (rows x 640 x 262,144, as in a generation step / a perplexity batch);
* a perplexity batch (16 rows x 45 positions, logits of the last 31 kept);
* greedy generation, 128 rows x 30 new tokens (10 prompts of data/prompts.txt, repeated);

and the agreement that decides where bf16 may be used:

* generation: the share of the 10 prompts whose 30 greedy tokens are identical in both
  dtypes, and where they first differ;
* perplexity: ``--texts`` steered outputs of a finished run (``--run``, its
  ``generations/dual/n16.parquet`` and baseline) scored in both dtypes: relative error of each
  perplexity, and whether the prototype coherence rule (ppl <= 1.5 x the prompt's baseline)
  gives the same verdict;
* judge: every held-out check text (data/judge_checks_heldout.jsonl) under every concept's
  rubric: Pearson of the scores, largest difference, and each concept's AUROC against the
  other concepts in both dtypes.

    python bench/b11_bf16.py --run /path/to/results     # a finished default run's results
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record  # noqa: E402
from steering.core.models import load_model, load_weights  # noqa: E402
from steering.evaluation.judges.local import LocalJudge  # noqa: E402
from steering.evaluation.judges.validation import (  # noqa: E402
    check_scores,
    load_checks,
    validation_table,
)
from steering.evaluation.perplexity import continuation_perplexity  # noqa: E402
from steering.experiment.judge_inputs import load_rubrics  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MODEL = "gemma-3-270m"


def paired_medians(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median seconds of ``first`` and ``second``, run alternately after one warm-up each."""
    first(), second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for f, sink in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            f()
            sink.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def speed_rows(models: dict[str, torch.nn.Module], tokenizer, prompts: list[str], repeats: int):
    fp32, bf16 = models["float32"], models["bfloat16"]
    batch = tokenizer((prompts * 13)[:128], return_tensors="pt", padding=True)
    ids = torch.randint(10, 20000, (16, 45), generator=torch.Generator().manual_seed(0))

    def generate(model):
        with torch.no_grad():
            return model.generate(
                **batch, max_new_tokens=30, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )

    def forward(model):
        with torch.no_grad():
            return model(input_ids=ids, use_cache=False, logits_to_keep=31)

    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for n in (16, 128):
            x = torch.randn(n, fp32.lm_head.weight.shape[1])
            x16 = x.bfloat16()
            with torch.no_grad():
                a, b = paired_medians(
                    lambda x=x: torch.nn.functional.linear(x, fp32.lm_head.weight),
                    lambda x16=x16: torch.nn.functional.linear(x16, bf16.lm_head.weight),
                    repeats,
                )
            rows.append((threads, f"output layer, {n} rows x 640 x 262,144", a, b))
        a, b = paired_medians(lambda: forward(fp32), lambda: forward(bf16), repeats)
        rows.append((threads, "perplexity batch, 16 rows x 45 positions", a, b))
        a, b = paired_medians(lambda: generate(fp32), lambda: generate(bf16), 1)
        rows.append((threads, "greedy generation, 128 rows x 30 tokens", a, b))
    lines = [
        "| torch threads | part | fp32 s | bf16 s | fp32 / bf16 |",
        "|---:|---|---:|---:|---:|",
    ]
    lines += [f"| {t} | {part} | {a:.3f} | {b:.3f} | {a / b:.2f} |" for t, part, a, b in rows]
    first = generate(fp32)[: len(prompts), batch.input_ids.shape[1] :]
    second = generate(bf16)[: len(prompts), batch.input_ids.shape[1] :]
    differ = [
        int((x != y).nonzero()[0].item()) if bool((x != y).any()) else None
        for x, y in zip(first, second, strict=True)
    ]
    same = sum(d is None for d in differ)
    lines += [
        "",
        f"- generation agreement: {same} of {len(prompts)} prompts give the same 30 greedy "
        "tokens in both dtypes; the others first differ at token "
        f"{sorted(d for d in differ if d is not None)} (0-based)",
    ]
    return lines


def perplexity_rows(models, tokenizer, run: Path, n_texts: int) -> list[str]:
    torch.set_num_threads(2)
    steered = pd.read_parquet(run / "generations" / "dual" / "n16.parquet")
    steered = steered.sample(n=min(n_texts, len(steered)), random_state=0)
    baseline = pd.read_parquet(run / "generations" / "baseline.parquet").drop_duplicates(
        "prompt_id"
    )
    tables = {}
    for name, frame in (("steered", steered), ("baseline", baseline)):
        for dtype, model in models.items():
            start = time.perf_counter()
            result = continuation_perplexity(
                model,
                [list(x) for x in frame.prompt_ids],
                [list(x) for x in frame.token_ids],
                pad_token_id=tokenizer.pad_token_id,
                progress=False,
            )
            tables[name, dtype] = (
                np.array([r.perplexity for r in result]),
                time.perf_counter() - start,
            )
    ppl32, t32 = tables["steered", "float32"]
    ppl16, t16 = tables["steered", "bfloat16"]
    relative = np.abs(ppl16 / ppl32 - 1)
    verdicts = {}
    for dtype in models:
        base = dict(zip(baseline.prompt_id, tables["baseline", dtype][0], strict=True))
        ppl = tables["steered", dtype][0]
        verdicts[dtype] = ppl <= 1.5 * steered.prompt_id.map(base).to_numpy()
    agree = float((verdicts["float32"] == verdicts["bfloat16"]).mean())
    return [
        f"- perplexity, {len(steered)} steered outputs of {run} (dual, n = 16), 2 threads: "
        f"fp32 {t32:.1f} s, bf16 {t16:.1f} s ({t32 / t16:.2f}x); relative difference of a "
        f"perplexity: median {np.median(relative):.4f}, 95th percentile "
        f"{np.quantile(relative, 0.95):.4f}, max {relative.max():.4f}; coherence verdict "
        f"(ppl <= 1.5 x baseline, each dtype's own baseline) the same for {agree:.1%} "
        f"(coherent: fp32 {verdicts['float32'].mean():.1%}, bf16 "
        f"{verdicts['bfloat16'].mean():.1%})",
    ]


def judge_rows(models, tokenizer) -> list[str]:
    torch.set_num_threads(2)
    concepts = yaml.safe_load((REPO / "config.yaml").read_text())["concepts"]
    rubrics = load_rubrics(REPO / "data" / "judge_shots.yaml", concepts)
    checks = load_checks(REPO / "data" / "judge_checks_heldout.jsonl")
    scores, tables, seconds = {}, {}, {}
    for dtype, model in models.items():
        judge = LocalJudge(model, tokenizer, model_id=MODEL, batch_size=16)
        start = time.perf_counter()
        scores[dtype] = check_scores(judge, checks, {c: rubrics[("concept", c)] for c in concepts})
        seconds[dtype] = time.perf_counter() - start
        tables[dtype] = validation_table(checks, scores[dtype]).set_index("concept")
    a = scores["float32"]["score"].to_numpy()
    b = scores["bfloat16"]["score"].to_numpy()
    auroc = ", ".join(
        f"{c} {tables['float32'].loc[c, 'auroc_other']:.3f}/"
        f"{tables['bfloat16'].loc[c, 'auroc_other']:.3f}"
        for c in sorted(concepts)
    )
    return [
        f"- judge, {len(a)} readings (held-out check texts x concept rubrics), 2 threads: fp32 "
        f"{seconds['float32']:.1f} s, bf16 {seconds['bfloat16']:.1f} s "
        f"({seconds['float32'] / seconds['bfloat16']:.2f}x); scores (0-10) Pearson "
        f"{np.corrcoef(a, b)[0, 1]:.4f}, mean |difference| {np.abs(a - b).mean():.3f}, "
        f"max {np.abs(a - b).max():.3f}; AUROC vs other concepts fp32/bf16: {auroc}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a finished run's results/")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texts", type=int, default=160)
    args = parser.parse_args()
    fp32, tokenizer = load_model(MODEL, dtype="float32", device="cpu")
    models = {"float32": fp32, "bfloat16": load_weights(MODEL, "bfloat16", "cpu")}
    prompts = [line.strip() for line in (REPO / "data/prompts.txt").open() if line.strip()][:10]
    lines = [
        "- setup: gemma-3-270m, fp32 and bf16 loaded from the same folder, one process, the "
        "dtypes interleaved, medians of the repeats; CPU with AMX (oneDNN bf16 kernels)",
        "",
        *speed_rows(models, tokenizer, prompts, args.repeats),
        *perplexity_rows(models, tokenizer, args.run, args.texts),
        *judge_rows(models, tokenizer),
    ]
    record("B11 bf16 on this CPU: speed and agreement (bench/b11_bf16.py)", lines)


if __name__ == "__main__":
    main()

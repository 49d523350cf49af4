"""Judge: one reading per text for all concept rubrics vs one reading per (text, rubric).

Both on gemma-3-270m fp32 CPU with the 'concept' rubrics of data/judge_shots.yaml:
``LocalJudge.score`` once per rubric (prefix cached per rubric, texts batched) and
``SharedReadingJudge.score_all`` (one prefix with every rubric's shots, each text read once,
the five rubric questions batched). Timed on the first ``--texts`` distinct check texts, fresh
judges (prefixes recomputed), A then B, ``--repeats`` pairs, medians. Then the shared layout's
AUROC (vs other concepts / vs neutral) on the tuning and held-out checks, beside the per-rubric
judge's (from the same scores).

    python bench/judge_shared_reading.py --texts 40 --repeats 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record  # noqa: E402
from steering.core.models import load_model  # noqa: E402
from steering.evaluation.judges.local import LocalJudge  # noqa: E402
from steering.evaluation.judges.shared_reading import SharedReadingJudge  # noqa: E402
from steering.evaluation.judges.validation import load_checks, validation_table  # noqa: E402
from steering.experiment.judge_inputs import load_rubrics  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHECKS = {
    "tuning": REPO / "data" / "judge_checks.jsonl",
    "held-out": REPO / "data" / "judge_checks_heldout.jsonl",
}


def long(wide: pd.DataFrame, texts: list[str]) -> pd.DataFrame:
    """A text x concept table as the long ``text, rubric_concept, score`` table."""
    out = wide.assign(text=texts).melt(id_vars="text", value_name="score")
    return out.rename(columns={"variable": "rubric_concept"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, tokenizer = load_model("gemma-3-270m", device="cpu")
    concepts = yaml.safe_load((REPO / "config.yaml").read_text())["concepts"]
    all_rubrics = load_rubrics(REPO / "data" / "judge_shots.yaml", concepts)
    rubrics = {c: all_rubrics[("concept", c)] for c in sorted(concepts)}
    sets = {name: load_checks(path) for name, path in CHECKS.items()}
    texts = list(dict.fromkeys(pd.concat(sets.values()).text))
    timed = texts[: args.texts]

    def per_rubric(batch: list[str]) -> pd.DataFrame:
        judge = LocalJudge(model, tokenizer, model_id="gemma-3-270m", batch_size=16)
        return pd.DataFrame({c: judge.score(batch, r) for c, r in rubrics.items()})

    def shared(batch: list[str]) -> pd.DataFrame:
        judge = SharedReadingJudge(model, tokenizer, rubrics, model_id="gemma-3-270m")
        return judge.score_all(batch)

    shared(timed[:1])  # warm-up
    per_s, shared_s = [], []
    for trial in range(args.repeats):
        start = time.perf_counter()
        per_rubric(timed)
        per_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        shared(timed)
        shared_s.append(time.perf_counter() - start)
        print(
            f"pair {trial}: per-rubric {per_s[-1]:.1f} s, shared {shared_s[-1]:.1f} s", flush=True
        )
    prefix = len(SharedReadingJudge(model, tokenizer, rubrics, model_id="g").prefix_ids)
    start = time.perf_counter()
    scores = {"per-rubric": long(per_rubric(texts), texts)}
    per_all = time.perf_counter() - start
    start = time.perf_counter()
    scores["shared"] = long(shared(texts), texts)
    shared_all = time.perf_counter() - start
    lines = [
        f"- setup: gemma-3-270m fp32 CPU, {len(rubrics)} concept rubrics of "
        f"data/judge_shots.yaml; shared prefix {prefix} tokens; timed on {len(timed)} check "
        f"texts, {args.repeats} pair(s), fresh judges: per-rubric "
        f"{statistics.median(per_s):.1f} s, shared {statistics.median(shared_s):.1f} s "
        f"(ratio {statistics.median(per_s) / statistics.median(shared_s):.2f}); all "
        f"{len(texts)} texts: per-rubric {per_all:.0f} s, shared {shared_all:.0f} s",
        "",
        "| layout | checks | " + " | ".join(rubrics) + " | min other |",
        "|---|---|" + "---|" * len(rubrics) + "---|",
    ]
    for layout, frame in scores.items():
        for name, checks in sets.items():
            table = validation_table(checks, frame).set_index("concept")
            cells = [f"{table.auroc_other[c]:.2f} / {table.auroc_neutral[c]:.2f}" for c in rubrics]
            lines.append(
                f"| {layout} | {name} | "
                + " | ".join(cells)
                + f" | {table.auroc_other.min():.2f} |"
            )
    record("Judge: one reading per text (bench/judge_shared_reading.py)", lines)


if __name__ == "__main__":
    main()

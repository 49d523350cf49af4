"""Judge AUROC: how well the embedded judge tells each concept from the others, per scoring.

Every distinct text of the tuning checks (``data/judge_checks.jsonl``) and of the held-out
checks (``data/judge_checks_heldout.jsonl``, written apart and never used to choose shots or
scoring) is scored under every concept's rubric by the gemma-3-270m local judge, once per shots
file given. For each shots file, contrast weight (``judge.contrast``: 0 = raw, 0.5, 1) and
checks file the script
prints each concept's AUROC against texts about the other concepts (``auroc_other``, the one
that gates the verdict) and against neutral texts (``auroc_neutral``), from
:func:`steering.evaluation.judges.validation.validation_table`.

    python bench/judge_auroc.py --shots data/judge_shots.yaml           # the shipped shots
    python bench/judge_auroc.py --before b8ead3c   # + the shots file at that git revision
    python bench/judge_auroc.py --reuse DIR   # reread raw scores saved by an earlier run
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record  # noqa: E402
from steering.evaluation.judges.contrastive import contrast  # noqa: E402
from steering.evaluation.judges.validation import (  # noqa: E402
    check_scores,
    load_checks,
    validation_table,
)
from steering.experiment.judge_inputs import load_rubrics  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHECKS = {
    "tuning": REPO / "data" / "judge_checks.jsonl",
    "held-out": REPO / "data" / "judge_checks_heldout.jsonl",
}


def raw_scores(
    shots: Path, checks: pd.DataFrame, concepts: dict, reuse: Path | None
) -> pd.DataFrame:
    """Raw scores of every check text under every concept rubric (cached under ``reuse``)."""
    digest = hashlib.sha256(shots.read_bytes() + "".join(checks.text).encode()).hexdigest()[:12]
    cached = reuse / f"raw_{digest}.parquet" if reuse else None
    if cached is not None and cached.is_file():
        return pd.read_parquet(cached)
    from steering.core.models import load_model
    from steering.evaluation.judges.local import LocalJudge

    model, tokenizer = load_model("gemma-3-270m", device="cpu")
    judge = LocalJudge(model, tokenizer, model_id="gemma-3-270m", batch_size=16)
    rubrics = load_rubrics(shots, concepts)
    start = time.perf_counter()
    scores = check_scores(judge, checks, {c: rubrics[("concept", c)] for c in concepts})
    print(f"{shots}: {len(scores)} scores in {time.perf_counter() - start:.0f} s", flush=True)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        scores.to_parquet(cached)
    return scores


WEIGHTS = (0.0, 0.5, 1.0)


def with_weight(scores: pd.DataFrame, weight: float) -> pd.DataFrame:
    """``scores`` (long, raw) made contrastive with ``weight``."""
    wide = scores.pivot_table(index="text", columns="rubric_concept", values="score")
    long = contrast(wide, weight).reset_index().melt(id_vars="text", value_name="score")
    return long.rename(columns={"variable": "rubric_concept"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", nargs="+", type=Path, default=[REPO / "data/judge_shots.yaml"])
    parser.add_argument(
        "--before", default=None, help="git revision whose data/judge_shots.yaml runs first"
    )
    parser.add_argument("--reuse", type=Path, default=None, help="folder for raw score caches")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.before:
        old = Path(tempfile.mkdtemp()) / f"judge_shots@{args.before}.yaml"
        shown = subprocess.run(
            ["git", "show", f"{args.before}:data/judge_shots.yaml"],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        )
        old.write_text(shown.stdout, encoding="utf-8")
        args.shots = [old, *args.shots]
    concepts = yaml.safe_load((REPO / "config.yaml").read_text())["concepts"]
    sets = {name: load_checks(path) for name, path in CHECKS.items()}
    everything = pd.concat(sets.values(), ignore_index=True)
    lines = [
        "- setup: gemma-3-270m fp32 CPU judge, 'concept' rubrics of each shots file, every "
        "distinct check text under every concept's rubric; tuning = data/judge_checks.jsonl "
        f"({len(sets['tuning'])} lines), held-out = data/judge_checks_heldout.jsonl "
        f"({len(sets['held-out'])} lines, not used to choose shots or scoring); AUROC vs "
        "other concepts (gates the verdict) / vs neutral texts",
        "",
        "| shots | contrast | checks | " + " | ".join(sorted(concepts)) + " | min other |",
        "|---|---|---|" + "---|" * len(concepts) + "---|",
    ]
    for shots in args.shots:
        scores = raw_scores(shots, everything, concepts, args.reuse)
        for weight in WEIGHTS:
            moded = with_weight(scores, weight)
            for name, checks in sets.items():
                table = validation_table(checks, moded).set_index("concept")
                cells = [
                    f"{table.auroc_other[c]:.2f} / {table.auroc_neutral[c]:.2f}"
                    for c in sorted(concepts)
                ]
                lines.append(
                    f"| {shots.name} | {weight:g} | {name} | "
                    + " | ".join(cells)
                    + f" | {table.auroc_other.min():.2f} |"
                )
    record("Judge AUROC per concept (bench/judge_auroc.py)", lines)


if __name__ == "__main__":
    main()

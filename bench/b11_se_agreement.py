"""B11, whole run: does a run whose readings are bf16 give the fp32 run's answer?

Compares two finished runs of the same config and code for generation (so the same texts): a
reference run read in fp32 and a run read in bf16 (judge and perplexity; ``dtype: auto`` on an
AMX CPU). Per (method, n_examples): both mean SEs, whether the bf16 point lies inside the fp32
run's 95% interval, and the coherence rates; the share of outputs with identical text (checks
that generation was indeed the same); per concept the judge's AUROC against other concepts in
both runs; and the dtype each run's perplexity and judgments record.

    python bench/b11_se_agreement.py --reference /path/fp32/results --candidate results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record  # noqa: E402
from steering.io import parquet_metadata  # noqa: E402


def recorded_dtypes(run: Path) -> str:
    """The dtypes a run's perplexity files and judge ids record, e.g. 'perplexity float32'."""
    ppl = {
        parquet_metadata(p).get("dtype", "unrecorded") for p in run.glob("perplexity/**/*.parquet")
    }
    judges = {
        parquet_metadata(p)["judge_id"].rsplit(":", 1)[-1]
        for p in run.glob("judgments/**/*.parquet")
    }
    return f"perplexity {', '.join(sorted(ppl))}; judge id ends {', '.join(sorted(judges))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="fp32-read results/")
    parser.add_argument("--candidate", type=Path, required=True, help="bf16-read results/")
    args = parser.parse_args()
    ref = pd.read_parquet(args.reference / "metrics/mean_se.parquet")
    new = pd.read_parquet(args.candidate / "metrics/mean_se.parquet")
    both = ref.merge(new, on=["method", "n_examples"], suffixes=("_fp32", "_bf16"))
    both["inside"] = both.mean_se_bf16.between(both.ci_low_fp32, both.ci_high_fp32)
    lines = [
        f"- reference (fp32 readings): {args.reference}; {recorded_dtypes(args.reference)}",
        f"- candidate: {args.candidate}; {recorded_dtypes(args.candidate)}",
    ]
    texts = pd.read_parquet(args.reference / "metrics/scores.parquet")
    texts_new = pd.read_parquet(args.candidate / "metrics/scores.parquet")
    keys = ["method", "n_examples", "concept", "prompt_id", "strength", "resample"]
    paired = texts.merge(texts_new, on=keys, suffixes=("_a", "_b"))
    same = float((paired.text_a == paired.text_b).mean())
    lines += [
        f"- outputs paired by (method, n, concept, prompt, strength, resample): {len(paired)}; "
        f"identical text: {same:.1%}; Pearson of the judge's delta "
        f"{paired.delta_a.corr(paired.delta_b):.4f}; relative perplexity difference: median "
        f"{(paired.perplexity_b / paired.perplexity_a - 1).abs().median():.4f}",
        "",
        "| method | n | SE fp32 [95% interval] | SE bf16 [95% interval] | bf16 in fp32 interval "
        "| coherence fp32 / bf16 |",
        "|---|---:|---|---|---|---|",
    ]
    for row in both.itertuples(index=False):
        lines.append(
            f"| {row.method} | {row.n_examples} | {row.mean_se_fp32:.3f} [{row.ci_low_fp32:.3f}, "
            f"{row.ci_high_fp32:.3f}] | {row.mean_se_bf16:.3f} [{row.ci_low_bf16:.3f}, "
            f"{row.ci_high_bf16:.3f}] | {'yes' if row.inside else '**no**'} | "
            f"{row.coherence_rate_fp32:.3f} / {row.coherence_rate_bf16:.3f} |"
        )
    valid = pd.read_parquet(args.reference / "judge_validation.parquet").merge(
        pd.read_parquet(args.candidate / "judge_validation.parquet"),
        on="concept",
        suffixes=("_fp32", "_bf16"),
    )
    aurocs = ", ".join(
        f"{r.concept} {r.auroc_other_fp32:.3f}/{r.auroc_other_bf16:.3f}"
        for r in valid.itertuples(index=False)
    )
    lines += [
        "",
        f"- bf16 SE inside the fp32 interval: {int(both.inside.sum())} of {len(both)} "
        "(method, n) points",
        f"- judge validation, AUROC vs other concepts fp32/bf16: {aurocs}",
    ]
    record("B11 whole run: fp32 vs bf16 readings (bench/b11_se_agreement.py)", lines)


if __name__ == "__main__":
    main()

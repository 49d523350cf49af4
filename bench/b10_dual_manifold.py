"""B10 can dual earn its place: a task manifold that also holds the fit's example activations.

B8 found that dual's projection onto the task manifold (the span of unsteered continuations of
generic prompts) removes what a concept needs to appear in the text. This script compares, on
gemma-3-270m (fp32, CPU, layer 12) with B8's lexical test (3 concepts x 8 prompts x 30 tokens,
equal added norm = multiples of the raw diffmean norm |v|):

* ``dual``: today's manifold, the task continuations only;
* ``dual+examples``: the manifold of the task continuations PLUS the pooled activations of the
  examples the fit uses (each concept's and the neutral examples), so "the activations the model
  visits" include the text it visits when the text IS about a concept;
* ``diffmean`` and ``contamination`` for reference.

    python bench/b10_dual_manifold.py --cache /tmp/b9/acts.npz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.b8_dual_diagnosis import CONCEPTS, REPO, collect, cos, lexical, lines  # noqa: E402
from bench.common import record  # noqa: E402
from steering.core.models import load_model  # noqa: E402
from steering.fit.directions import fit_directions  # noqa: E402
from steering.fit.subspaces import task_manifold  # noqa: E402


def manifold_with_examples(acts: dict[str, np.ndarray]) -> np.ndarray:
    """Task-manifold token activations stacked with every example's pooled activation."""
    return np.vstack([acts["manifold"]] + [acts[c] for c in CONCEPTS] + [acts["neutral"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=24)
    parser.add_argument("--concepts", nargs="+", default=["animal", "person", "object"])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--multiples", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model, tok = load_model("gemma-3-270m")
    acts = collect(model, tok, args.examples, args.cache)
    concept_acts = {c: acts[c] for c in CONCEPTS}
    fits = {
        "diffmean": fit_directions(concept_acts, acts["neutral"], method="diffmean"),
        "contamination": fit_directions(concept_acts, acts["neutral"], method="contamination"),
        "dual": fit_directions(concept_acts, acts["neutral"], acts["manifold"], method="dual"),
        "dual+examples": fit_directions(
            concept_acts, acts["neutral"], manifold_with_examples(acts), method="dual"
        ),
    }
    raw = fits["diffmean"].raw
    finals = {m: f.final for m, f in fits.items()}
    out = [
        f"- manifold rank: task only {task_manifold(acts['manifold']).basis.shape[0]}, "
        f"task + examples {task_manifold(manifold_with_examples(acts)).basis.shape[0]} "
        f"(of {acts['manifold'].shape[1]})",
        "",
        "| method | cos with diffmean | kept of raw norm |",
        "|---|---|---|",
    ]
    for m, v in finals.items():
        c_cos = [cos(v[c], raw[c]) for c in CONCEPTS]
        kept = [np.linalg.norm(v[c]) / np.linalg.norm(raw[c]) for c in CONCEPTS]
        out.append(f"| {m} | {min(c_cos):.2f}-{max(c_cos):.2f} | {min(kept):.2f}-{max(kept):.2f} |")
    prompts = lines(REPO / "data/prompts.txt", args.prompts)
    table = lexical(model, tok, finals, raw, args.concepts, prompts, args.multiples)
    summary = table.groupby(["method", "multiple"])[["has_word", "words_per_100", "coherent"]]
    out += [
        "",
        "Equal added norm, mean over concepts x prompts:",
        "",
        "```",
        summary.mean().round(3).to_string(),
        "```",
    ]
    per = table.groupby(["method", "multiple", "concept"])["has_word"].mean().unstack()
    out += ["", "has_word per concept:", "", "```", per.round(3).to_string(), "```"]
    out += [
        "",
        "Per n (first n examples of each concept and of neutral): cosine of dual+examples with",
        "contamination (min over concepts), and mean cosine with diffmean on all examples:",
        "",
    ]
    out += [
        "| n | cos(dual+examples, contamination) | contamination | dual | dual+examples |",
        "|---|---|---|---|---|",
    ]
    for n in (2, 4, 8, 16, args.examples):
        part = {c: acts[c][:n] for c in CONCEPTS}
        neutral = acts["neutral"][:n]
        with_ex = np.vstack([acts["manifold"], *part.values(), neutral])
        con = fit_directions(part, neutral, method="contamination").final
        dual = fit_directions(part, neutral, acts["manifold"], method="dual").final
        dual_ex = fit_directions(part, neutral, with_ex, method="dual").final
        ref = fits["diffmean"].final

        def mean_cos(v, ref=ref):
            return np.mean([cos(v[c], ref[c]) for c in CONCEPTS])

        out.append(
            f"| {n} | {min(cos(dual_ex[c], con[c]) for c in CONCEPTS):.2f} | "
            f"{mean_cos(con):.2f} | {mean_cos(dual):.2f} | {mean_cos(dual_ex):.2f} |"
        )
    record("B10 dual with the examples in the task manifold", out, append=not args.no_record)


if __name__ == "__main__":
    main()

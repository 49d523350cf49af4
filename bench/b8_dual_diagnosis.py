"""B8 why dual did not steer: geometry of each method's direction and its lexical effect.

On gemma-3-270m (fp32, CPU, layer 12), 5 concepts x the first ``--examples`` lines of
data/concepts/*.txt, the neutral set, the task manifold from data/prompts.txt (10 prompts,
32 tokens):

* geometry, per concept and method: cosine with diffmean's vector, share of the raw norm kept by
  each step, share of the vector's energy in the 5 outlier dimensions, cosine with the shared
  (contamination) direction, how much the manifold projection keeps of a random vector;
* lexical effect on ``--concepts`` (3) x ``--prompts`` (8) prompts x 30 tokens: the share of
  continuations containing a concept word (word lists below) and the words per 100 tokens, at
  equal *added norm* (multiples of the raw norm |v|), with distinct-2 and the robust coherence
  flag per cell;
* calibration: the multiple the strength search (config.yaml's ``calibration``) picks per
  method, so "strength 1.0" can be read off the equal-norm table.

    python bench/b8_dual_diagnosis.py                 # ~4 min on 2 cores
    python bench/b8_dual_diagnosis.py --no-generate   # geometry only (~1 min)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record  # noqa: E402
from steering.core.activations import collect_activations  # noqa: E402
from steering.core.generation import generate, row_vectors  # noqa: E402
from steering.core.models import load_model  # noqa: E402
from steering.evaluation.coherence import coherence_flags, distinct_n  # noqa: E402
from steering.evaluation.perplexity import continuation_perplexity  # noqa: E402
from steering.fit.calibration import CalibrationSettings, calibrate_norms  # noqa: E402
from steering.fit.directions import fit_directions  # noqa: E402
from steering.fit.steerer import ManifoldSteerer  # noqa: E402
from steering.fit.subspaces import normalize_rows, rank_for_energy  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONCEPTS = ("person", "change", "animal", "object", "action")
LAYER = 12
WORDS = {  # a small, hand-written list per concept (whole words, case-insensitive)
    "animal": "animal animals dog dogs cat cats bird birds fish horse horses fox wolf bear lion "
    "cow cows pig sheep deer rabbit mouse mice elephant tiger monkey snake bee bees puppy kitten "
    "pet pets fur tail paw paws feather feathers wing wings nest farm zoo wild wildlife owl duck "
    "frog insect insects creature creatures species hunt prey",
    "person": "person people man men woman women girl boy mother father mom dad grandmother "
    "grandfather friend friends teacher neighbor wife husband son daughter sister brother uncle "
    "aunt family child children kid kids doctor nurse mr mrs ms lady guy student students",
    "object": "object objects mug cup key keys chair table desk box lamp glass bottle bowl plate "
    "knife spoon hammer tool tools book books pen pencil clock phone bag shelf door wooden metal "
    "plastic handle lid drawer jar brass steel",
}


def lines(path: Path, n: int) -> list[str]:
    """The first ``n`` non-empty lines of ``path``."""
    return [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if s.strip()][:n]


def collect(model, tok, n_examples: int, cache: Path | None) -> dict[str, np.ndarray]:
    """Concept, neutral and task-manifold activations at the layer (cached in ``cache``)."""
    if cache and cache.exists():
        return dict(np.load(cache))
    acts = {
        c: collect_activations(
            model, tok, lines(REPO / f"data/concepts/{c}.txt", n_examples), LAYER, progress=False
        )
        for c in CONCEPTS
    }
    acts["neutral"] = collect_activations(
        model, tok, lines(REPO / "data/concepts/neutral.txt", n_examples), LAYER, progress=False
    )
    steerer = ManifoldSteerer(model, tok, LAYER, "dual")
    acts["manifold"] = steerer.manifold_activations(lines(REPO / "data/prompts.txt", 10))
    if cache:
        np.savez(cache, **acts)
    return acts


def cos(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two vectors."""
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def fit_all(acts: dict[str, np.ndarray], methods: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """Every method's final vectors on the cached activations, plus the pre-fix variants."""
    concept_acts = {c: acts[c] for c in CONCEPTS}
    fits = {
        m: fit_directions(concept_acts, acts["neutral"], acts["manifold"], method=m)
        for m in methods
    }
    finals = {m: d.final for m, d in fits.items()}
    finals["raw"] = fits["diffmean"].raw
    oblique = oblique_projection(acts["manifold"])  # the projection before the B8 fix
    finals["manifold-oblique"] = {c: oblique(v) for c, v in fits["diffmean"].raw.items()}
    finals["dual-oblique"] = {c: oblique(v) for c, v in fits["contamination"].final.items()}
    finals["shared"] = {  # diagnosis: the part contamination removal takes away
        c: fits["diffmean"].raw[c] - fits["contamination"].final[c] for c in CONCEPTS
    }
    finals["_shared_basis"] = {"u": fits["contamination"].subspaces["contamination"].basis[0]}
    return finals


def oblique_projection(manifold: np.ndarray, energy: float = 0.99):
    """The manifold projection before B8: ``std * P(v / std)`` in standardised coordinates."""
    rows = normalize_rows(manifold.astype(np.float64))
    centred = rows - rows.mean(axis=0)
    spread = centred.std(axis=0)
    std = np.where(spread > 0, spread, 1.0)
    _, s, vt = np.linalg.svd(centred / std, full_matrices=False)
    basis = vt[: min(rank_for_energy(s, energy), len(rows) - 1)]
    return lambda v: std * (basis.T @ (basis @ (v / std)))


def geometry(acts: dict[str, np.ndarray], finals: dict) -> list[str]:
    """The geometry table (markdown rows) and the manifold facts."""
    neutral = acts["neutral"].astype(np.float64)
    energy = (neutral**2).mean(axis=0)
    outliers = np.argsort(energy)[::-1][:5]
    shared = finals["_shared_basis"]["u"]
    noise = np.random.default_rng(0).standard_normal((200, neutral.shape[1]))
    fitted = fit_directions(
        {c: acts[c] for c in CONCEPTS}, neutral, acts["manifold"], method="manifold"
    )
    manifold = fitted.subspaces["manifold"]
    oblique = oblique_projection(acts["manifold"])
    keep = {
        name: np.mean([np.linalg.norm(f(r)) / np.linalg.norm(r) for r in noise])
        for name, f in (("orthogonal", manifold.project_onto), ("oblique", oblique))
    }
    out = [
        f"- mean activation norm (neutral, mean-pooled) "
        f"{np.linalg.norm(neutral, axis=1).mean():.0f}; outlier dims {outliers.tolist()} hold "
        f"{energy[outliers].sum() / energy.sum():.1%} of its energy",
        f"- manifold: rank {manifold.rank} of {neutral.shape[1]} from {manifold.n_samples} "
        f"tokens; norm kept of an isotropic random vector: orthogonal {keep['orthogonal']:.2f}, "
        f"oblique (before) {keep['oblique']:.2f}",
        f"- shared (contamination) direction: {np.sum(shared[outliers] ** 2):.1%} of it in the "
        "outlier dims",
        "",
        "| concept | vector | cos with diffmean | kept of raw norm | outlier-dim energy | "
        "cos with shared |",
        "|---|---|---|---|---|---|",
    ]
    for c in CONCEPTS:
        raw = finals["raw"][c]
        for m, vectors in finals.items():
            if m.startswith("_") or m == "raw":
                continue
            v = vectors[c]
            out.append(
                f"| {c} | {m} | {cos(v, raw):.2f} | {np.linalg.norm(v) / np.linalg.norm(raw):.2f} "
                f"| {np.sum(v[outliers] ** 2) / np.sum(v**2):.2f} | {cos(v, shared):+.2f} |"
            )
    return out


def word_stats(text: str, concept: str) -> tuple[bool, float]:
    """Whether ``text`` holds a concept word, and concept words per 100 words."""
    vocab = set(WORDS[concept].split())
    words = re.findall(r"[a-z]+", text.lower())
    hits = sum(w in vocab for w in words)
    return hits > 0, 100.0 * hits / max(len(words), 1)


def lexical(
    model, tok, finals: dict, raw: dict, concepts: list[str], prompts: list[str], multiples
) -> pd.DataFrame:
    """Word rate and coherence per (method, concept, multiple of |v|) at equal added norm."""
    units = {
        (m, c): (v[c] / np.linalg.norm(v[c]) * np.linalg.norm(raw[c])).astype(np.float32)
        for m, v in finals.items()
        for c in concepts
    }
    keys = {k: f"{k[0]}/{k[1]}" for k in units}
    rows = [(None, p, 0.0) for p in range(len(prompts))]
    rows += [(k, p, s) for k in units for s in multiples for p in range(len(prompts))]
    outputs = generate(
        model,
        tok,
        [prompts[p] for _, p, _ in rows],
        layer=LAYER,
        direction=row_vectors(
            {keys[k]: v for k, v in units.items()}, [keys.get(k) for k, _, _ in rows]
        ),
        strengths=[s for _, _, s in rows],
        max_new_tokens=30,
        batch_size=64,
        progress=False,
    )
    ppl = continuation_perplexity(
        model,
        [o.prompt_ids for o in outputs],
        [o.token_ids for o in outputs],
        pad_token_id=tok.pad_token_id,
        progress=False,
    )
    table = pd.DataFrame(
        {
            "method": [k[0] if k else None for k, _, _ in rows],
            "concept": [k[1] if k else None for k, _, _ in rows],
            "prompt": [p for _, p, _ in rows],
            "multiple": [s for _, _, s in rows],
            "text": [o.text for o in outputs],
            "perplexity": [r.perplexity for r in ppl],
            "ppl_first_k": [r.ppl_first_k for r in ppl],
            "distinct2": [distinct_n(o.text, 2) for o in outputs],
        }
    )
    base = table[table.method.isna()].set_index("prompt")
    for column in ("perplexity", "ppl_first_k", "distinct2"):
        table[f"baseline_{column}"] = table.prompt.map(base[column])
    table["coherent"] = coherence_flags(table, rule="robust", ratio=3.0, distinct_ratio=0.5)
    for c in concepts:  # the baseline rows, once per concept
        b = base.reset_index().assign(concept=c, method="baseline", multiple=0.0)
        table = pd.concat([table, b.assign(coherent=True)], ignore_index=True)
    table = table[table.concept.notna()].copy()
    stats = [word_stats(t, c) for t, c in zip(table.text, table.concept, strict=True)]
    table["has_word"] = [s[0] for s in stats]
    table["words_per_100"] = [s[1] for s in stats]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=24)
    parser.add_argument("--concepts", nargs="+", default=["animal", "person", "object"])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--multiples", type=float, nargs="+", default=[0.5, 1.0, 1.5, 2.0])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["diffmean", "contamination", "manifold", "dual", "dual-oblique", "shared"],
    )
    parser.add_argument("--calibrate", nargs="*", default=["diffmean", "dual", "dual-oblique"])
    parser.add_argument("--cache", type=Path, default=None, help="npz of the activations")
    parser.add_argument("--csv", type=Path, default=None, help="write the per-row table")
    parser.add_argument("--no-generate", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model, tok = load_model("gemma-3-270m")
    acts = collect(model, tok, args.examples, args.cache)
    finals = fit_all(acts, ["diffmean", "contamination", "manifold", "dual"])
    out = geometry(acts, finals)
    if not args.no_generate:
        prompts = lines(REPO / "data/prompts.txt", args.prompts)
        chosen = {m: finals[m] for m in args.methods}
        table = lexical(model, tok, chosen, finals["raw"], args.concepts, prompts, args.multiples)
        columns = ["has_word", "words_per_100", "coherent", "distinct2"]
        summary = table.groupby(["method", "multiple"])[columns].mean().round(3)
        out += ["", "Equal added norm (multiple of |v|), mean over concepts and prompts:", ""]
        out += ["```", summary.to_string(), "```"]
        cal = CalibrationSettings(multiples=tuple(args.multiples))
        for m in args.calibrate:
            got = calibrate_norms(
                model,
                tok,
                layer=LAYER,
                directions={
                    c: (finals[m][c] / np.linalg.norm(finals[m][c])).astype(np.float32)
                    for c in args.concepts
                },
                raw_norms={c: float(np.linalg.norm(finals["raw"][c])) for c in args.concepts},
                prompts=prompts,
                settings=cal,
            )
            picked = ", ".join(f"{c} {g.multiple}" for c, g in got.items())
            out.append(f"- calibrated multiple of |v|, {m}: {picked}")
        if args.csv:
            table.to_csv(args.csv, index=False)
    record("B8 dual diagnosis", out, append=not args.no_record)


if __name__ == "__main__":
    main()

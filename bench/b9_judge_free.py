"""B9 judge-free curves on the embedded model: split-half stability and held-out detection AUROC.

On gemma-3-270m (fp32, CPU, layer 12, mean pooling): the WHOLE pool of each concept's examples
(every line of data/concepts/<concept>.txt) and of the neutral set, and the task manifold from
data/prompts.txt (10 prompts, 32 tokens), as the workflow collects them. Then, without the model,
:func:`steering.evaluation.judge_free.judge_free_table` per method at the default n_examples
with ``--resamples`` subsets and ``--held-out`` examples held out of every pool, the curves with
crossed-bootstrap intervals, and the report section.

    python bench/b9_judge_free.py --cache /tmp/b9.npz   # ~2-7 min to collect, ~1 s after

Numpy runs on one BLAS thread unless ``OMP_NUM_THREADS`` is set (see below).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# One BLAS thread, set before numpy loads: on the busy 2-core machine OpenBLAS's default threads
# made the table 50x slower (46 s instead of 0.9 s; the SVDs are small).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record  # noqa: E402
from steering.core.activations import collect_activations  # noqa: E402
from steering.core.models import load_model  # noqa: E402
from steering.evaluation.judge_free import judge_free_table  # noqa: E402
from steering.evaluation.judge_free_curves import judge_free_curves  # noqa: E402
from steering.fit.steerer import ManifoldSteerer  # noqa: E402
from steering.reporting.judge_free import judge_free_section, plot_judge_free  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONCEPTS = ("person", "change", "animal", "object", "action")
LAYER = 12


def lines(path: Path, n: int | None = None) -> list[str]:
    """The non-empty lines of ``path`` (the first ``n`` when given)."""
    found = [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]
    return found[:n] if n else found


def collect(cache: Path | None) -> dict[str, np.ndarray]:
    """Pool activations of every concept and of neutral, and the task manifold (cached)."""
    if cache and cache.exists():
        return dict(np.load(cache))
    model, tok = load_model("gemma-3-270m")
    acts = {
        name: collect_activations(
            model, tok, lines(REPO / f"data/concepts/{name}.txt"), LAYER, progress=False
        )
        for name in (*CONCEPTS, "neutral")
    }
    steerer = ManifoldSteerer(model, tok, LAYER, "dual")
    acts["manifold"] = steerer.manifold_activations(lines(REPO / "data/prompts.txt", 10))
    if cache:
        np.savez(cache, **acts)
    return acts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="npz of the pool activations")
    parser.add_argument("--n-examples", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    parser.add_argument("--resamples", type=int, default=3)
    parser.add_argument("--held-out", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--methods", nargs="+", default=["dual", "diffmean", "contamination", "manifold", "random"]
    )
    parser.add_argument("--figure", type=Path, default=None, help="write the curves' PNG here")
    parser.add_argument("--csv", type=Path, default=None, help="write the per-row table here")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    acts = collect(args.cache)
    start = time.perf_counter()
    table = judge_free_table(
        {c: acts[c] for c in CONCEPTS},
        acts["neutral"],
        acts["manifold"],
        n_examples=args.n_examples,
        resamples=args.resamples,
        held_out=args.held_out,
        seed=args.seed,
        methods=args.methods,
    )
    seconds = time.perf_counter() - start
    curves = judge_free_curves(table, seed=args.seed)
    if args.csv:
        table.to_csv(args.csv, index=False)
    if args.figure:
        plot_judge_free(curves, args.figure)
    per_concept = (
        table.groupby(["method", "n_examples", "concept"], sort=False)[
            ["stability", "detection_auroc"]
        ]
        .mean()
        .round(3)
        .unstack("concept")
    )
    out = [
        f"- pools: {', '.join(f'{c} {len(acts[c])}' for c in (*CONCEPTS, 'neutral'))} lines; "
        f"manifold {len(acts['manifold'])} tokens; hidden {acts['neutral'].shape[1]}",
        f"- table: {len(table)} rows in {seconds:.1f} s "
        f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})",
        "",
        *judge_free_section(curves),
        "Per concept (mean over resamples):",
        "",
        "```",
        per_concept.to_string(),
        "```",
    ]
    record("B9 judge-free curves", out, append=not args.no_record)


if __name__ == "__main__":
    main()

"""B3 activation reuse: one collection at the largest size, sliced, vs one per size.

The workflow fits vectors at six sizes (2, 4, 8, 16, 32, 64 examples per concept). Reuse
collects the activations of 64 examples x (5 concepts + neutral) once, at layer 12, and slices
the first k rows for k examples; the alternative collects 2 + 4 + ... + 64 examples of each set
separately. Both use ``steering.core.activations.collect_activations`` on gemma-3-270m; they are
interleaved (A, B, A, B, ...) and the figure is the median of the per-pair ratios. The sliced
arrays are checked against the separate collections. Target: reuse / separate <= 0.55.

    python bench/b3_activation_reuse.py            # 2..64 examples, 3 pairs
    python bench/b3_activation_reuse.py --quick    # 2..16 examples
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record  # noqa: E402
from steering.core.activations import collect_activations  # noqa: E402
from steering.core.models import load_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SETS = ("person", "change", "animal", "object", "action", "neutral")
TARGET = 0.55


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-examples", dest="sizes", type=int, nargs="+",
                        default=[2, 4, 8, 16, 32, 64])
    parser.add_argument("--repeats", type=int, default=3, help="A/B pairs")
    parser.add_argument("--layer", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="2, 4, 8, 16 examples")
    args = parser.parse_args()
    if args.quick:
        args.sizes = [2, 4, 8, 16]
    torch.set_num_threads(args.threads)
    model, tokenizer = load_model("gemma-3-270m")
    top = max(args.sizes)
    texts = {
        name: (REPO / "data" / "concepts" / f"{name}.txt").read_text().splitlines()[:top]
        for name in SETS
    }

    def collect(name: str, n: int) -> np.ndarray:
        return collect_activations(
            model,
            tokenizer,
            texts[name][:n],
            args.layer,
            batch_size=args.batch_size,
            progress=False,
        )

    def reuse() -> dict[tuple[str, int], np.ndarray]:
        full = {name: collect(name, top) for name in SETS}
        return {(name, k): full[name][:k] for name in SETS for k in args.sizes}

    def separate() -> dict[tuple[str, int], np.ndarray]:
        return {(name, k): collect(name, k) for name in SETS for k in args.sizes}

    collect("neutral", 4)  # warm-up
    reuse_s, separate_s, ratios, cpu_ratios = [], [], [], []
    for trial in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        a = reuse()
        reuse_s.append(time.perf_counter() - start)
        cpu_a = time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        b = separate()
        separate_s.append(time.perf_counter() - start)
        cpu_ratios.append(cpu_a / (time.process_time() - cpu))
        ratios.append(reuse_s[-1] / separate_s[-1])
        print(
            f"pair {trial}: reuse {reuse_s[-1]:.2f} s, separate {separate_s[-1]:.2f} s, "
            f"ratio {ratios[-1]:.3f} (CPU time {cpu_ratios[-1]:.3f})",
            flush=True,
        )
    diff = max(float(np.abs(a[key] - b[key]).max()) for key in a)
    scale = max(float(np.abs(b[key]).max()) for key in b)
    ratio = statistics.median(ratios)
    n_reuse = top * len(SETS)
    n_separate = sum(args.sizes) * len(SETS)
    lines = [
        f"- setup: gemma-3-270m fp32 CPU, layer {args.layer}, mean pooling, batch "
        f"{args.batch_size}, examples per concept {args.sizes}, {len(SETS)} sets "
        f"(5 concepts + neutral); "
        f"{args.repeats} interleaved pairs, medians{' (--quick)' if args.quick else ''}",
        f"- reuse ({n_reuse} texts once, sliced): {statistics.median(reuse_s):.2f} s "
        f"(per pair: {', '.join(f'{t:.2f}' for t in reuse_s)})",
        f"- separate ({n_separate} texts, one collection per scale): "
        f"{statistics.median(separate_s):.2f} s "
        f"(per pair: {', '.join(f'{t:.2f}' for t in separate_s)})",
        f"- **ratio reuse/separate: median {ratio:.3f}** (per pair: "
        f"{', '.join(f'{r:.3f}' for r in ratios)}; text-count ratio "
        f"{n_reuse / n_separate:.3f}); target <= {TARGET}: "
        f"{'met' if ratio <= TARGET else 'MISSED'}; in process CPU time: median "
        f"{statistics.median(cpu_ratios):.3f}",
        f"- sliced vs separately collected activations: max abs difference {diff:.2e} "
        f"(max |activation| {scale:.1f}; batch padding changes float rounding only)",
    ]
    record("B3 activation reuse (bench/b3_activation_reuse.py)", lines)


if __name__ == "__main__":
    main()

"""B13: does dual move a concept's word rate on the embedded gemma-3-270m (issue 11)?

The settings a slow test would use: fp32 CPU, one torch thread, layer 12, the first 16 lines
of each ``data/concepts`` file (and of neutral), contamination_rank 1, manifold_energy 0.99,
the 10 prompts of ``data/prompts.txt``, greedy, 40 new tokens; the measure is
``steering.evaluation.lexicon`` with ``data/lexicons``. Strength s adds s x |v| (fixed
calibration, multiple 1.0); the search calibration's multiples are printed so its strength 1.0
can be read off the sweep (same direction and norm). Each concept's 10 steered rows are paired
with the 10 unsteered rows (``concept=None``) of the same prompts; a row is "up" when it has
more concept words than its baseline row. The sign test is over the rows that differ.

    PYTHONPATH=. python bench/b13_dual_word_rate.py
"""

from __future__ import annotations

import time

import numpy as np
import torch
from scipy.stats import binomtest

from steering.core.models import load_model
from steering.evaluation.lexicon import load_lexicons, tokens
from steering.fit.calibration import CalibrationSettings
from steering.fit.fit_activations import example_activations
from steering.fit.steerer import ManifoldSteerer
from tests.helpers.tiny_models import DATA, read_lines

CONCEPTS = ("action", "animal", "change", "object", "person")
NEW_TOKENS = 40
# (label, method, calibration mode, examples per concept, strengths)
RUNS = (
    ("dual search", "dual", "search", 16, ()),
    ("dual", "dual", "fixed", 16, (-1.0, 0.5, 1.0, 1.5, 2.0, 3.0)),
    ("dual n=64", "dual", "fixed", 64, (-1.0, 1.0, 2.0)),
    ("diffmean", "diffmean", "fixed", 16, (-1.0, 1.0, 1.5)),
)


def main() -> None:
    torch.set_num_threads(1)
    model, tok = load_model("gemma-3-270m", dtype="float32", device="cpu")
    prompts = [line for line in (DATA / "prompts.txt").read_text().splitlines() if line.strip()]
    lex = load_lexicons(DATA / "lexicons", CONCEPTS)
    manifold = None
    for label, method, mode, n, strengths in RUNS:
        steerer = ManifoldSteerer(
            model,
            tok,
            layer=12,
            method=method,
            contamination_rank=1,
            manifold_energy=0.99,
            calibration=CalibrationSettings(mode=mode),
        )
        if manifold is None and method == "dual":
            manifold = steerer.manifold_activations(prompts)
        examples = {c: read_lines(f"concepts/{c}.txt", n) for c in CONCEPTS}
        neutral = read_lines("concepts/neutral.txt", n)
        concept_acts, neutral_acts = example_activations(model, tok, 12, examples, neutral)
        started = time.perf_counter()
        report = steerer.fit_from_activations(
            concept_acts, neutral_acts, manifold if method == "dual" else None, prompts
        )
        multiples = {c: report.calibration[c]["multiple"] for c in CONCEPTS}
        print(f"{label}: fit {time.perf_counter() - started:.0f} s, multiples {multiples}")
        if not strengths:
            continue
        rows_p, rows_c, rows_s = list(prompts), [None] * len(prompts), [0.0] * len(prompts)
        for c in CONCEPTS:
            for s in strengths:
                rows_p += prompts
                rows_c += [c] * len(prompts)
                rows_s += [s] * len(prompts)
        texts = steerer.generate_batch(
            rows_p, rows_c, rows_s, max_new_tokens=NEW_TOKENS, batch_size=64, progress=False
        )
        report_rates(label, texts, prompts, strengths, lex)


def report_rates(label, texts, prompts, strengths, lex) -> None:
    """Per concept and pooled: mean word rate, concept words, rows up/down vs the baseline."""
    m = len(prompts)

    def hits(text: str, c: str) -> int:
        return sum(lex[c].matches(t) for t in tokens(text))

    def rate(text: str, c: str) -> float:
        return hits(text, c) / max(1, len(tokens(text)))

    base = texts[:m]
    pooled = {s: [0, 0, 0] for s in strengths}
    k = m
    for c in CONCEPTS:
        parts = [
            f"base rate {np.mean([rate(x, c) for x in base]):.3f} words "
            f"{sum(hits(x, c) for x in base)}"
        ]
        for s in strengths:
            steered = texts[k : k + m]
            k += m
            up = sum(hits(x, c) > hits(b, c) for x, b in zip(steered, base, strict=True))
            down = sum(hits(x, c) < hits(b, c) for x, b in zip(steered, base, strict=True))
            words = sum(hits(x, c) for x in steered)
            pooled[s] = [pooled[s][0] + words, pooled[s][1] + up, pooled[s][2] + down]
            parts.append(
                f"{s:+.1f}: rate {np.mean([rate(x, c) for x in steered]):.3f} "
                f"words {words} up {up} down {down}"
            )
        print(f"{label} {c}: " + " | ".join(parts))
    base_words = sum(hits(x, c) for c in CONCEPTS for x in base)
    for s, (words, up, down) in pooled.items():
        p = binomtest(up, up + down).pvalue if up + down else 1.0
        print(
            f"{label} pooled {s:+.1f}: words {words} vs baseline {base_words}; rows up {up} "
            f"down {down} of {m * len(CONCEPTS)}; sign test p {p:.2f}"
        )


if __name__ == "__main__":
    main()

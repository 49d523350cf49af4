"""A synthetic per-output scores table for the SE, bootstrap and table tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

_STRENGTHS = (0.0, 2.0, 4.0, 8.0)


def synthetic_scores(
    *,
    methods: dict[str, float],
    n_examples: tuple[int, ...] = (4,),
    concepts: tuple[str, ...] = ("person", "change"),
    n_prompts: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-output scores; ``methods`` maps method -> delta slope per unit strength."""
    rng = np.random.default_rng(seed)
    rows = []
    for method, slope in methods.items():
        for n in n_examples:
            for concept in concepts:
                for prompt in range(n_prompts):
                    for strength in _STRENGTHS:
                        delta = slope * strength + rng.normal(0.0, 1.0)
                        rows.append(
                            {
                                "method": method,
                                "n_examples": n,
                                "concept": concept,
                                "prompt_id": prompt,
                                "strength": strength,
                                "text": "some text",
                                "delta": delta,
                                "reference": delta + rng.normal(0.0, 1.0),
                                "perplexity": 10.0 + strength,
                                "baseline_perplexity": 10.0,
                                "ppl_first_k": 10.0,
                                "baseline_ppl_first_k": 10.0,
                                "distinct2": 0.9,
                                "baseline_distinct2": 0.9,
                            }
                        )
    return pd.DataFrame(rows)

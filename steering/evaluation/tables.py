"""Summary tables of steering effectiveness over the per-output scores table.

The scores table (schema in :mod:`steering.evaluation.scoring`) has one row per generated output
per concept; the tables here group it by (method, n_examples, concept) and by
(method, n_examples), where ``n_examples`` is the number of training examples per concept.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from steering.evaluation.bootstrap import (
    bootstrap_mean_se,
    bootstrap_se,
    check_bootstrap,
)
from steering.evaluation.coherence import coherence_flags, require_columns
from steering.evaluation.effectiveness import steering_effectiveness

GROUP_KEYS: Final[list[str]] = ["method", "n_examples", "concept"]


def with_coherence(
    scores: pd.DataFrame, coherence_rule: str, ratio: float, distinct_ratio: float
) -> pd.DataFrame:
    require_columns(scores, [*GROUP_KEYS, "prompt_id", "delta", "strength", "reference"], "scores")
    if scores.empty:
        raise ValueError("scores is empty; it needs at least one output row")
    out = scores.copy()
    out["coherent"] = coherence_flags(
        scores, rule=coherence_rule, ratio=ratio, distinct_ratio=distinct_ratio
    )
    out["coherent_prototype"] = coherence_flags(
        scores, rule="prototype", ratio=ratio, distinct_ratio=distinct_ratio
    )
    return out


def se_table(
    scores: pd.DataFrame,
    *,
    n_boot: int,
    seed: int,
    coherence_rule: str,
    ratio: float,
    distinct_ratio: float,
) -> pd.DataFrame:
    """SE with a prompt-bootstrap CI for every (method, n_examples, concept) group.

    Every group is bootstrapped with the same ``seed``, so groups that share prompt ids are
    resampled identically (a paired bootstrap), and the result does not depend on group order.

    Args:
        scores: Per-output scores table (schema in :mod:`steering.evaluation.scoring`).
        n_boot: Bootstrap replicates per group, >= 1.
        seed: Seed for the bootstrap.
        coherence_rule: Rule for ``coherence_rate`` and SE (see
            :func:`~steering.evaluation.coherence.coherence_flags`).
        ratio: Perplexity ratio for the coherence rules.
        distinct_ratio: Distinct-2 ratio for the robust rule.

    Returns:
        One row per group, sorted by group, with columns ``method``, ``n_examples``,
        ``concept``, ``se``, ``ci_low``, ``ci_high`` (95%), ``rho``, ``r``, ``coherence_rate``
        (chosen rule), ``coherence_rate_prototype`` (prototype rule), ``flags`` (``";"``-joined)
        and ``n`` (number of outputs).

    Raises:
        ValueError: On missing columns, an empty table, or invalid rule/ratio/bootstrap settings.
    """
    check_bootstrap(n_boot, 0.95)
    table = with_coherence(scores, coherence_rule, ratio, distinct_ratio)
    rows: list[dict[str, object]] = []
    for (method, n_examples, concept), group in table.groupby(GROUP_KEYS, sort=True):
        result = steering_effectiveness(
            group["delta"], group["strength"], group["reference"], group["coherent"]
        )
        ci_low, ci_high = bootstrap_se(group, n_boot=n_boot, seed=seed)
        rows.append(
            {
                "method": method,
                "n_examples": int(n_examples),
                "concept": concept,
                "se": result.se,
                "ci_low": ci_low,
                "ci_high": ci_high,
                "rho": result.rho,
                "r": result.r,
                "coherence_rate": result.coherence_rate,
                "coherence_rate_prototype": float(group["coherent_prototype"].mean()),
                "flags": ";".join(result.flags),
                "n": result.n,
            }
        )
    return pd.DataFrame(rows)


def mean_se_table(
    scores: pd.DataFrame,
    *,
    n_boot: int,
    seed: int,
    coherence_rule: str,
    ratio: float,
    distinct_ratio: float,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Mean SE over concepts per (method, n_examples), with a paired prompt-bootstrap CI.

    The point estimate is the plain mean of the per-concept SEs (equal to averaging
    :func:`se_table`'s ``se`` column). The interval resamples PROMPTS, not concepts (see
    :func:`~steering.evaluation.bootstrap.bootstrap_mean_se`). Why prompts: the concept set is
    fixed by design (we report on these concepts, usually only a handful, for which a concept
    bootstrap would be nearly [min, max]), and the question the knee asks is whether a step's
    improvement exceeds the evaluation noise, which is prompt sampling.

    Args:
        scores: Per-output scores table (schema in :mod:`steering.evaluation.scoring`).
        n_boot: Bootstrap replicates, >= 1.
        seed: Seed for ``numpy.random.default_rng`` (one generator per (method, n_examples),
            all seeded identically, so rows with the same prompts get identical draws).
        coherence_rule: Coherence rule for SE.
        ratio: Perplexity ratio for the coherence rules.
        distinct_ratio: Distinct-2 ratio for the robust rule.
        ci: Confidence level in (0, 1).

    Returns:
        One row per (method, n_examples), sorted, with columns ``method``, ``n_examples``,
        ``mean_se``, ``ci_low``, ``ci_high``, ``coherence_rate``, ``coherence_rate_prototype``
        (means over concepts) and ``n_concepts``.

    Raises:
        ValueError: On missing columns, an empty table, or invalid settings.
    """
    check_bootstrap(n_boot, ci)
    table = with_coherence(scores, coherence_rule, ratio, distinct_ratio)
    rows: list[dict[str, object]] = []
    for (method, n_examples), block in table.groupby(["method", "n_examples"], sort=True):
        by_concept = block.groupby("concept", sort=True)
        mean_se, low, high = bootstrap_mean_se(
            [group for _, group in by_concept], n_boot=n_boot, seed=seed, ci=ci
        )
        coherence = by_concept[["coherent", "coherent_prototype"]].mean()
        rows.append(
            {
                "method": method,
                "n_examples": int(n_examples),
                "mean_se": mean_se,
                "ci_low": low,
                "ci_high": high,
                "coherence_rate": float(coherence["coherent"].mean()),
                "coherence_rate_prototype": float(coherence["coherent_prototype"].mean()),
                "n_concepts": len(coherence),
            }
        )
    return pd.DataFrame(rows)


def control_margin(table: pd.DataFrame, *, method: str, control: str = "random") -> pd.DataFrame:
    """How far each concept's SE stands above the control (random-direction) SE.

    Rows of ``method`` and ``control`` from :func:`se_table` are matched on
    (n_examples, concept).

    Args:
        table: Output of :func:`se_table`.
        method: The steering method to compare (usually the primary method).
        control: The control method.

    Returns:
        Columns ``n_examples``, ``concept``, ``se``, ``se_control``, ``margin``
        (``se - se_control``) and ``separated`` (True when the method's ``ci_low`` exceeds the
        control's ``ci_high``), sorted by n_examples and concept; empty if the two share no
        (n_examples, concept).

    Raises:
        ValueError: If columns are missing or either method is absent from the table.
    """
    keys = ["n_examples", "concept"]
    cols = [*keys, "se", "ci_low", "ci_high"]
    require_columns(table, ["method", *cols], "table")
    present = set(table["method"])
    for name in (method, control):
        if name not in present:
            raise ValueError(
                f"method {name!r} is not in the table (methods: {sorted(present)}); "
                "pass one of those"
            )
    merged = pd.merge(
        table.loc[table["method"] == method, cols],
        table.loc[table["method"] == control, cols],
        on=keys,
        suffixes=("", "_control"),
    )
    merged["margin"] = merged["se"] - merged["se_control"]
    merged["separated"] = merged["ci_low"] > merged["ci_high_control"]
    out = merged[[*keys, "se", "se_control", "margin", "separated"]]
    return out.sort_values(keys).reset_index(drop=True)

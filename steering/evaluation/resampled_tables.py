"""Mean-SE tables over resampled example subsets: the hierarchical curve and one per resample.

The scores table has a ``resample`` column (which example subset each steered output's vector
was fitted on); rows with a missing ``resample`` (the shared unsteered baseline) count in every
resample of their (method, n_examples).
"""

from __future__ import annotations

import pandas as pd

from steering.evaluation.bootstrap import check_bootstrap, hierarchical_mean_se
from steering.evaluation.coherence import require_columns
from steering.evaluation.tables import mean_se_table, se_table, with_coherence


def rows_by_resample(block: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """Rows per resample; rows whose ``resample`` is missing (the shared baseline) join each."""
    shared = block[block["resample"].isna()]
    own = block[block["resample"].notna()]
    if own.empty:
        raise ValueError(
            "every row's resample is missing; tag the steered outputs with their resample"
        )
    return {
        int(r): pd.concat([group, shared], ignore_index=True)
        for r, group in own.groupby("resample", sort=True)
    }


def resampled_mean_se_table(
    scores: pd.DataFrame,
    *,
    n_boot: int,
    seed: int,
    coherence_rule: str,
    ratio: float,
    distinct_ratio: float,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Mean SE per (method, n_examples) over resamples and concepts, hierarchical interval.

    The scores table has a ``resample`` column (which example subset the vector was fitted
    on); rows with a missing ``resample`` (the unsteered baseline) count in every resample of
    their (method, n_examples). The interval comes from
    :func:`~steering.evaluation.bootstrap.hierarchical_mean_se` (resamples, then prompts).

    Args:
        scores: Per-output scores table with ``resample``.
        n_boot: Bootstrap replicates, >= 1.
        seed: Seed of the bootstrap (the same for every group).
        coherence_rule: Coherence rule for SE.
        ratio: Perplexity ratio for the coherence rules.
        distinct_ratio: Distinct-2 ratio for the robust rule.
        ci: Confidence level in (0, 1).

    Returns:
        One row per (method, n_examples): ``method``, ``n_examples``, ``mean_se``, ``ci_low``,
        ``ci_high``, ``n_resamples``, ``coherence_rate`` and ``n_concepts``.

    Raises:
        ValueError: On missing columns (``resample`` included), an empty table, a group with no
            tagged resample, or invalid settings.
    """
    check_bootstrap(n_boot, ci)
    require_columns(scores, ["resample"], "scores")
    table = with_coherence(scores, coherence_rule, ratio, distinct_ratio)
    rows: list[dict[str, object]] = []
    for (method, n_examples), block in table.groupby(["method", "n_examples"], sort=True):
        resamples = rows_by_resample(block)
        per_resample = [
            [group for _, group in part.groupby("concept", sort=True)]
            for part in resamples.values()
        ]
        mean_se, low, high, _ = hierarchical_mean_se(per_resample, n_boot=n_boot, seed=seed, ci=ci)
        rows.append(
            {
                "method": method,
                "n_examples": int(n_examples),
                "mean_se": mean_se,
                "ci_low": low,
                "ci_high": high,
                "n_resamples": len(resamples),
                "coherence_rate": float(block["coherent"].mean()),
                "n_concepts": int(block["concept"].nunique()),
            }
        )
    return pd.DataFrame(rows)


def per_resample_mean_se_table(
    scores: pd.DataFrame,
    *,
    n_boot: int,
    seed: int,
    coherence_rule: str,
    ratio: float,
    distinct_ratio: float,
    ci: float = 0.95,
) -> pd.DataFrame:
    """:func:`mean_se_table` for each resample separately (for a knee per resample).

    Rows with a missing ``resample`` (the shared baseline) join every resample, as in
    :func:`resampled_mean_se_table`.

    Returns:
        :func:`mean_se_table`'s columns plus ``resample``, one row per (method, n_examples,
        resample), sorted.
    """
    require_columns(scores, ["method", "n_examples", "resample"], "scores")
    parts = []
    for (_, _), block in scores.groupby(["method", "n_examples"], sort=True):
        for r, part in rows_by_resample(block).items():
            table = mean_se_table(
                part,
                n_boot=n_boot,
                seed=seed,
                coherence_rule=coherence_rule,
                ratio=ratio,
                distinct_ratio=distinct_ratio,
                ci=ci,
            )
            parts.append(table.assign(resample=r))
    if not parts:
        raise ValueError("scores is empty; it needs at least one output row")
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["method", "n_examples", "resample"]).reset_index(drop=True)


def per_resample_rows(scores: pd.DataFrame) -> pd.DataFrame:
    """Each resample's rows with the shared baseline rows copied into it (tagged with it).

    A steered output belongs to one resample; a baseline row (``resample`` missing) belongs to
    every resample of its (method, n_examples), so it appears once per resample here.
    """
    require_columns(scores, ["method", "n_examples", "resample"], "scores")
    parts = [
        part.assign(resample=r)
        for _, block in scores.groupby(["method", "n_examples"], sort=True)
        for r, part in rows_by_resample(block).items()
    ]
    if not parts:
        raise ValueError("scores is empty; it needs at least one output row")
    return pd.concat(parts, ignore_index=True).astype({"resample": int})


def pooled_se_table(
    scores: pd.DataFrame,
    *,
    n_boot: int,
    seed: int,
    coherence_rule: str,
    ratio: float,
    distinct_ratio: float,
) -> pd.DataFrame:
    """:func:`~steering.evaluation.tables.se_table` per (method, n_examples, concept), pooled
    over resamples: every resample's outputs with the baseline counted once per resample (so
    strength 0 weighs as much as in one resample), bootstrapped over prompts.

    Returns:
        :func:`~steering.evaluation.tables.se_table`'s columns.
    """
    return se_table(
        per_resample_rows(scores),
        n_boot=n_boot,
        seed=seed,
        coherence_rule=coherence_rule,
        ratio=ratio,
        distinct_ratio=distinct_ratio,
    )

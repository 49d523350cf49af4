"""Prompt (cluster) bootstrap of steering effectiveness.

The bootstrap resamples PROMPTS, not rows: each replicate draws ``k`` prompt ids with
replacement from the ``k`` distinct prompt ids (sorted, so results do not depend on row order),
using ``numpy.random.default_rng(seed)``, and all rows of a drawn prompt come along (a prompt
drawn twice contributes its rows twice). SE is recomputed with
:func:`~steering.evaluation.effectiveness.steering_effectiveness`; undefined correlations count as
0, as in the point estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from steering.evaluation.arrays import FloatArray, bool_vector
from steering.evaluation.coherence import require_columns
from steering.evaluation.effectiveness import steering_effectiveness

SE_COLUMNS: Final[tuple[str, ...]] = ("prompt_id", "delta", "strength", "reference", "coherent")


def check_bootstrap(n_boot: int, ci: float) -> None:
    """Raise ``ValueError`` unless ``n_boot >= 1`` and ``0 < ci < 1``."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}; use e.g. 1000")
    if not 0 < ci < 1:
        raise ValueError(f"ci must lie strictly between 0 and 1, got {ci}; use e.g. 0.95")


def _prompt_rows(prompt_ids: pd.Series, universe: pd.Index) -> list[npt.NDArray[np.intp]]:
    """Row positions of each prompt in ``universe`` order (empty for prompts not present)."""
    codes = universe.get_indexer(prompt_ids)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(universe))
    bounds = np.concatenate(([0], np.cumsum(counts)))
    return [order[bounds[i] : bounds[i + 1]] for i in range(len(universe))]


class _Group:
    """Arrays of one group, ready for repeated SE evaluation on resampled prompts."""

    def __init__(self, df: pd.DataFrame, universe: pd.Index) -> None:
        self.delta = df["delta"].to_numpy(dtype=np.float64)
        self.strength = df["strength"].to_numpy(dtype=np.float64)
        self.reference = df["reference"].to_numpy(dtype=np.float64)
        self.coherent = bool_vector(df["coherent"].to_numpy(), "coherent")
        self.rows = _prompt_rows(df["prompt_id"], universe)

    def se(self, prompts: npt.NDArray[np.intp]) -> float:
        """SE on the rows of the given prompt positions; NaN if they hold no rows."""
        idx = np.concatenate([self.rows[p] for p in prompts])
        if idx.size == 0:
            return math.nan
        return steering_effectiveness(
            self.delta[idx], self.strength[idx], self.reference[idx], self.coherent[idx]
        ).se


def _percentile_interval(replicates: FloatArray, ci: float) -> tuple[float, float]:
    alpha = (1.0 - ci) / 2.0
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return math.nan, math.nan
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def bootstrap_mean_se(
    groups: Sequence[pd.DataFrame], *, n_boot: int, seed: int, ci: float = 0.95
) -> tuple[float, float, float]:
    """Mean SE over groups (e.g. concepts) with a paired prompt-bootstrap percentile interval.

    The prompts are the sorted distinct ``prompt_id`` of all groups together; each replicate
    draws once from them and reuses the draw for every group (paired), then averages the
    groups' SEs. A group with no rows among a replicate's prompts is left out of that
    replicate's mean.

    Args:
        groups: Tables with columns ``prompt_id``, ``delta``, ``strength``, ``reference`` and
            boolean ``coherent`` (e.g. from :func:`~steering.evaluation.coherence.coherence_flags`).
        n_boot: Number of bootstrap replicates, >= 1.
        seed: Seed for ``numpy.random.default_rng``; equal seeds give equal intervals.
        ci: Confidence level in (0, 1).

    Returns:
        ``(mean_se, low, high)``: the mean of the groups' SEs on all prompts and the interval.

    Raises:
        ValueError: On no groups, an empty group, missing columns, ``n_boot < 1`` or ``ci``
            outside (0, 1).
    """
    check_bootstrap(n_boot, ci)
    if not groups:
        raise ValueError("groups is empty; pass at least one table of outputs")
    for df in groups:
        require_columns(df, SE_COLUMNS, "df")
        if df.empty:
            raise ValueError("df is empty; the bootstrap needs at least one output per group")
    prompt_ids = pd.concat([df["prompt_id"] for df in groups]).unique()
    universe = pd.Index(np.sort(prompt_ids))
    prepared = [_Group(df, universe) for df in groups]
    draws = np.random.default_rng(seed).integers(0, len(universe), size=(n_boot, len(universe)))
    replicates = np.array([_nanmean([g.se(row) for g in prepared]) for row in draws])
    everything = np.arange(len(universe))
    low, high = _percentile_interval(replicates.astype(np.float64), ci)
    return _nanmean([g.se(everything) for g in prepared]), low, high


def bootstrap_se(
    df: pd.DataFrame, *, n_boot: int, seed: int, ci: float = 0.95
) -> tuple[float, float]:
    """Percentile prompt-bootstrap interval of one group's SE (see the module docstring).

    Args:
        df: One group's outputs with columns ``prompt_id``, ``delta``, ``strength``,
            ``reference`` and boolean ``coherent``.
        n_boot: Number of bootstrap replicates, >= 1.
        seed: Seed for ``numpy.random.default_rng``; equal seeds give equal intervals.
        ci: Confidence level in (0, 1).

    Returns:
        ``(low, high)`` percentile interval.

    Raises:
        ValueError: On an empty table, missing columns, ``n_boot < 1`` or ``ci`` outside (0, 1).
    """
    _, low, high = bootstrap_mean_se([df], n_boot=n_boot, seed=seed, ci=ci)
    return low, high

"""Prompt (cluster) bootstrap of steering effectiveness.

The bootstrap resamples PROMPTS, not rows: each replicate draws ``k`` prompt ids with
replacement from the ``k`` distinct prompt ids (sorted, so results do not depend on row order),
using ``numpy.random.default_rng(seed)``, and all rows of a drawn prompt come along (a prompt
drawn twice contributes its rows twice). SE is recomputed with
:func:`~steering.evaluation.effectiveness.steering_effectiveness`; undefined correlations count as
0, as in the point estimate.

With several example subsets per scale (resamples, see :mod:`steering.evaluation.resampling`),
:func:`hierarchical_mean_se` bootstraps in two stages: resamples with replacement, then prompts
with replacement within each drawn resample (a fresh prompt draw for every drawn resample, shared
by that resample's concepts), so the interval covers both which examples were picked and which
prompts were scored; :func:`hierarchical_mean` is the same scheme for any per-resample statistic
(e.g. the concept-word lift of :mod:`steering.evaluation.lexical_intervals`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from steering.evaluation.arrays import BoolArray, FloatArray, bool_vector
from steering.evaluation.coherence import require_columns
from steering.evaluation.correlation import MIN_CORRELATION_POINTS

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
        return fast_se(self.delta[idx], self.strength[idx], self.reference[idx], self.coherent[idx])


def _average_ranks(x: FloatArray) -> FloatArray:
    """1-based ranks with ties averaged (``scipy.stats.rankdata``'s default, without overhead)."""
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    group = np.cumsum(starts) - 1
    counts = np.bincount(group)
    average = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = average[group]
    return ranks


def _corr_or_zero(x: FloatArray, y: FloatArray) -> float:
    """Pearson r, or 0.0 where :mod:`~steering.evaluation.correlation` calls it undefined."""
    if x.size < MIN_CORRELATION_POINTS or x.min() == x.max() or y.min() == y.max():
        return 0.0
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return 0.0
    xc = x - x.mean()
    yc = y - y.mean()
    value = float(xc @ yc / math.sqrt(float(xc @ xc) * float(yc @ yc)))
    return min(1.0, max(-1.0, value)) if math.isfinite(value) else 0.0


def fast_se(
    delta: FloatArray, strength: FloatArray, reference: FloatArray, coherent: BoolArray
) -> float:
    """:func:`~steering.evaluation.effectiveness.steering_effectiveness`'s ``se`` without checks.

    The same number (to rounding) for float64 arrays of equal, non-zero length, about ten times
    faster: the bootstrap calls it thousands of times. Spearman is Pearson on average ranks.
    """
    if np.isfinite(delta).all() and np.isfinite(strength).all():
        rho = _corr_or_zero(_average_ranks(delta), _average_ranks(strength))
    else:
        rho = 0.0
    return 0.5 * (rho + _corr_or_zero(delta, reference)) * float(coherent.mean())


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


def _hierarchical_replicates(
    statistics: Sequence[Callable[[npt.NDArray[np.intp]], float]],
    n_prompts: int,
    *,
    n_boot: int,
    seed: int,
) -> FloatArray:
    """Two-stage bootstrap replicates of the mean over units of ``statistic(prompt positions)``.

    Each replicate draws ``len(statistics)`` units with replacement, then for every drawn unit
    its own ``n_prompts`` prompt positions with replacement, and averages the finite values.
    """
    rng = np.random.default_rng(seed)
    n_units = len(statistics)
    unit_draws = rng.integers(0, n_units, size=(n_boot, n_units))
    prompt_draws = rng.integers(0, n_prompts, size=(n_boot, n_units, n_prompts))
    return np.array(
        [
            _nanmean([statistics[u](prompt_draws[b, j]) for j, u in enumerate(unit_draws[b])])
            for b in range(n_boot)
        ],
        dtype=np.float64,
    )


def hierarchical_mean(
    statistics: Sequence[Callable[[npt.NDArray[np.intp]], float]],
    n_prompts: int,
    *,
    n_boot: int,
    seed: int,
    ci: float = 0.95,
) -> tuple[float, float, float, FloatArray]:
    """Mean over units of any per-unit statistic, with the hierarchical interval.

    The two-stage scheme of :func:`hierarchical_mean_se` for any statistic: ``statistics[u]``
    maps an array of prompt positions (``0 .. n_prompts - 1``, repeats allowed) to unit ``u``'s
    value on those prompts' rows (NaN when undefined; NaNs are left out of every mean).

    Returns:
        ``(mean, low, high, replicates)``: the mean over units on all prompts, the percentile
        interval and the ``n_boot`` replicates.

    Raises:
        ValueError: On no units, ``n_prompts < 1``, ``n_boot < 1`` or ``ci`` outside (0, 1).
    """
    check_bootstrap(n_boot, ci)
    if not statistics or n_prompts < 1:
        raise ValueError(
            f"need at least one unit and one prompt, got {len(statistics)} unit(s) and "
            f"{n_prompts} prompt(s)"
        )
    everything = np.arange(n_prompts)
    point = _nanmean([statistic(everything) for statistic in statistics])
    replicates = _hierarchical_replicates(statistics, n_prompts, n_boot=n_boot, seed=seed)
    low, high = _percentile_interval(replicates, ci)
    return point, low, high, replicates


def hierarchical_mean_se(
    resamples: Sequence[Sequence[pd.DataFrame]],
    *,
    n_boot: int,
    seed: int,
    ci: float = 0.95,
) -> tuple[float, float, float, FloatArray]:
    """Mean SE over resamples and concepts with a hierarchical (resamples, then prompts) interval.

    The statistic is the mean over resamples of the mean over concepts of SE. Each replicate
    draws R resamples with replacement from the R given; for every drawn resample it draws the
    ``k`` prompts (the sorted distinct ``prompt_id`` of all tables) with replacement, recomputes
    that resample's concepts' SEs on the drawn prompts' rows (the same draw for its concepts:
    paired) and averages them; the replicate is the mean over the drawn resamples. The interval
    is the percentile interval of the replicates. With one resample it is the paired prompt
    bootstrap of :func:`bootstrap_mean_se` (with other random draws); when no resample's SE
    depends on which prompts are drawn it is the plain bootstrap of the mean over resamples.

    Args:
        resamples: Per resample, one table per concept with columns ``prompt_id``, ``delta``,
            ``strength``, ``reference`` and boolean ``coherent``.
        n_boot: Number of bootstrap replicates, >= 1.
        seed: Seed for ``numpy.random.default_rng``; equal seeds give equal intervals.
        ci: Confidence level in (0, 1).

    Returns:
        ``(mean_se, low, high, replicates)``: the point estimate on all resamples and prompts,
        the interval and the ``n_boot`` replicates (NaN where a replicate had no rows).

    Raises:
        ValueError: On no resamples, a resample with no tables, an empty table, missing columns,
            ``n_boot < 1`` or ``ci`` outside (0, 1).
    """
    check_bootstrap(n_boot, ci)
    if not resamples:
        raise ValueError("resamples is empty; pass one list of per-concept tables per resample")
    for r, groups in enumerate(resamples):
        if not groups:
            raise ValueError(f"resample {r} has no tables; pass one table per concept")
        for df in groups:
            require_columns(df, SE_COLUMNS, f"resample {r}'s table")
            if df.empty:
                raise ValueError(f"resample {r} has an empty table; every concept needs outputs")
    ids = pd.concat([df["prompt_id"] for groups in resamples for df in groups]).unique()
    universe = pd.Index(np.sort(ids))
    prepared = [[_Group(df, universe) for df in groups] for groups in resamples]

    def statistic(unit: list[_Group]) -> Callable[[npt.NDArray[np.intp]], float]:
        return lambda prompts: _nanmean([g.se(prompts) for g in unit])

    return hierarchical_mean(
        [statistic(unit) for unit in prepared], len(universe), n_boot=n_boot, seed=seed, ci=ci
    )

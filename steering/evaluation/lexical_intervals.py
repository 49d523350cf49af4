"""The concept-word lift per (method, n_examples) with a hierarchical bootstrap interval.

The lift of one resample and concept is its mean word rate (:func:`~steering.evaluation.lexicon.
word_rates`) at its largest strength minus its mean word rate at strength 0; the table's lift is
the mean over concepts, then over resamples. Rows with a missing ``resample`` (the shared
unsteered baseline) belong to every resample of their (method, n_examples), as in
:mod:`steering.evaluation.resampled_tables`. The interval comes from
:func:`~steering.evaluation.bootstrap.hierarchical_mean`: resamples with replacement, then the
prompts (sorted distinct ``prompt_id`` of the group) with replacement within each drawn resample,
the same draw for that resample's concepts (paired).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from steering.evaluation.bootstrap import check_bootstrap, hierarchical_mean
from steering.evaluation.coherence import require_columns
from steering.evaluation.resampled_tables import rows_by_resample

LIFT_COLUMNS: Final[tuple[str, ...]] = (
    "method",
    "n_examples",
    "lift",
    "ci_low",
    "ci_high",
    "rate_base",
    "rate_max",
    "rate_min",
    "strength_max",
    "strength_min",
    "n_resamples",
    "n_concepts",
)
_NEEDED: Final[tuple[str, ...]] = (
    "method",
    "n_examples",
    "concept",
    "prompt_id",
    "strength",
    "resample",
    "word_rate",
)


class _Rates:
    """One resample's rows of one concept, as per-prompt sums and counts at each strength."""

    def __init__(self, df: pd.DataFrame, universe: pd.Index) -> None:
        strength = df["strength"].to_numpy(dtype=np.float64)
        rate = df["word_rate"].to_numpy(dtype=np.float64)
        codes = universe.get_indexer(df["prompt_id"])
        self.top, self.bottom = float(strength.max()), float(strength.min())
        self.sums: dict[float, npt.NDArray[np.float64]] = {}
        self.counts: dict[float, npt.NDArray[np.float64]] = {}
        for level in {0.0, self.top, self.bottom}:
            at = strength == level
            self.sums[level] = np.bincount(codes[at], rate[at], minlength=len(universe))
            self.counts[level] = np.bincount(codes[at], minlength=len(universe)).astype(float)

    def level(self, name: str) -> float:
        """Strength ``"base"`` (0), ``"max"`` (largest) or ``"min"`` (most negative, else NaN)."""
        if name == "base":
            return 0.0
        if name == "max":
            return self.top
        return self.bottom if self.bottom < 0 else math.nan

    def mean_at(self, level: float, prompts: npt.NDArray[np.intp]) -> float:
        """Mean rate at ``level`` over the drawn prompts' rows (NaN without such rows)."""
        if level not in self.counts:
            return math.nan
        count = float(self.counts[level][prompts].sum())
        return float(self.sums[level][prompts].sum()) / count if count else math.nan

    def lift(self, prompts: npt.NDArray[np.intp]) -> float:
        """Mean rate at the largest strength minus mean rate at strength 0."""
        return self.mean_at(self.top, prompts) - self.mean_at(0.0, prompts)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _over(units: list[list[_Rates]], name: str, prompts: npt.NDArray[np.intp]) -> float:
    """Mean over resamples of the mean over concepts of the rate at strength ``name``."""
    return _mean([_mean([c.mean_at(c.level(name), prompts) for c in unit]) for unit in units])


def lexical_lift_table(
    rated: pd.DataFrame, *, n_boot: int, seed: int, ci: float = 0.95
) -> pd.DataFrame:
    """Word-rate lift per (method, n_examples) over resamples and concepts, with its interval.

    Args:
        rated: :func:`~steering.evaluation.lexicon.word_rates` output of the scores table:
            ``method``, ``n_examples``, ``concept``, ``prompt_id``, ``strength`` (0 is the
            baseline), ``resample`` (missing on the shared baseline rows) and ``word_rate``.
        n_boot: Bootstrap replicates, >= 1.
        seed: Seed of the bootstrap (the same for every group); equal seeds give equal tables.
        ci: Confidence level in (0, 1).

    Returns:
        One row per (method, n_examples), sorted, with :data:`LIFT_COLUMNS`: ``lift`` and its
        percentile interval ``ci_low``/``ci_high``; the mean rates (over concepts, then
        resamples) at strength 0 (``rate_base``), at the largest strength (``rate_max``) and at
        the most negative strength (``rate_min``, NaN when no strength is negative); the group's
        largest and smallest strengths; ``n_resamples`` and ``n_concepts``. Empty with these
        columns when ``rated`` is empty.

    Raises:
        ValueError: On missing columns, a group with no tagged resample, or invalid settings.
    """
    check_bootstrap(n_boot, ci)
    require_columns(rated, _NEEDED, "rated scores (from word_rates)")
    rows: list[dict[str, object]] = []
    for (method, n_examples), block in rated.groupby(["method", "n_examples"], sort=True):
        universe = pd.Index(np.sort(block["prompt_id"].unique()))
        units = [
            [_Rates(group, universe) for _, group in part.groupby("concept", sort=True)]
            for part in rows_by_resample(block).values()
        ]
        lift, low, high, _ = hierarchical_mean(
            [lambda p, unit=unit: _mean([c.lift(p) for c in unit]) for unit in units],
            len(universe),
            n_boot=n_boot,
            seed=seed,
            ci=ci,
        )
        every = np.arange(len(universe))
        strength = block["strength"]
        rows.append(
            {
                "method": method,
                "n_examples": int(n_examples),
                "lift": lift,
                "ci_low": low,
                "ci_high": high,
                **{f"rate_{name}": _over(units, name, every) for name in ("base", "max", "min")},
                "strength_max": float(strength.max()),
                "strength_min": float(strength.min()),
                "n_resamples": len(units),
                "n_concepts": int(block["concept"].nunique()),
            }
        )
    return pd.DataFrame(rows, columns=list(LIFT_COLUMNS))

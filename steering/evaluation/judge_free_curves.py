"""Curves of the judge-free measures: mean over concepts and resamples per (method, n) with a
95% interval.

The interval is a crossed (two-way) percentile bootstrap: each replicate draws the R resamples
with replacement and, independently, the C concepts with replacement, and averages the measure
over the drawn (resample, concept) cells (NaN cells left out). A resample's fit is shared by its
concepts (``contamination`` and ``dual`` fit all concepts at once) and a concept's pool by its
resamples, so the R x C values are not independent and a t-interval over them would be too
narrow; the crossed draw covers both which examples were picked and which concepts were asked.
With one resample it is the bootstrap over concepts. With few units (3 resamples, 5 concepts) a
percentile bootstrap is somewhat too narrow itself: read the intervals as a lower bound on the
uncertainty.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

from steering.evaluation.bootstrap import check_bootstrap
from steering.evaluation.coherence import require_columns
from steering.evaluation.judge_free import COLUMNS

MEASURES: Final[tuple[str, ...]] = ("stability", "detection_auroc")
NOTES: Final[dict[str, str]] = {"stability": "stability_note", "detection_auroc": "detection_note"}
CURVE_COLUMNS: Final[tuple[str, ...]] = (
    "method",
    "n_examples",
    "measure",
    "mean",
    "ci_low",
    "ci_high",
    "n_values",
    "note",
)


def crossed_bootstrap(
    values: np.ndarray, *, n_boot: int, seed: int, ci: float = 0.95
) -> tuple[float, float, float]:
    """Mean of a (resamples, concepts) matrix with a crossed percentile bootstrap interval.

    Args:
        values: ``(R, C)`` values; NaN cells are left out of every mean.
        n_boot: Bootstrap replicates, >= 1.
        seed: Seed of ``numpy.random.default_rng``; equal seeds give equal intervals.
        ci: Confidence level in (0, 1).

    Returns:
        ``(mean, low, high)``: the mean of the finite cells and the percentile interval of the
        replicates' means (replicates that drew only NaN cells are left out); all NaN when no
        cell is finite.

    Raises:
        ValueError: On a matrix that is not 2-D or is empty, or bad ``n_boot`` / ``ci``.
    """
    check_bootstrap(n_boot, ci)
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2 or matrix.size == 0:
        raise ValueError(
            f"values must be a non-empty (resamples, concepts) matrix, got shape {matrix.shape}"
        )
    finite = np.isfinite(matrix)
    if not finite.any():
        return math.nan, math.nan, math.nan
    n_rows, n_cols = matrix.shape
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n_rows, size=(n_boot, n_rows))
    cols = rng.integers(0, n_cols, size=(n_boot, n_cols))
    cells = matrix[rows[:, :, None], cols[:, None, :]].reshape(n_boot, -1)
    ok = np.isfinite(cells)
    counts = ok.sum(axis=1)
    sums = np.where(ok, cells, 0.0).sum(axis=1)
    replicates = sums[counts > 0] / counts[counts > 0]
    alpha = (1.0 - ci) / 2.0
    low, high = np.quantile(replicates, [alpha, 1.0 - alpha])
    return float(matrix[finite].mean()), float(low), float(high)


def judge_free_curves(
    table: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0, ci: float = 0.95
) -> pd.DataFrame:
    """Mean stability and detection AUROC per (method, n_examples) with crossed intervals.

    Args:
        table: :func:`~steering.evaluation.judge_free.judge_free_table`'s rows.
        n_boot: Bootstrap replicates, >= 1.
        seed: Seed of the bootstrap (the same for every curve point).
        ci: Confidence level in (0, 1).

    Returns:
        One row per (method, n_examples, measure) with :data:`CURVE_COLUMNS`: ``measure`` is
        ``"stability"`` or ``"detection_auroc"``, ``n_values`` the finite (resample, concept)
        cells, ``note`` the table's reason when no cell was measured (else empty). Methods keep
        the table's order; n_examples ascend.

    Raises:
        ValueError: On missing columns, an empty table or bad bootstrap settings.
    """
    require_columns(table, list(COLUMNS), "judge-free table")
    if table.empty:
        raise ValueError("the judge-free table is empty; measure at least one method and scale")
    check_bootstrap(n_boot, ci)
    rows: list[dict[str, object]] = []
    for method in pd.unique(table["method"]):
        block = table[table["method"] == method]
        for n, at_n in block.groupby("n_examples", sort=True):
            for measure in MEASURES:
                matrix = at_n.pivot(index="resample", columns="concept", values=measure)
                mean, low, high = crossed_bootstrap(
                    matrix.to_numpy(dtype=np.float64), n_boot=n_boot, seed=seed, ci=ci
                )
                n_values = int(np.isfinite(matrix.to_numpy(dtype=np.float64)).sum())
                rows.append(
                    {
                        "method": method,
                        "n_examples": int(n),
                        "measure": measure,
                        "mean": mean,
                        "ci_low": low,
                        "ci_high": high,
                        "n_values": n_values,
                        "note": "" if n_values else str(at_n[NOTES[measure]].iloc[0]),
                    }
                )
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))

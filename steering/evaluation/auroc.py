"""Area under the ROC curve, for checking that a judge separates on- from off-concept text."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

from steering.evaluation.arrays import bool_vector, float_vector


def auroc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Area under the ROC curve via the rank (Mann-Whitney) formula, ties averaged.

    ``AUROC = (sum of positive ranks - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)``.

    Args:
        labels: Binary labels (bool or 0/1); 1 marks a positive.
        scores: Scores, higher meaning more positive.

    Returns:
        AUROC in [0, 1].

    Raises:
        ValueError: On mismatched lengths, non-binary labels, non-finite scores, or when only
            one class is present.
    """
    y = bool_vector(labels, "labels")
    s = float_vector(scores, "scores")
    if y.size != s.size:
        raise ValueError(f"labels and scores differ in length ({y.size} vs {s.size}); pair them")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or infinite values; drop or impute them first")
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise ValueError(
            f"AUROC needs both classes, got {n_pos} positives and {n_neg} negatives; "
            "add examples of the missing class"
        )
    ranks = stats.rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))

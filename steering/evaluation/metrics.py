"""Steering-effectiveness (SE) metrics over per-output judge scores.

Pure numpy/scipy/pandas: no torch. The central quantity is

    SE = 0.5 * (rho + r) * coherence_rate

where ``rho`` is the Spearman correlation between the judge's concept delta and the steering
strength, ``r`` is the Pearson correlation between the delta and a reference rating, and
``coherence_rate`` is the fraction of outputs judged coherent.

Per-output scores table (input to :func:`se_table` and :func:`mean_se_by_scale`), one row per
generated output per concept: ``method``, ``scale``, ``concept``, ``prompt_id``, ``strength``
(including 0.0 baseline rows), ``text``, ``concept_score``, ``neg_concept_score``, ``delta``,
``reference``, ``perplexity``, ``baseline_perplexity``, ``ppl_first_k``, ``baseline_ppl_first_k``,
``distinct2``, ``baseline_distinct2``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from steering.evaluation.coherence import (
    _require_columns,
    coherence_flags,
)

GROUP_KEYS: Final[list[str]] = ["method", "scale", "concept"]
MIN_CORRELATION_POINTS: Final[int] = 3
# Improvements within this distance of the knee threshold count as equal to it (and therefore as
# "still improving"); it absorbs float noise such as 0.30 - 0.28 == 0.019999999999999997.
KNEE_TIE_TOLERANCE: Final[float] = 1e-9

_SE_COLUMNS: Final[tuple[str, ...]] = ("prompt_id", "delta", "strength", "reference", "coherent")

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Correlation:
    """A correlation coefficient that is never NaN.

    Attributes:
        value: The coefficient, or 0.0 when it is undefined.
        defined: False when the coefficient could not be computed.
        reason: Why it is undefined; empty when defined.
    """

    value: float
    defined: bool
    reason: str


@dataclass(frozen=True)
class SEResult:
    """Steering effectiveness of one (method, scale, concept) group.

    Attributes:
        se: ``0.5 * (rho + r) * coherence_rate``.
        rho: Spearman(delta, strength); 0.0 when undefined.
        rho_defined: Whether rho was defined.
        r: Pearson(delta, reference); 0.0 when undefined.
        r_defined: Whether r was defined.
        coherence_rate: Fraction of coherent outputs.
        n: Number of outputs.
        flags: Human-readable problems, e.g. ``"rho_undefined: delta is constant (...)"``.
    """

    se: float
    rho: float
    rho_defined: bool
    r: float
    r_defined: bool
    coherence_rate: float
    n: int
    flags: tuple[str, ...]


@dataclass(frozen=True)
class Knee:
    """The knee of a training curve.

    Attributes:
        scale: The knee scale (samples per concept), or None when there is no knee.
        reason: A sentence explaining the decision.
    """

    scale: int | None
    reason: str


# --------------------------------------------------------------------------------------------
# Input helpers
# --------------------------------------------------------------------------------------------


def _float_vector(values: npt.ArrayLike, name: str) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric, got {values!r}; pass numbers") from err
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}; flatten it")
    return array


def _bool_vector(values: npt.ArrayLike, name: str) -> BoolArray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}; flatten it")
    if array.dtype == np.bool_:
        return array
    if array.size and not np.isin(array, (0, 1)).all():
        bad = array[~np.isin(array, (0, 1))][0]
        bad = bad.item() if isinstance(bad, np.generic) else bad
        raise ValueError(f"{name} must hold booleans or 0/1, found {bad!r}; pass a bool array")
    return array.astype(np.bool_)


def _check_boot(n_boot: int, ci: float) -> None:
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}; use e.g. 1000")
    if not 0 < ci < 1:
        raise ValueError(f"ci must lie strictly between 0 and 1, got {ci}; use e.g. 0.95")


# --------------------------------------------------------------------------------------------
# Text diversity
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Correlations
# --------------------------------------------------------------------------------------------


def _undefined(reason: str) -> Correlation:
    return Correlation(value=0.0, defined=False, reason=reason)


def _correlate(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    kind: Literal["spearman", "pearson"],
    x_name: str,
    y_name: str,
) -> Correlation:
    xa = _float_vector(x, x_name)
    ya = _float_vector(y, y_name)
    if xa.size != ya.size:
        raise ValueError(
            f"{x_name} and {y_name} must have the same length, got {xa.size} and {ya.size}; "
            "pass paired observations"
        )
    if xa.size < MIN_CORRELATION_POINTS:
        return _undefined(f"fewer than {MIN_CORRELATION_POINTS} points (n={xa.size})")
    for array, name in ((xa, x_name), (ya, y_name)):
        if not np.isfinite(array).all():
            return _undefined(f"{name} contains NaN or infinite values")
    for array, name in ((xa, x_name), (ya, y_name)):
        if array.min() == array.max():
            return _undefined(f"{name} is constant (all values {array[0]:g})")
    if kind == "spearman":
        value = float(stats.spearmanr(xa, ya).statistic)
    else:
        value = float(stats.pearsonr(xa, ya).statistic)
    if not math.isfinite(value):
        return _undefined(f"{kind} correlation of {x_name} and {y_name} is not finite")
    return Correlation(value=value, defined=True, reason="")


def spearman(x: npt.ArrayLike, y: npt.ArrayLike) -> Correlation:
    """Spearman rank correlation that reports, rather than returns NaN for, undefined cases.

    Undefined (value 0.0, ``defined=False``): fewer than 3 points, any NaN/inf, or a constant
    input.

    Args:
        x: First sample, 1-D.
        y: Second sample, same length as ``x``.

    Returns:
        The correlation.

    Raises:
        ValueError: If the inputs are not 1-D numeric vectors of equal length.
    """
    return _correlate(x, y, "spearman", "x", "y")


def pearson(x: npt.ArrayLike, y: npt.ArrayLike) -> Correlation:
    """Pearson correlation that reports, rather than returns NaN for, undefined cases.

    Undefined (value 0.0, ``defined=False``): fewer than 3 points, any NaN/inf, or a constant
    input.

    Args:
        x: First sample, 1-D.
        y: Second sample, same length as ``x``.

    Returns:
        The correlation.

    Raises:
        ValueError: If the inputs are not 1-D numeric vectors of equal length.
    """
    return _correlate(x, y, "pearson", "x", "y")


# --------------------------------------------------------------------------------------------
# Coherence
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Steering effectiveness
# --------------------------------------------------------------------------------------------


def steering_effectiveness(
    delta: npt.ArrayLike,
    strength: npt.ArrayLike,
    reference: npt.ArrayLike,
    coherent: npt.ArrayLike,
) -> SEResult:
    """Compute ``SE = 0.5 * (rho + r) * coherence_rate`` for one group of outputs.

    ``rho = Spearman(delta, strength)``, ``r = Pearson(delta, reference)``,
    ``coherence_rate = mean(coherent)``. Every row counts, including strength-0 baseline rows.
    An undefined correlation counts as 0 and adds a flag such as
    ``"rho_undefined: delta is constant (all values 0)"``.

    Args:
        delta: Judge concept score minus negative-concept score, per output.
        strength: Steering strength, per output.
        reference: Reference rating, per output.
        coherent: Coherence decision, per output (bool or 0/1).

    Returns:
        The SE and its parts.

    Raises:
        ValueError: If the inputs are empty, not 1-D, or of different lengths.
    """
    d = _float_vector(delta, "delta")
    s = _float_vector(strength, "strength")
    ref = _float_vector(reference, "reference")
    c = _bool_vector(coherent, "coherent")
    lengths = {"delta": d.size, "strength": s.size, "reference": ref.size, "coherent": c.size}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs must have equal lengths, got {lengths}; pass one row per output")
    if d.size == 0:
        raise ValueError("inputs are empty; SE needs at least one output")
    rho = _correlate(d, s, "spearman", "delta", "strength")
    r = _correlate(d, ref, "pearson", "delta", "reference")
    flags: list[str] = []
    if not rho.defined:
        flags.append(f"rho_undefined: {rho.reason}")
    if not r.defined:
        flags.append(f"r_undefined: {r.reason}")
    coherence_rate = float(c.mean())
    return SEResult(
        se=0.5 * (rho.value + r.value) * coherence_rate,
        rho=rho.value,
        rho_defined=rho.defined,
        r=r.value,
        r_defined=r.defined,
        coherence_rate=coherence_rate,
        n=int(d.size),
        flags=tuple(flags),
    )


def _prompt_rows(prompt_ids: pd.Series, universe: pd.Index) -> list[npt.NDArray[np.intp]]:
    """Row positions of each prompt in ``universe`` order (empty for prompts not present)."""
    codes = universe.get_indexer(prompt_ids)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(universe))
    bounds = np.concatenate(([0], np.cumsum(counts)))
    return [order[bounds[i] : bounds[i + 1]] for i in range(len(universe))]


class _Group:
    """Arrays of one group, ready for repeated SE evaluation on resampled rows."""

    def __init__(self, df: pd.DataFrame, universe: pd.Index) -> None:
        self.delta = df["delta"].to_numpy(dtype=np.float64)
        self.strength = df["strength"].to_numpy(dtype=np.float64)
        self.reference = df["reference"].to_numpy(dtype=np.float64)
        self.coherent = _bool_vector(df["coherent"].to_numpy(), "coherent")
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


def bootstrap_se(
    df: pd.DataFrame, *, n_boot: int, seed: int, ci: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of SE, resampling prompts (a cluster bootstrap).

    Each replicate draws ``k`` prompt ids with replacement from the ``k`` distinct values of
    ``prompt_id`` (sorted, so the result does not depend on row order) using
    ``numpy.random.default_rng(seed)``; all rows of a drawn prompt come along (a prompt drawn
    twice contributes its rows twice). SE is recomputed with :func:`steering_effectiveness`;
    undefined correlations count as 0, as in the point estimate.

    Args:
        df: One group's outputs with columns ``prompt_id``, ``delta``, ``strength``,
            ``reference`` and boolean ``coherent`` (e.g. from :func:`coherence_flags`).
        n_boot: Number of bootstrap replicates, >= 1.
        seed: Seed for ``numpy.random.default_rng``; equal seeds give equal intervals.
        ci: Confidence level in (0, 1).

    Returns:
        ``(low, high)`` percentile interval.

    Raises:
        ValueError: On an empty table, missing columns, ``n_boot < 1`` or ``ci`` outside (0, 1).
    """
    _check_boot(n_boot, ci)
    _require_columns(df, _SE_COLUMNS, "df")
    if df.empty:
        raise ValueError("df is empty; bootstrap_se needs at least one output")
    universe = pd.Index(np.sort(df["prompt_id"].unique()))
    group = _Group(df, universe)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(universe), size=(n_boot, len(universe)))
    replicates = np.array([group.se(row) for row in draws], dtype=np.float64)
    return _percentile_interval(replicates, ci)


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _with_coherence(
    scores: pd.DataFrame, coherence_rule: str, ratio: float, distinct_ratio: float
) -> pd.DataFrame:
    _require_columns(scores, [*GROUP_KEYS, "prompt_id", "delta", "strength", "reference"], "scores")
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
    """SE with a prompt-bootstrap CI for every (method, scale, concept) group.

    Every group is bootstrapped with the same ``seed``, so groups that share prompt ids are
    resampled identically (a paired bootstrap), and the result does not depend on group order.

    Args:
        scores: Per-output scores table (schema in the module docstring).
        n_boot: Bootstrap replicates per group, >= 1.
        seed: Seed for the bootstrap.
        coherence_rule: Rule for ``coherence_rate`` and SE (see :func:`coherence_flags`).
        ratio: Perplexity ratio for the coherence rules.
        distinct_ratio: Distinct-2 ratio for the robust rule.

    Returns:
        One row per group, sorted by group, with columns ``method``, ``scale``, ``concept``,
        ``se``, ``ci_low``, ``ci_high`` (95%), ``rho``, ``r``, ``coherence_rate`` (chosen rule),
        ``coherence_rate_prototype`` (prototype rule), ``flags`` (``";"``-joined) and ``n``
        (number of outputs).

    Raises:
        ValueError: On missing columns, an empty table, or invalid rule/ratio/bootstrap settings.
    """
    _check_boot(n_boot, 0.95)
    table = _with_coherence(scores, coherence_rule, ratio, distinct_ratio)
    rows: list[dict[str, object]] = []
    for (method, scale, concept), group in table.groupby(GROUP_KEYS, sort=True):
        result = steering_effectiveness(
            group["delta"], group["strength"], group["reference"], group["coherent"]
        )
        ci_low, ci_high = bootstrap_se(group, n_boot=n_boot, seed=seed)
        rows.append(
            {
                "method": method,
                "scale": int(scale),
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


def mean_se_by_scale(
    scores: pd.DataFrame,
    *,
    n_boot: int,
    seed: int,
    coherence_rule: str,
    ratio: float,
    distinct_ratio: float,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Mean SE over concepts per (method, scale), with a paired prompt-bootstrap CI.

    The point estimate is the plain mean of the per-concept SEs (equal to averaging
    :func:`se_table`'s ``se`` column). The interval resamples PROMPTS, not concepts: each
    replicate draws prompt ids with replacement from the sorted distinct prompt ids of that
    (method, scale) and reuses the same draw for every concept, then averages the concepts' SEs.
    Why prompts: the concept set is fixed by design (we report on these concepts, usually only a
    handful, for which a concept bootstrap would be nearly [min, max]), and the question the knee
    asks is whether a step's improvement exceeds the evaluation noise, which is prompt sampling.
    A concept with no rows among a replicate's prompts is left out of that replicate's mean.

    Args:
        scores: Per-output scores table (schema in the module docstring).
        n_boot: Bootstrap replicates, >= 1.
        seed: Seed for ``numpy.random.default_rng`` (one generator per (method, scale), all
            seeded identically, so scales with the same prompts get identical draws).
        coherence_rule: Coherence rule for SE.
        ratio: Perplexity ratio for the coherence rules.
        distinct_ratio: Distinct-2 ratio for the robust rule.
        ci: Confidence level in (0, 1).

    Returns:
        One row per (method, scale), sorted, with columns ``method``, ``scale``, ``mean_se``,
        ``ci_low``, ``ci_high``, ``coherence_rate``, ``coherence_rate_prototype`` (means over
        concepts) and ``n_concepts``.

    Raises:
        ValueError: On missing columns, an empty table, or invalid settings.
    """
    _check_boot(n_boot, ci)
    table = _with_coherence(scores, coherence_rule, ratio, distinct_ratio)
    rows: list[dict[str, object]] = []
    for (method, scale), block in table.groupby(["method", "scale"], sort=True):
        universe = pd.Index(np.sort(block["prompt_id"].unique()))
        all_prompts = np.arange(len(universe))
        groups = [_Group(g, universe) for _, g in block.groupby("concept", sort=True)]
        coherence = block.groupby("concept", sort=True)[["coherent", "coherent_prototype"]].mean()
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, len(universe), size=(n_boot, len(universe)))
        replicates = np.array(
            [_nanmean([g.se(row) for g in groups]) for row in draws], dtype=np.float64
        )
        low, high = _percentile_interval(replicates, ci)
        rows.append(
            {
                "method": method,
                "scale": int(scale),
                "mean_se": _nanmean([g.se(all_prompts) for g in groups]),
                "ci_low": low,
                "ci_high": high,
                "coherence_rate": float(coherence["coherent"].mean()),
                "coherence_rate_prototype": float(coherence["coherent_prototype"].mean()),
                "n_concepts": len(groups),
            }
        )
    return pd.DataFrame(rows)


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def control_margin(
    table: pd.DataFrame, *, method: str = "dual", control: str = "random"
) -> pd.DataFrame:
    """How far each concept's SE stands above the control (random-direction) SE.

    Rows of ``method`` and ``control`` from :func:`se_table` are matched on (scale, concept).

    Args:
        table: Output of :func:`se_table`.
        method: The steering method to compare.
        control: The control method.

    Returns:
        Columns ``scale``, ``concept``, ``se``, ``se_control``, ``margin`` (``se - se_control``)
        and ``separated`` (True when the method's ``ci_low`` exceeds the control's ``ci_high``),
        sorted by scale and concept; empty if the two share no (scale, concept).

    Raises:
        ValueError: If columns are missing or either method is absent from the table.
    """
    _require_columns(table, ["method", "scale", "concept", "se", "ci_low", "ci_high"], "table")
    present = set(table["method"])
    for name in (method, control):
        if name not in present:
            raise ValueError(
                f"method {name!r} is not in the table (methods: {sorted(present)}); "
                "pass one of those"
            )
    cols = ["scale", "concept", "se", "ci_low", "ci_high"]
    merged = pd.merge(
        table.loc[table["method"] == method, cols],
        table.loc[table["method"] == control, cols],
        on=["scale", "concept"],
        suffixes=("", "_control"),
    )
    merged["margin"] = merged["se"] - merged["se_control"]
    merged["separated"] = merged["ci_low"] > merged["ci_high_control"]
    out = merged[["scale", "concept", "se", "se_control", "margin", "separated"]]
    return out.sort_values(["scale", "concept"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Knee
# --------------------------------------------------------------------------------------------


def _curve(scales: npt.ArrayLike, **series: npt.ArrayLike) -> tuple[list[int], list[FloatArray]]:
    scale_list = [int(s) for s in np.asarray(scales).ravel()]
    arrays = [_float_vector(v, name) for name, v in series.items()]
    for name, array in zip(series, arrays, strict=True):
        if array.size != len(scale_list):
            raise ValueError(
                f"{name} has {array.size} values but scales has {len(scale_list)}; "
                "pass one value per scale"
            )
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinite values: {array.tolist()}")
    if any(b <= a for a, b in itertools.pairwise(scale_list)):
        raise ValueError(f"scales must be strictly increasing, got {scale_list}; sort them")
    return scale_list, arrays


def find_knee(scales: npt.ArrayLike, mean_se: npt.ArrayLike, threshold: float = 0.02) -> Knee:
    """First scale whose next step improves mean SE by strictly less than ``threshold``.

    Scans increasing scales; at scale ``s_i`` the improvement is ``mean_se[i+1] - mean_se[i]``.
    An improvement exactly equal to ``threshold`` (within 1e-9, to absorb float noise) still
    counts as improving. A decrease is an improvement below the threshold, so it is a knee.

    Args:
        scales: Strictly increasing scales (samples per concept).
        mean_se: Mean SE at each scale.
        threshold: Minimum improvement that counts as progress, >= 0.

    Returns:
        The knee; ``scale=None`` with a reason when there is none or fewer than 2 scales.

    Raises:
        ValueError: On mismatched lengths, non-finite SE, unsorted scales or negative threshold.
    """
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold}; e.g. 0.02")
    scale_list, (se,) = _curve(scales, mean_se=mean_se)
    if len(scale_list) < 2:
        return Knee(None, f"no knee: need at least 2 scales, got {len(scale_list)}")
    for i in range(len(scale_list) - 1):
        gain = float(se[i + 1] - se[i])
        if gain < threshold - KNEE_TIE_TOLERANCE:
            return Knee(
                scale_list[i],
                f"mean SE changes by {gain:+.3f} (< {threshold:g}) from scale {scale_list[i]} "
                f"to {scale_list[i + 1]}",
            )
    return Knee(None, "no knee: SE still improving by >= threshold at the largest scale")


def find_knee_noise_aware(
    scales: npt.ArrayLike,
    mean_se: npt.ArrayLike,
    ci_low: npt.ArrayLike,
    ci_high: npt.ArrayLike,
) -> Knee:
    """First scale whose next step is not a significant improvement.

    The knee is the first scale ``s_i`` with ``mean_se[i] >= ci_low[i+1]``: the bootstrap
    interval of the next scale's mean contains the current mean (the step is within noise) or
    lies entirely below it (the next scale is significantly worse). A step counts as improving
    only when the next interval lies strictly above the current mean. ``ci_high`` is used only
    for validation and the explanation.

    Args:
        scales: Strictly increasing scales.
        mean_se: Mean SE at each scale.
        ci_low: Lower bound of each mean's bootstrap interval.
        ci_high: Upper bound of each mean's bootstrap interval.

    Returns:
        The knee; ``scale=None`` with a reason when every step is a significant improvement or
        there are fewer than 2 scales.

    Raises:
        ValueError: On mismatched lengths, non-finite values, unsorted scales, or
            ``ci_low > ci_high``.
    """
    scale_list, (se, low, high) = _curve(scales, mean_se=mean_se, ci_low=ci_low, ci_high=ci_high)
    if (low > high).any():
        raise ValueError(
            f"ci_low must be <= ci_high at every scale, got {low.tolist()} and {high.tolist()}"
        )
    if len(scale_list) < 2:
        return Knee(None, f"no knee: need at least 2 scales, got {len(scale_list)}")
    for i in range(len(scale_list) - 1):
        if se[i] >= low[i + 1]:
            where = "inside" if se[i] <= high[i + 1] else "above"
            return Knee(
                scale_list[i],
                f"mean SE at scale {scale_list[i]} ({se[i]:.3f}) lies {where} the CI of scale "
                f"{scale_list[i + 1]} [{low[i + 1]:.3f}, {high[i + 1]:.3f}]",
            )
    return Knee(
        None, "no knee: every step improves mean SE beyond the next scale's bootstrap interval"
    )


# --------------------------------------------------------------------------------------------
# Judge validation
# --------------------------------------------------------------------------------------------


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
    y = _bool_vector(labels, "labels")
    s = _float_vector(scores, "scores")
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

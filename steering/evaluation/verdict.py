"""One verdict per method on the stress test's question, with the reason it holds.

From a method's mean-SE curve with intervals (:func:`~steering.evaluation.tables.mean_se_table`
or the hierarchical curve), the random control's curve and the judge's validation table
(:func:`~steering.evaluation.judges.validation.validate_judge`), exactly one of:

- ``inconclusive``: the judge failed its validation (a concept's AUROC below ``min_auroc``), or
  the signal is too weak (the curve is separated from the control at some n but not at the
  largest);
- ``no_steering``: "no detectable steering (SE interval overlaps the random control at every n)";
- ``saturates``: "steers, saturates at n = K" (K from
  :func:`~steering.evaluation.knee.find_knee_noise_aware`);
- ``still_improving``: "steers, still improving at the largest n";
- ``steers``: "steers at n = K (the only n measured)": above the control, but a single n says
  nothing about saturation (e.g. the ablation methods, run at one n); or "steers; no measurable
  change from n = A to B": the whole curve is flat within its intervals, so the data cannot
  tell a saturated curve from a slowly rising one, and no knee is claimed.

The checks run in that order, so no knee is claimed when the judge failed or the curve is
indistinguishable from the control.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

import pandas as pd

from steering.evaluation.coherence import require_columns
from steering.evaluation.knee import (
    KneeSpread,
    find_knee_noise_aware,
    guarded_knee,
    is_flat,
    knee_spread,
    overlaps_control,
)

VerdictKind = Literal["inconclusive", "no_steering", "saturates", "still_improving", "steers"]

CURVE_COLUMNS: Final[tuple[str, ...]] = ("n_examples", "mean_se", "ci_low", "ci_high")
VERDICT_COLUMNS: Final[tuple[str, ...]] = ("method", "verdict", "knee", "text", "reason")


@dataclass(frozen=True)
class Verdict:
    """What a method's curve says.

    Attributes:
        method: The steering method.
        kind: ``"inconclusive"``, ``"no_steering"``, ``"saturates"``, ``"still_improving"`` or
            ``"steers"`` (one n only).
        knee: Examples per concept where it saturates (only for ``"saturates"``).
        text: The verdict as the report states it.
        reason: The evidence, with numbers.
    """

    method: str
    kind: VerdictKind
    knee: int | None
    text: str
    reason: str


def _sorted_curve(curve: pd.DataFrame, what: str) -> pd.DataFrame:
    require_columns(curve, CURVE_COLUMNS, what)
    if curve.empty:
        raise ValueError(f"{what} is empty; it needs one row per n_examples")
    if curve["n_examples"].duplicated().any():
        raise ValueError(
            f"{what} has several rows per n_examples ({curve['n_examples'].tolist()}); pass one "
            "method's curve (one row per n_examples)"
        )
    return curve.sort_values("n_examples").reset_index(drop=True)


def judge_failures(validation: pd.DataFrame | None, min_auroc: float) -> str:
    """Why the judge fails validation (concepts with AUROC below ``min_auroc``), or ``""``."""
    if validation is None:
        return ""
    require_columns(validation, ("concept", "auroc"), "validation (from validate_judge)")
    bad = validation[~(validation["auroc"] >= min_auroc)]
    if bad.empty:
        return ""
    listed = ", ".join(f"{c} {a:.2f}" for c, a in zip(bad["concept"], bad["auroc"], strict=True))
    return f"judge failed validation: AUROC below min_auroc {min_auroc:g} for {listed}"


def _spread_note(spread: KneeSpread | None) -> str:
    return f"; knees across resamples: {spread.reason}" if spread is not None else ""


def control_reference(
    control: pd.DataFrame, n_examples: pd.Series, method: str = "the method"
) -> tuple[pd.DataFrame, str]:
    """The control's curve at ``n_examples``, and a note when it had to be pooled.

    Where the control was run at every n of the method, its own rows are the reference. Where
    it was run at fewer n (e.g. only the ablation's), its measurements are pooled into one
    conservative reference used at every n (mean of its SEs, the widest of its intervals): a
    random direction's SE does not depend on how many examples fitted the method's vectors.
    The note says so.
    """
    theirs = _sorted_curve(control, "control curve")
    measured = theirs["n_examples"].astype(int).tolist()
    if set(n_examples) <= set(measured):
        return theirs.set_index("n_examples").loc[list(n_examples)].reset_index(), ""
    pooled = pd.DataFrame(
        {
            "n_examples": list(n_examples),
            "mean_se": float(theirs["mean_se"].mean()),
            "ci_low": float(theirs["ci_low"].min()),
            "ci_high": float(theirs["ci_high"].max()),
        }
    )
    note = f"; control measured at n = {measured} only, pooled as the reference at every n"
    return pooled, note


def method_verdict(
    method: str,
    curve: pd.DataFrame,
    control: pd.DataFrame,
    *,
    validation: pd.DataFrame | None = None,
    min_auroc: float = 0.0,
    spread: KneeSpread | None = None,
) -> Verdict:
    """The verdict for one method (rules in the module docstring).

    Args:
        method: The method's name.
        curve: Its curve: ``n_examples``, ``mean_se``, ``ci_low``, ``ci_high``, one row per n.
        control: The random control's curve, same columns, at the curve's n_examples or at
            fewer (then pooled into one reference, see :func:`control_reference`).
        validation: The judge's validation table (``concept``, ``auroc``), or None to skip.
        min_auroc: The lowest AUROC a concept may have for the judge to be trusted.
        spread: The knees of the method's resamples (:func:`~steering.evaluation.knee.
            knee_spread`), quoted in the reason when given.

    Returns:
        The verdict.

    Raises:
        ValueError: On missing columns, an empty curve, duplicated n_examples, or a control
            that lacks some of the curve's n_examples.
    """
    ours = _sorted_curve(curve, f"curve of {method!r}")
    theirs, control_note = control_reference(control, ours["n_examples"], method)
    note = _spread_note(spread) + control_note
    failed = judge_failures(validation, min_auroc)
    if failed:
        return Verdict(method, "inconclusive", None, f"inconclusive: {failed}", failed + note)
    points = ours["n_examples"].astype(int).tolist()
    overlap = overlaps_control(
        ours["ci_low"], ours["ci_high"], theirs["ci_low"], theirs["ci_high"]
    ).tolist()
    if all(overlap):
        return Verdict(
            method,
            "no_steering",
            None,
            "no detectable steering (SE interval overlaps the random control at every n)",
            f"SE intervals overlap the control's at n = {points}{note}",
        )
    if overlap[-1]:
        separated = [n for n, o in zip(points, overlap, strict=True) if not o]
        why = (
            f"signal too weak: separated from the control only at n = {separated}, not at the "
            f"largest n = {points[-1]}"
        )
        return Verdict(method, "inconclusive", None, f"inconclusive: {why}", why + note)
    if len(points) == 1:
        why = f"above the control at n = {points[0]}, the only n measured: no curve to read"
        return Verdict(
            method, "steers", None, f"steers at n = {points[0]} (the only n measured)", why + note
        )
    if is_flat(ours["ci_low"], ours["ci_high"]):
        why = (
            f"above the control; the curve is flat within its intervals from n = {points[0]} to "
            f"{points[-1]}, so no knee is claimed"
        )
        text = f"steers; no measurable change from n = {points[0]} to {points[-1]}"
        return Verdict(method, "steers", None, text, why + note)
    knee = find_knee_noise_aware(points, ours["mean_se"], ours["ci_low"], ours["ci_high"])
    if knee.n_examples is None:
        return Verdict(
            method,
            "still_improving",
            None,
            "steers, still improving at the largest n",
            f"above the control at n = {points[-1]}; {knee.reason}{note}",
        )
    return Verdict(
        method,
        "saturates",
        knee.n_examples,
        f"steers, saturates at n = {knee.n_examples}",
        f"above the control at n = {points[-1]}; {knee.reason}{note}",
    )


def verdict_table(
    curves: pd.DataFrame,
    *,
    control: str = "random",
    validation: pd.DataFrame | None = None,
    min_auroc: float = 0.0,
    spreads: Mapping[str, KneeSpread] | None = None,
) -> pd.DataFrame:
    """A verdict for every method of a curves table but the control.

    Args:
        curves: Rows ``method``, ``n_examples``, ``mean_se``, ``ci_low``, ``ci_high`` (e.g.
            :func:`~steering.evaluation.tables.mean_se_table`).
        control: The control method's name.
        validation: The judge's validation table, or None.
        min_auroc: Threshold for the judge's validation.
        spreads: Knee spread per method, optional.

    Returns:
        Columns ``method``, ``verdict`` (the kind), ``knee``, ``text``, ``reason``, by method.

    Raises:
        ValueError: When the control is not among the methods, or as :func:`method_verdict`.
    """
    require_columns(curves, ("method", *CURVE_COLUMNS), "curves")
    methods = sorted(set(curves["method"]))
    if control not in methods:
        raise ValueError(
            f"control {control!r} is not in the curves (methods: {methods}); run the random "
            "control or name the control method"
        )
    control_curve = curves[curves["method"] == control]
    rows = []
    for method in methods:
        if method == control:
            continue
        v = method_verdict(
            method,
            curves[curves["method"] == method],
            control_curve,
            validation=validation,
            min_auroc=min_auroc,
            spread=(spreads or {}).get(method),
        )
        rows.append(
            {
                "method": v.method,
                "verdict": v.kind,
                "knee": v.knee,
                "text": v.text,
                "reason": v.reason,
            }
        )
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def resample_knee_spreads(
    per_resample: pd.DataFrame, control_curve: pd.DataFrame | None = None
) -> dict[str, KneeSpread]:
    """Per method, the knee of each resample's curve and whether they agree.

    Each resample's knee is :func:`~steering.evaluation.knee.guarded_knee` on its curve (no
    knee when flat within its intervals or, given the control's curve, overlapping it at every
    n); the spread is :func:`~steering.evaluation.knee.knee_spread`.

    Args:
        per_resample: ``method``, ``resample`` and the curve columns (e.g.
            :func:`~steering.evaluation.resampled_tables.per_resample_mean_se_table`).
        control_curve: The control's curve (``n_examples``, ``ci_low``, ``ci_high``), or None;
            measured at fewer n than a method, it is pooled (:func:`control_reference`).

    Returns:
        ``{method: KneeSpread}`` for every method in the table (the control's too, if present).

    Raises:
        ValueError: On missing columns, or a resample whose n_examples differ from its
            method's other resamples'.
    """
    require_columns(per_resample, ("method", "resample", *CURVE_COLUMNS), "per_resample")
    spreads = {}
    for method, rows in per_resample.groupby("method", sort=True):
        grid = sorted(int(n) for n in rows["n_examples"].unique())
        c_low = c_high = None
        if control_curve is not None:
            reference, _ = control_reference(control_curve, pd.Series(grid), str(method))
            c_low, c_high = reference["ci_low"], reference["ci_high"]
        knees = []
        for r, curve in rows.groupby("resample", sort=True):
            curve = _sorted_curve(curve, f"curve of {method!r} resample {r}")
            if curve["n_examples"].astype(int).tolist() != grid:
                raise ValueError(
                    f"resample {r} of {method!r} has n_examples "
                    f"{curve['n_examples'].astype(int).tolist()}, not the method's grid {grid}"
                )
            knees.append(
                guarded_knee(
                    curve["n_examples"],
                    curve["mean_se"],
                    curve["ci_low"],
                    curve["ci_high"],
                    control_low=c_low,
                    control_high=c_high,
                )
            )
        spreads[str(method)] = knee_spread(grid, knees)
    return spreads

"""The judge-free curves in the report: split-half stability and detection AUROC against n.

Both take :func:`steering.evaluation.judge_free_curves.judge_free_curves`'s table (one row per
method, n_examples and measure with ``mean``, ``ci_low``, ``ci_high``, ``note``). ``random``,
when present, is drawn and described as the chance reference, not as a method.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Final

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from steering.evaluation.judge_free_curves import CURVE_COLUMNS, MEASURES
from steering.reporting.figures import N_EXAMPLES_LABEL, log2_axis, require_rows, save_figure
from steering.reporting.markdown import fmt, markdown_table, with_ci

STABILITY_THRESHOLD: Final[float] = 0.9
REFERENCE: Final[str] = "random"
LABELS: Final[dict[str, str]] = {
    "stability": "split-half stability (cosine of two fits, -1 to 1)",
    "detection_auroc": "detection AUROC, held-out concept vs neutral (0.5 = chance)",
}
CHANCE: Final[dict[str, float]] = {"stability": 0.0, "detection_auroc": 0.5}


def plot_judge_free(curves: pd.DataFrame, path: Path | str) -> Path:
    """Stability and detection AUROC against examples per concept, one line per method.

    Each line is the mean over concepts and resamples with its 95% interval as a band; the
    random reference is dashed and grey; a dotted line marks :data:`STABILITY_THRESHOLD` on the
    stability panel and chance (0.5) on the AUROC panel.

    Args:
        curves: :func:`~steering.evaluation.judge_free_curves.judge_free_curves`'s table.
        path: Target PNG path.

    Returns:
        The written path.

    Raises:
        ValueError: If columns are missing or the table is empty.
    """
    require_rows(curves, list(CURVE_COLUMNS), "judge-free curves")
    methods = list(pd.unique(curves["method"]))
    colours = dict(zip(methods, sns.color_palette("colorblind", len(methods)), strict=True))
    ticks = sorted({int(n) for n in curves["n_examples"]})
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, measure in zip(axes, MEASURES, strict=True):
        for method in methods:
            part = curves[(curves["method"] == method) & (curves["measure"] == measure)]
            part = part.sort_values("n_examples")
            reference = method == REFERENCE
            colour = "grey" if reference else colours[method]
            label = f"{method} (chance reference)" if reference else method
            ax.fill_between(
                part["n_examples"],
                part["ci_low"],
                part["ci_high"],
                color=colour,
                alpha=0.15,
                linewidth=0,
            )
            ax.plot(
                part["n_examples"],
                part["mean"],
                color=colour,
                marker="o",
                label=label,
                linestyle="--" if reference else "-",
                linewidth=1.5 if reference else 2.0,
            )
        line = STABILITY_THRESHOLD if measure == "stability" else CHANCE[measure]
        if measure == "stability":  # room above the threshold for its label
            ax.set_ylim(top=max(ax.get_ylim()[1], 1.02))
        ax.axhline(line, color="crimson", linestyle=":", linewidth=1.2)
        ax.annotate(
            f"{'threshold' if measure == 'stability' else 'chance'} {line:g}",
            xy=(0.01, line),
            xycoords=("axes fraction", "data"),
            xytext=(2, 3),
            textcoords="offset points",
            color="crimson",
        )
        log2_axis(ax, ticks)
        ax.set_xlabel(N_EXAMPLES_LABEL)
        ax.set_ylabel(LABELS[measure])
        ax.grid(True, alpha=0.3)
    axes[0].set_title("Split-half stability (bands: 95% crossed bootstrap)")
    axes[1].set_title("Detection of held-out examples")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), title="method")
    return save_figure(fig, path)


def _points(curves: pd.DataFrame, method: str, measure: str) -> pd.DataFrame:
    """One method's points of one measure, by ascending n."""
    picked = curves[(curves["method"] == method) & (curves["measure"] == measure)]
    return picked.sort_values("n_examples")


def stability_sentence(points: pd.DataFrame, threshold: float = STABILITY_THRESHOLD) -> str:
    """Where a method's mean stability first exceeds ``threshold``, or "not reached".

    Args:
        points: One method's stability points (``n_examples``, ``mean``, ``ci_low``,
            ``ci_high``), any order.
        threshold: The stability to reach.

    Returns:
        A sentence: the first n whose mean exceeds ``threshold`` with its interval, and the
        first n whose whole interval is above it; or that it is not reached, with the value at
        the largest measured n.
    """
    measured = points[points["mean"].notna()].sort_values("n_examples")
    if measured.empty:
        return "stability not measured at any n (see the notes below)"
    above = measured[measured["mean"] > threshold]
    if above.empty:
        last = measured.iloc[-1]
        return (
            f"stability does not exceed {threshold:g} at any measured n, **not reached** "
            f"(largest measured, n = {int(last.n_examples)}: "
            f"{with_ci(last['mean'], last.ci_low, last.ci_high)})"
        )
    first = above.iloc[0]
    sure = measured[measured["ci_low"] > threshold]
    surely = (
        f"its interval is above {threshold:g} from n = {int(sure.iloc[0].n_examples)}"
        if not sure.empty
        else f"its interval never lies wholly above {threshold:g}"
    )
    return (
        f"stability first exceeds {threshold:g} at n = {int(first.n_examples)} "
        f"({with_ci(first['mean'], first.ci_low, first.ci_high)}); {surely}"
    )


def _separated(curves: pd.DataFrame, method: str, other: str, measure: str) -> str:
    """The n where ``method``'s and ``other``'s intervals do not overlap, as text."""
    a = _points(curves, method, measure).set_index("n_examples")
    b = _points(curves, other, measure).set_index("n_examples")
    shared = [
        n
        for n in a.index
        if n in b.index and not (math.isnan(a.at[n, "mean"]) or math.isnan(b.at[n, "mean"]))
    ]
    higher = [n for n in shared if a.at[n, "ci_low"] > b.at[n, "ci_high"]]
    lower = [n for n in shared if a.at[n, "ci_high"] < b.at[n, "ci_low"]]
    if not shared:
        return "not measured at a common n"
    parts = [f"higher (intervals apart) at n = {', '.join(map(str, higher))}"] if higher else []
    parts += [f"lower (intervals apart) at n = {', '.join(map(str, lower))}"] if lower else []
    return "; ".join(parts) if parts else "intervals overlap at every n"


def _measure_table(curves: pd.DataFrame, measure: str, methods: list[str]) -> pd.DataFrame:
    """n_examples down, methods across, ``mean [low, high]`` (``n/a`` where not measured)."""
    part = curves[curves["measure"] == measure]
    cells = {
        method: {
            int(row.n_examples): with_ci(row.mean, row.ci_low, row.ci_high)
            if not math.isnan(row.mean)
            else "n/a"
            for row in _points(part, method, measure).itertuples()
        }
        for method in methods
    }
    table = pd.DataFrame(cells).sort_index().fillna("not run")
    return table.rename_axis("n_examples").reset_index()


def judge_free_section(
    curves: pd.DataFrame,
    *,
    threshold: float = STABILITY_THRESHOLD,
    compare_to: str = "diffmean",
) -> list[str]:
    """The report section: what the judge-free curves say, per method, with intervals.

    Args:
        curves: :func:`~steering.evaluation.judge_free_curves.judge_free_curves`'s table.
        threshold: The stability a method should reach (default 0.9).
        compare_to: The method every other one is compared with, where it was measured.

    Returns:
        Markdown lines: per method where stability first exceeds ``threshold`` (or "not
        reached") and its detection AUROC at the largest measured n, the comparison with
        ``compare_to``, the random reference, both tables and the reasons for any ``n/a``.
    """
    lines = ["## Judge-free curves: split-half stability and detection", ""]
    if curves.empty:
        return [*lines, "No judge-free measures were computed.", ""]
    lines += [
        "Without any judge or generation. **Split-half stability**: the cosine between the "
        "directions fitted on two disjoint subsets of n examples (of every concept and of the "
        "neutral set); it approaches 1 once the direction no longer depends on which examples "
        "were picked. **Detection AUROC**: how well the projection on the direction fitted on a "
        "resample's n examples separates the concept's held-out examples from held-out neutral "
        "ones (0.5 is chance). Means over concepts and resamples, with 95% crossed-bootstrap "
        "intervals (resamples and concepts drawn with replacement).",
        "",
    ]
    methods = [m for m in pd.unique(curves["method"]) if m != REFERENCE]
    for method in methods:
        detection = _points(curves, method, "detection_auroc").dropna(subset=["mean"])
        if detection.empty:
            at_last = "detection AUROC not measured"
        else:
            last = detection.iloc[-1]
            at_last = (
                f"detection AUROC at n = {int(last.n_examples)}: "
                f"{with_ci(last['mean'], last.ci_low, last.ci_high)}"
            )
        lines.append(
            f"- **{method}**: {stability_sentence(_points(curves, method, 'stability'), threshold)}"
            f"; {at_last}."
        )
    if compare_to in methods:
        for method in (m for m in methods if m != compare_to):
            stab = _separated(curves, method, compare_to, "stability")
            det = _separated(curves, method, compare_to, "detection_auroc")
            lines.append(f"- {method} vs {compare_to}: stability {stab}; detection {det}.")
    if REFERENCE in set(curves["method"]):
        ref = curves[curves["method"] == REFERENCE].groupby("measure")["mean"].mean()
        lines.append(
            f"- {REFERENCE} directions (chance reference, not a fit): stability "
            f"{fmt(ref.get('stability', math.nan))}, detection AUROC "
            f"{fmt(ref.get('detection_auroc', math.nan))} on average over n."
        )
    everything = [*methods, *([REFERENCE] if REFERENCE in set(curves["method"]) else [])]
    for measure in MEASURES:
        lines += [
            "",
            f"{LABELS[measure][0].upper()}{LABELS[measure][1:]}:",
            "",
            markdown_table(_measure_table(curves, measure, everything)),
        ]
    notes = sorted({note for note in curves["note"] if note})
    if notes:
        lines += ["", *(f"n/a: {note}." for note in notes)]
    return [*lines, ""]

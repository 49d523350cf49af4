"""The report's figures: training curve, cost curve, delta scatter and method comparison.

Every function writes one PNG atomically (:func:`steering.reporting.figures.save_figure`).
``n_examples`` is the number of training examples per concept.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from steering.evaluation.knee import Knee
from steering.reporting.figures import (
    DELTA_LABEL,
    N_EXAMPLES_LABEL,
    SE_LABEL,
    log2_axis,
    pick_method,
    require_rows,
    save_figure,
)


def plot_training_curve(
    se_table: pd.DataFrame,
    mean_table: pd.DataFrame,
    knee: Knee,
    path: Path | str,
    *,
    method: str,
) -> Path:
    """SE against examples per concept: one line per concept, the mean with its CI, the knee.

    Args:
        se_table: Output of :func:`steering.evaluation.tables.se_table`.
        mean_table: Output of :func:`steering.evaluation.tables.mean_se_table`, or of
            :func:`steering.evaluation.resampled_tables.resampled_mean_se_table` (its
            hierarchical interval is drawn and labelled so).
        knee: The knee to mark (a vertical line), or a knee with ``n_examples=None`` (noted in
            text).
        path: Target PNG path.
        method: The method whose curve is drawn (usually the primary method).

    Returns:
        The written path.

    Raises:
        ValueError: If columns are missing or ``method`` is absent.
    """
    require_rows(se_table, ["method", "n_examples", "concept", "se"], "se_table")
    require_rows(mean_table, ["method", "n_examples", "mean_se", "ci_low", "ci_high"], "mean_table")
    per_concept = pick_method(se_table, method, "se_table")
    mean = pick_method(mean_table, method, "mean_table").sort_values("n_examples")
    ticks = sorted(
        {int(n) for n in per_concept["n_examples"]} | {int(n) for n in mean["n_examples"]}
    )

    fig, ax = plt.subplots(figsize=(9, 5.5))
    sns.lineplot(
        data=per_concept,
        x="n_examples",
        y="se",
        hue="concept",
        marker="o",
        alpha=0.55,
        linewidth=1.2,
        errorbar=None,
        ax=ax,
    )
    ax.fill_between(
        mean["n_examples"],
        mean["ci_low"],
        mean["ci_high"],
        color="black",
        alpha=0.15,
        label=(
            "mean 95% CI (resamples, then prompts)"
            if "n_resamples" in mean.columns
            else "mean 95% CI (prompt bootstrap)"
        ),
    )
    ax.plot(
        mean["n_examples"], mean["mean_se"], color="black", marker="s", linewidth=2.5, label="mean"
    )
    if knee.n_examples is not None:
        ax.axvline(knee.n_examples, color="crimson", linestyle="--", linewidth=1.5)
        ax.annotate(
            f"knee: {knee.n_examples} examples/concept",
            xy=(knee.n_examples, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(5, -15),
            textcoords="offset points",
            color="crimson",
        )
    else:
        ax.text(0.02, 0.95, "no knee found", transform=ax.transAxes, color="crimson", va="top")
    log2_axis(ax, ticks)
    ax.set_xlabel(N_EXAMPLES_LABEL)
    ax.set_ylabel(SE_LABEL)
    ax.set_title(f"Training curve: steering effectiveness vs training data ({method})")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), title="concept")
    return save_figure(fig, path)


COST_PARTS = {
    "fit_seconds": "whole fit job",
    "direction_seconds": "directions (the fit itself)",
    "calibration_seconds": "strength calibration",
}


def plot_cost_curve(cost: pd.DataFrame, path: Path | str) -> Path:
    """Fit time and peak memory against examples per concept, in two panels.

    Args:
        cost: Columns ``n_examples``, ``fit_seconds``, ``peak_memory_mb`` and ``memory_kind``
            (``"cuda"`` for peak GPU memory or ``"rss"`` for peak resident CPU memory).
        path: Target PNG path.

    Returns:
        The written path.

    Raises:
        ValueError: If columns are missing or ``memory_kind`` holds another value.
    """
    require_rows(cost, ["n_examples", "fit_seconds", "peak_memory_mb", "memory_kind"], "cost")
    kinds = sorted(set(cost["memory_kind"]))
    unknown = [k for k in kinds if k not in ("cuda", "rss")]
    if unknown:
        raise ValueError(f"memory_kind must be 'cuda' or 'rss', got {unknown}; fix the cost table")
    data = cost.sort_values("n_examples")
    ticks = sorted({int(n) for n in data["n_examples"]})
    memory_names = {"cuda": "peak CUDA memory", "rss": "peak process RSS"}

    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(12, 4.8))
    parts = [c for c in COST_PARTS if c in data and data[c].notna().all()]
    data.set_index("n_examples")[parts].rename(columns=COST_PARTS).plot(ax=ax_time, marker="o")
    ax_time.set_ylabel("time (seconds)")
    ax_time.set_title("Fit time: the directions apart from the calibration")
    sns.lineplot(
        data=data.assign(memory=data["memory_kind"].map(memory_names)),
        x="n_examples",
        y="peak_memory_mb",
        hue="memory",
        marker="o",
        errorbar=None,
        ax=ax_mem,
    )
    ax_mem.set_ylabel(f"{' / '.join(memory_names[k] for k in kinds)} (MB)")
    ax_mem.set_title("Peak memory")
    for ax in (ax_time, ax_mem):
        log2_axis(ax, ticks)
        ax.set_xlabel(N_EXAMPLES_LABEL)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    fig.suptitle("Cost of fitting the steering vectors vs training data")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_scatter(
    scores: pd.DataFrame,
    path: Path | str,
    *,
    method: str,
    n_examples: int | None = None,
) -> Path:
    """Judge delta against strength and against the reference rating, one row per concept.

    Args:
        scores: Per-output scores table (needs ``method``, ``n_examples``, ``concept``,
            ``strength``, ``delta``, ``reference``).
        path: Target PNG path.
        method: The method to show (usually the primary method).
        n_examples: One number of examples per concept to show; None shows all, coloured by it.

    Returns:
        The written path.

    Raises:
        ValueError: If columns are missing, or ``method``/``n_examples`` select no rows.
    """
    columns = ["method", "n_examples", "concept", "strength", "delta", "reference"]
    require_rows(scores, columns, "scores")
    data = pick_method(scores, method, "scores")
    if n_examples is not None:
        data = data.loc[data["n_examples"] == n_examples]
        if data.empty:
            raise ValueError(
                f"n_examples={n_examples} has no rows for method {method!r} "
                f"(n_examples: {sorted(set(scores['n_examples']))}); pass one of those or None"
            )
    concepts = sorted(set(data["concept"]))
    long = pd.concat(
        [
            data.assign(axis_name="strength (steering coefficient)", x=data["strength"]),
            data.assign(axis_name="reference rating (points)", x=data["reference"]),
        ],
        ignore_index=True,
    )
    long["n_examples"] = long["n_examples"].astype(int)
    grid = sns.relplot(
        data=long,
        x="x",
        y="delta",
        hue="n_examples" if n_examples is None else None,
        palette="viridis" if n_examples is None else None,
        row="concept",
        row_order=concepts,
        col="axis_name",
        kind="scatter",
        height=2.6,
        aspect=1.6,
        alpha=0.6,
        facet_kws={"sharex": "col", "sharey": True},
    )
    grid.set_titles(row_template="{row_name}", col_template="delta vs {col_name}")
    for (_, col_name), ax in grid.axes_dict.items():
        ax.set_xlabel(str(col_name))
        ax.grid(True, alpha=0.3)
    grid.set_ylabels("")
    grid.figure.supylabel(DELTA_LABEL, x=-0.01)
    where = "all" if n_examples is None else str(n_examples)
    grid.figure.suptitle(
        f"Judge delta vs strength and reference ({method}, {where} examples/concept)", y=1.01
    )
    return save_figure(grid.figure, path)


def plot_methods(
    se_table: pd.DataFrame, path: Path | str, *, n_examples: int | None = None
) -> Path:
    """Mean SE over concepts by method (including the random control) as bars with 95% CIs.

    The error bars are seaborn's bootstrap CI of the mean over concepts (seed 0); dots show the
    individual concepts.

    Args:
        se_table: Output of :func:`steering.evaluation.tables.se_table`.
        path: Target PNG path.
        n_examples: One number of examples per concept to compare at; None groups bars by it.

    Returns:
        The written path.

    Raises:
        ValueError: If columns are missing or ``n_examples`` selects no rows.
    """
    require_rows(se_table, ["method", "n_examples", "concept", "se"], "se_table")
    data = se_table
    if n_examples is not None:
        data = se_table.loc[se_table["n_examples"] == n_examples]
        if data.empty:
            present = sorted(set(se_table["n_examples"]))
            raise ValueError(
                f"n_examples={n_examples} is not in se_table (n_examples: {present}); "
                "pass one of those or None"
            )
    data = data.assign(n_examples=data["n_examples"].astype(int))
    methods = sorted(set(data["method"]), key=lambda m: (m == "random", m))
    by_n = n_examples is None and data["n_examples"].nunique() > 1
    fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(methods) + 3), 5))
    sns.barplot(
        data=data,
        x="method",
        y="se",
        hue="n_examples" if by_n else None,
        order=methods,
        errorbar=("ci", 95),
        seed=0,
        capsize=0.1,
        palette="viridis" if by_n else None,
        color=None if by_n else "steelblue",
        ax=ax,
    )
    sns.stripplot(
        data=data,
        x="method",
        y="se",
        hue="n_examples" if by_n else None,
        order=methods,
        dodge=by_n,
        color="black",
        size=3,
        alpha=0.6,
        legend=False,
        ax=ax,
    )
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("steering method (random = random-direction control)")
    ax.set_ylabel(f"mean {SE_LABEL}")
    where = "all examples/concept" if n_examples is None else f"{n_examples} examples/concept"
    ax.set_title(f"Method comparison: mean SE over concepts with 95% CI ({where})")
    ax.grid(True, axis="y", alpha=0.3)
    if by_n:
        ax.legend(title="examples/concept", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return save_figure(fig, path)


__all__ = [
    "plot_cost_curve",
    "plot_methods",
    "plot_scatter",
    "plot_training_curve",
]

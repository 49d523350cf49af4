"""PNG figures for the steering-effectiveness report (seaborn + matplotlib, Agg backend).

Every function writes one PNG atomically: the figure is saved to a temporary file in the target
folder and then moved into place with :func:`os.replace`, so a reader never sees a half-written
image.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Final

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from steering.evaluation.metrics import Knee

DPI: Final[int] = 120
PRIMARY_METHOD: Final[str] = "dual"
SE_LABEL: Final[str] = "steering effectiveness SE (unitless, -1 to 1)"
SCALE_LABEL: Final[str] = "training samples per concept (count, log2 scale)"
DELTA_LABEL: Final[str] = "judge delta (concept - opposite score, points)"


def _require(df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what} is missing column(s) {missing}; it has {list(df.columns)}. "
            "Pass the table produced by steering.evaluation.metrics."
        )
    if df.empty:
        raise ValueError(f"{what} is empty; there is nothing to plot")


def _pick_method(df: pd.DataFrame, method: str, what: str) -> pd.DataFrame:
    picked = df.loc[df["method"] == method]
    if picked.empty:
        raise ValueError(
            f"method {method!r} is not in {what} (methods: {sorted(set(df['method']))}); "
            "pass method=<one of those>"
        )
    return picked


def _default_mode() -> int:
    """File mode an ordinary ``open()`` would give (mkstemp creates files as 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save_figure(fig: Figure, path: Path | str) -> Path:
    """Save a figure as PNG atomically and close it.

    Args:
        fig: The figure.
        path: Target ``.png`` path; its folder is created if needed.

    Returns:
        The target path.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".png", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            fig.savefig(handle, format="png", dpi=DPI, bbox_inches="tight")
        os.chmod(tmp_name, _default_mode())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return target


def _log2_axis(ax: plt.Axes, scales: list[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(scales)
    ax.set_xticklabels([str(s) for s in scales])
    ax.minorticks_off()


def plot_training_curve(
    se_table: pd.DataFrame,
    mean_table: pd.DataFrame,
    knee: Knee,
    path: Path | str,
    *,
    method: str = PRIMARY_METHOD,
) -> Path:
    """SE against samples per concept: one line per concept, the mean with its CI, the knee.

    Args:
        se_table: Output of :func:`steering.evaluation.metrics.se_table`.
        mean_table: Output of :func:`steering.evaluation.metrics.mean_se_by_scale`.
        knee: The knee to mark (a vertical line), or a knee with ``scale=None`` (noted in text).
        path: Target PNG path.
        method: The method whose curve is drawn.

    Returns:
        The written path.

    Raises:
        ValueError: If columns are missing or ``method`` is absent.
    """
    _require(se_table, ["method", "scale", "concept", "se"], "se_table")
    _require(mean_table, ["method", "scale", "mean_se", "ci_low", "ci_high"], "mean_table")
    per_concept = _pick_method(se_table, method, "se_table")
    mean = _pick_method(mean_table, method, "mean_table").sort_values("scale")
    scales = sorted({int(s) for s in per_concept["scale"]} | {int(s) for s in mean["scale"]})

    fig, ax = plt.subplots(figsize=(9, 5.5))
    sns.lineplot(
        data=per_concept,
        x="scale",
        y="se",
        hue="concept",
        marker="o",
        alpha=0.55,
        linewidth=1.2,
        errorbar=None,
        ax=ax,
    )
    ax.fill_between(
        mean["scale"],
        mean["ci_low"],
        mean["ci_high"],
        color="black",
        alpha=0.15,
        label="mean 95% CI (prompt bootstrap)",
    )
    ax.plot(mean["scale"], mean["mean_se"], color="black", marker="s", linewidth=2.5, label="mean")
    if knee.scale is not None:
        ax.axvline(knee.scale, color="crimson", linestyle="--", linewidth=1.5)
        ax.annotate(
            f"knee: {knee.scale} samples/concept",
            xy=(knee.scale, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(5, -15),
            textcoords="offset points",
            color="crimson",
        )
    else:
        ax.text(0.02, 0.95, "no knee found", transform=ax.transAxes, color="crimson", va="top")
    _log2_axis(ax, scales)
    ax.set_xlabel(SCALE_LABEL)
    ax.set_ylabel(SE_LABEL)
    ax.set_title(f"Training curve: steering effectiveness vs training data ({method})")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), title="concept")
    return save_figure(fig, path)


def plot_cost_curve(cost: pd.DataFrame, path: Path | str) -> Path:
    """Fit time and peak memory against samples per concept, in two panels.

    Args:
        cost: Columns ``scale``, ``fit_seconds``, ``peak_memory_mb`` and ``memory_kind``
            (``"cuda"`` for peak GPU memory or ``"rss"`` for peak resident CPU memory).
        path: Target PNG path.

    Returns:
        The written path.

    Raises:
        ValueError: If columns are missing or ``memory_kind`` holds another value.
    """
    _require(cost, ["scale", "fit_seconds", "peak_memory_mb", "memory_kind"], "cost")
    kinds = sorted(set(cost["memory_kind"]))
    unknown = [k for k in kinds if k not in ("cuda", "rss")]
    if unknown:
        raise ValueError(f"memory_kind must be 'cuda' or 'rss', got {unknown}; fix the cost table")
    data = cost.sort_values("scale")
    scales = sorted({int(s) for s in data["scale"]})
    memory_names = {"cuda": "peak CUDA memory", "rss": "peak process RSS"}

    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(12, 4.8))
    sns.lineplot(data=data, x="scale", y="fit_seconds", marker="o", errorbar=None, ax=ax_time)
    ax_time.set_ylabel("fit time (seconds)")
    ax_time.set_title("Fit time")
    sns.lineplot(
        data=data.assign(memory=data["memory_kind"].map(memory_names)),
        x="scale",
        y="peak_memory_mb",
        hue="memory",
        marker="o",
        errorbar=None,
        ax=ax_mem,
    )
    ax_mem.set_ylabel(f"{' / '.join(memory_names[k] for k in kinds)} (MB)")
    ax_mem.set_title("Peak memory")
    for ax in (ax_time, ax_mem):
        _log2_axis(ax, scales)
        ax.set_xlabel(SCALE_LABEL)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    fig.suptitle("Cost of fitting the steering vectors vs training data")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_scatter(
    scores: pd.DataFrame,
    path: Path | str,
    *,
    method: str = PRIMARY_METHOD,
    scale: int | None = None,
) -> Path:
    """Judge delta against strength and against the reference rating, one row per concept.

    Args:
        scores: Per-output scores table (needs ``method``, ``scale``, ``concept``, ``strength``,
            ``delta``, ``reference``).
        path: Target PNG path.
        method: The method to show.
        scale: One scale to show; None shows all scales, coloured by scale.

    Returns:
        The written path.

    Raises:
        ValueError: If columns are missing, or ``method``/``scale`` select no rows.
    """
    _require(scores, ["method", "scale", "concept", "strength", "delta", "reference"], "scores")
    data = _pick_method(scores, method, "scores")
    if scale is not None:
        data = data.loc[data["scale"] == scale]
        if data.empty:
            raise ValueError(
                f"scale {scale} has no rows for method {method!r} "
                f"(scales: {sorted(set(scores['scale']))}); pass one of those or None"
            )
    concepts = sorted(set(data["concept"]))
    long = pd.concat(
        [
            data.assign(axis_name="strength (steering coefficient)", x=data["strength"]),
            data.assign(axis_name="reference rating (points)", x=data["reference"]),
        ],
        ignore_index=True,
    )
    long["scale"] = long["scale"].astype(int)
    grid = sns.relplot(
        data=long,
        x="x",
        y="delta",
        hue="scale" if scale is None else None,
        palette="viridis" if scale is None else None,
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
    where = "all scales" if scale is None else f"scale {scale}"
    grid.figure.suptitle(f"Judge delta vs strength and reference ({method}, {where})", y=1.01)
    return save_figure(grid.figure, path)


def plot_methods(se_table: pd.DataFrame, path: Path | str, *, scale: int | None = None) -> Path:
    """Mean SE over concepts by method (including the random control) as bars with 95% CIs.

    The error bars are seaborn's bootstrap CI of the mean over concepts (seed 0); dots show the
    individual concepts.

    Args:
        se_table: Output of :func:`steering.evaluation.metrics.se_table`.
        path: Target PNG path.
        scale: One scale to compare at; None groups bars by scale.

    Returns:
        The written path.

    Raises:
        ValueError: If columns are missing or ``scale`` selects no rows.
    """
    _require(se_table, ["method", "scale", "concept", "se"], "se_table")
    data = se_table
    if scale is not None:
        data = se_table.loc[se_table["scale"] == scale]
        if data.empty:
            raise ValueError(
                f"scale {scale} is not in se_table (scales: {sorted(set(se_table['scale']))}); "
                "pass one of those or None"
            )
    data = data.assign(scale=data["scale"].astype(int))
    methods = sorted(set(data["method"]), key=lambda m: (m == "random", m))
    by_scale = scale is None and data["scale"].nunique() > 1
    fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(methods) + 3), 5))
    sns.barplot(
        data=data,
        x="method",
        y="se",
        hue="scale" if by_scale else None,
        order=methods,
        errorbar=("ci", 95),
        seed=0,
        capsize=0.1,
        palette="viridis" if by_scale else None,
        color=None if by_scale else "steelblue",
        ax=ax,
    )
    sns.stripplot(
        data=data,
        x="method",
        y="se",
        hue="scale" if by_scale else None,
        order=methods,
        dodge=by_scale,
        color="black",
        size=3,
        alpha=0.6,
        legend=False,
        ax=ax,
    )
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("steering method (random = random-direction control)")
    ax.set_ylabel(f"mean {SE_LABEL}")
    where = "all scales" if scale is None else f"{scale} samples/concept"
    ax.set_title(f"Method comparison: mean SE over concepts with 95% CI ({where})")
    ax.grid(True, axis="y", alpha=0.3)
    if by_scale:
        ax.legend(title="samples/concept", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return save_figure(fig, path)


__all__ = [
    "plot_cost_curve",
    "plot_methods",
    "plot_scatter",
    "plot_training_curve",
    "save_figure",
]

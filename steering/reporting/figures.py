"""What every report figure shares: Agg backend, axis labels, input checks, atomic PNG saving."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from steering.evaluation.coherence import require_columns
from steering.io import atomic_path

DPI: Final[int] = 120
SE_LABEL: Final[str] = "steering effectiveness SE (unitless, -1 to 1)"
N_EXAMPLES_LABEL: Final[str] = "training examples per concept (count, log2 axis)"
DELTA_LABEL: Final[str] = "judge delta (concept - opposite score, points)"


def require_rows(df: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise a ``ValueError`` unless ``df`` has ``columns`` and at least one row."""
    require_columns(df, columns, what)
    if df.empty:
        raise ValueError(f"{what} is empty; there is nothing to plot")


def pick_method(df: pd.DataFrame, method: str, what: str) -> pd.DataFrame:
    """The rows of ``method``; a ``ValueError`` naming the methods present if there are none."""
    picked = df.loc[df["method"] == method]
    if picked.empty:
        raise ValueError(
            f"method {method!r} is not in {what} (methods: {sorted(set(df['method']))}); "
            "pass method=<one of those>"
        )
    return picked


def save_figure(fig: Figure, path: Path | str) -> Path:
    """Save a figure as PNG atomically and close it.

    Args:
        fig: The figure.
        path: Target ``.png`` path; its folder is created if needed.

    Returns:
        The target path.
    """
    target = Path(path)
    try:
        with atomic_path(target, ".png") as tmp:
            fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    return target


def log2_axis(ax: plt.Axes, n_examples: list[int]) -> None:
    """A log2 x axis with a labelled tick at each n_examples and no minor ticks."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(n_examples)
    ax.set_xticklabels([str(n) for n in n_examples])
    ax.minorticks_off()

"""Formatting numbers and tables as Markdown text for the report."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def fmt(value: Any, digits: int = 3) -> str:
    """A value as report text: floats to ``digits`` decimals, NaN/None as ``n/a``, bools yes/no."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        return fmt(value.item(), digits)
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v, digits) for v in value)
    return str(value)


def config_value(value: Any) -> str:
    """A configuration value as text: floats in their shortest form (``0.5``, ``1e-05``)."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(config_value(v) for v in value)
    return fmt(value)


def with_ci(value: float, low: float, high: float) -> str:
    """``value [low, high]``, each to 3 decimals."""
    return f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"


def percent(value: float) -> str:
    """A fraction as a whole percentage (``0.75`` -> ``75%``), NaN as ``n/a``."""
    return "n/a" if math.isnan(value) else f"{100 * value:.0f}%"


def _cell(value: Any) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame) -> str:
    """Render a DataFrame as a GitHub-flavoured Markdown table (floats to 3 decimals).

    Args:
        df: The table; its index is dropped.

    Returns:
        The Markdown text, or ``"_(no rows)_"`` for an empty table.
    """
    if df.empty:
        return "_(no rows)_"
    header = "| " + " | ".join(_cell(c) for c in df.columns) + " |"
    sep = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, sep, *body])

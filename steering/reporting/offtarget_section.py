"""Report section on off-target effects: how steering toward concept A moves the judge's score
under concept B's rubric.

The input is ``metrics/off_target.parquet`` (written by the ``judge_off_target`` stage: columns
``method``, ``n_examples``, ``steered``, ``rubric``, ``change``) or the wide matrix of
:func:`~steering.evaluation.offtarget.off_target_matrix` itself (index ``steered``, columns
``rubric``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steering.evaluation.coherence import require_columns
from steering.reporting.markdown import fmt, markdown_table

__all__ = ["off_target_section"]

TIDY_COLUMNS = ("steered", "rubric", "change")


def _wide(matrix: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The steered x rubric matrix and a note naming its method and n (tidy input only)."""
    if "change" not in matrix.columns:
        return matrix.astype(np.float64), ""
    require_columns(matrix, TIDY_COLUMNS, "off-target table")
    if matrix.duplicated(["steered", "rubric"]).any():
        raise ValueError("off-target table has several rows for one (steered, rubric)")
    note = ""
    if {"method", "n_examples"} <= set(matrix.columns):
        jobs = matrix[["method", "n_examples"]].drop_duplicates()
        note = ", ".join(f"`{m}` at n_examples = {n}" for m, n in jobs.itertuples(index=False))
    wide = matrix.pivot(index="steered", columns="rubric", values="change")
    return wide.astype(np.float64), note


def _cells(wide: pd.DataFrame) -> pd.DataFrame:
    """The matrix as text cells (signed, 2 decimals), the diagonal bold, ``steered`` first."""
    cells = wide.apply(
        lambda column: column.map(lambda v: f"{v:+.2f}" if np.isfinite(v) else fmt(v))
    )
    for concept in wide.index.intersection(wide.columns):
        cells.loc[concept, concept] = f"**{cells.loc[concept, concept]}**"
    cells.insert(0, "steered toward \\ rubric", list(wide.index))
    return cells.reset_index(drop=True)


def off_target_section(matrix: pd.DataFrame) -> list[str]:
    """Markdown lines of the "Off-target effects" section.

    Args:
        matrix: The tidy off-target table (``steered``, ``rubric``, ``change``; ``method`` and
            ``n_examples`` named in the text when present) or the wide matrix (index: concept
            steered toward, columns: rubric concept).

    Returns:
        The section's lines (heading first, a blank line last): the matrix (diagonal bold), the
        largest off-diagonal change, and diagonal vs off-diagonal means.

    Raises:
        ValueError: On an empty table, missing columns, or no steered concept with a rubric
            of its own (no diagonal).
    """
    if matrix.empty:
        raise ValueError("off-target table is empty; nothing to report")
    wide, note = _wide(matrix)
    both = wide.index.intersection(wide.columns)
    if not len(both):
        raise ValueError(
            f"off-target matrix has no diagonal: steered {list(wide.index)}, rubrics "
            f"{list(wide.columns)}"
        )
    on_target = wide.columns.to_numpy()[None, :] == wide.index.to_numpy()[:, None]
    diagonal = wide.to_numpy()[on_target]
    off = wide.where(~on_target).stack()
    of = f" of {note}" if note else ""
    lines = [
        "## Off-target effects",
        "",
        f"Change in the mean judge score{of} under each concept's rubric (columns) when steering "
        "toward each concept (rows), against the unsteered baseline, positive strengths pooled. "
        "The diagonal (bold) is the on-target effect; a selective method moves only the "
        "diagonal.",
        "",
        markdown_table(_cells(wide)),
        "",
    ]
    if len(off):
        (a, b), value = off.abs().idxmax(), off[off.abs().idxmax()]
        lines.append(
            f"The largest off-diagonal effect: steering toward **{a}** changes the **{b}** "
            f"score by {value:+.2f}."
        )
        lines.append(
            f"Mean on-target change {np.mean(diagonal):+.2f} against {off.mean():+.2f} "
            "off-target: "
            + (
                "on average steering moves its own concept's score more than the others'"
                if np.mean(diagonal) > off.mean()
                else "steering does **not** move its own concept's score more than the others'"
            )
            + ". The judge itself confuses concepts (see the judge confusion matrix, "
            "`judge_confusion.parquet`): an off-diagonal change no larger than that confusion "
            "may be the judge, not the steering."
        )
    else:
        lines.append(
            f"Mean on-target change {np.mean(diagonal):+.2f}; one rubric only, so no "
            "off-target entries."
        )
    lines.append("")
    return lines

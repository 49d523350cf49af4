"""Report section on the judge itself: its confusion matrix and its weakest pair of concepts.

The input is ``judge_confusion.parquet`` (written by the ``validate_judge`` stage, columns
:data:`~steering.evaluation.judge_confusion.CONFUSION_COLUMNS`): every on-concept check text
scored under every concept's rubric. Optionally the validation table
(``judge_validation.parquet``) adds each concept's AUROC against texts about the other concepts
(the one that gates the verdict) and against neutral texts.
"""

from __future__ import annotations

import pandas as pd

from steering.evaluation.judge_confusion import confusion_matrix, pairwise_auroc
from steering.reporting.markdown import fmt, markdown_table

__all__ = ["judge_confusion_section"]


def _matrix_table(matrix: pd.DataFrame) -> pd.DataFrame:
    """The confusion matrix as text cells, the diagonal in bold, ``about`` as first column."""
    cells = matrix.apply(lambda column: column.map(lambda v: fmt(float(v), 2)))
    for concept in matrix.index.intersection(matrix.columns):
        cells.loc[concept, concept] = f"**{cells.loc[concept, concept]}**"
    cells.insert(0, "texts about \\ rubric", list(matrix.index))
    return cells.reset_index(drop=True)


def judge_confusion_section(
    confusion: pd.DataFrame,
    validation: pd.DataFrame | None = None,
    *,
    threshold: float = 0.9,
    contrast: float | None = None,
) -> list[str]:
    """Markdown lines of the "Judge confusion matrix" section.

    Args:
        confusion: The confusion long table (``about``, ``rubric_concept``, ``score``).
        validation: The judge validation table; when given, its ``auroc_other`` and
            ``auroc_neutral`` per concept are listed.
        threshold: Pairwise AUROCs below this are counted as weak pairs.
        contrast: The judge's contrast weight (``judge.contrast``), named in the text.

    Returns:
        The section's lines (heading first, a blank line last).

    Raises:
        ValueError: On missing columns or an empty table.
    """
    matrix = confusion_matrix(confusion)
    mode = "" if contrast is None else f" (contrast weight {contrast:g})"
    lines = [
        "## Judge confusion matrix",
        "",
        f"Mean judge score{mode} of the check texts about each concept (rows) under each "
        "concept's rubric (columns). A judge that tells the concepts apart has the largest "
        "value of every column on the diagonal (bold).",
        "",
        markdown_table(_matrix_table(matrix)),
        "",
    ]
    if len(matrix.columns) >= 2:
        pairs = pairwise_auroc(confusion)
        worst = pairs.iloc[0]
        weak = int((pairs["auroc"] < threshold).sum())
        lines += [
            f"Weakest pair: under the **{worst.rubric}** rubric, texts about {worst.rubric} vs "
            f"texts about {worst.about}: AUROC {fmt(float(worst.auroc), 2)} (mean score "
            f"{fmt(float(worst.mean_own), 2)} vs {fmt(float(worst.mean_about), 2)}). "
            f"{weak} of {len(pairs)} ordered pairs have an AUROC below {threshold:g}.",
            "",
        ]
    if validation is not None and not validation.empty:
        columns = [c for c in ("concept", "auroc_other", "auroc_neutral") if c in validation]
        lines += [
            "AUROC per concept against texts about the other concepts (auroc_other: gates the "
            "verdict) and against neutral texts (auroc_neutral):",
            "",
            markdown_table(validation[columns]),
            "",
        ]
    return lines

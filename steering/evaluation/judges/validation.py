"""Check a judge against hand-labelled texts: does it rank on-concept texts above the rest?

The checks file is JSON Lines, one object per line::

    {"concept": "animal", "text": "...", "label": 1, "kind": "on-concept"}

``label`` is 1 for a text about the concept and 0 otherwise; ``kind`` says what sort of text it
is (e.g. ``"on-concept"``, ``"other-concept"``, ``"neutral"``). Blank lines are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from steering.evaluation.auroc import auroc
from steering.evaluation.coherence import require_columns
from steering.evaluation.judges.base import Judge, Rubric

__all__ = ["CHECK_FIELDS", "VALIDATION_COLUMNS", "load_checks", "validate_judge"]

CHECK_FIELDS: tuple[str, ...] = ("concept", "text", "label", "kind")
"""Fields every line of a checks file must have."""

VALIDATION_COLUMNS: tuple[str, ...] = ("concept", "auroc", "n", "n_pos", "mean_on", "mean_off")
"""Columns of the table returned by :func:`validate_judge`."""


def load_checks(path: str | Path) -> pd.DataFrame:
    """Read a labelled checks file (JSON Lines) into a DataFrame.

    Args:
        path: The ``.jsonl`` file.

    Returns:
        Columns ``concept``, ``text``, ``label`` (int 0/1), ``kind``, plus ``line`` (1-based
        line number in the file), in file order.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: On bad JSON, a missing or mistyped field, a label other than 0/1, or a file
            with no checks; the message names the file and the line number.
    """
    path = Path(path)
    rows = []
    with path.open(encoding="utf-8-sig") as handle:  # a leading BOM is not data
        for lineno, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: expected a JSON object, got {type(obj).__name__}")
            missing = [field for field in CHECK_FIELDS if field not in obj]
            if missing:
                raise ValueError(f"{where}: missing field(s) {missing}; need {list(CHECK_FIELDS)}")
            for field in ("concept", "text", "kind"):
                if not isinstance(obj[field], str):
                    raise ValueError(
                        f"{where}: field {field!r} must be a string, got {obj[field]!r:.60}"
                    )
            if not obj["concept"].strip():
                raise ValueError(f"{where}: field 'concept' is empty")
            if not obj["text"].strip():
                raise ValueError(f"{where}: field 'text' is empty")
            label = obj["label"]
            if isinstance(label, bool) or label not in (0, 1) or isinstance(label, float):
                raise ValueError(f"{where}: field 'label' must be 0 or 1, got {label!r}")
            rows.append(
                {
                    "concept": obj["concept"],
                    "text": obj["text"],
                    "label": int(label),
                    "kind": obj["kind"],
                    "line": lineno,
                }
            )
    if not rows:
        raise ValueError(f"{path}: no checks found (empty file)")
    return pd.DataFrame(rows, columns=[*CHECK_FIELDS, "line"])


def validate_judge(
    judge: Judge, checks: pd.DataFrame, rubrics: Mapping[str, Rubric]
) -> pd.DataFrame:
    """Score every check with its concept's rubric and measure how well the judge separates them.

    Args:
        judge: Any :class:`~steering.evaluation.judges.base.Judge`.
        checks: Output of :func:`load_checks` (needs ``concept``, ``text``, ``label``).
        rubrics: Rubric per concept; every concept in ``checks`` needs one.

    Returns:
        One row per concept, sorted by concept, with columns ``concept``, ``auroc`` (on-concept
        vs the rest), ``n``, ``n_pos``, ``mean_on`` and ``mean_off`` (mean 0-10 scores of the
        label-1 and label-0 texts).

    Raises:
        ValueError: If a column is missing, a concept has no rubric, or a concept's checks lack
            one of the two labels.
    """
    require_columns(checks, ("concept", "text", "label"), "checks (load them with load_checks())")
    concepts = sorted(checks["concept"].unique())
    no_rubric = [c for c in concepts if c not in rubrics]
    if no_rubric:
        raise ValueError(f"no rubric for concept(s) {no_rubric}; rubrics given: {sorted(rubrics)}")
    rows = []
    for concept in concepts:
        part = checks[checks["concept"] == concept]
        labels = part["label"].to_numpy(dtype=int)
        n_pos = int(labels.sum())
        if n_pos == 0 or n_pos == len(labels):
            raise ValueError(
                f"checks for concept {concept!r} need both labels, got {n_pos} of {len(labels)} "
                "labelled 1"
            )
        scores = np.asarray(judge.score(part["text"].tolist(), rubrics[concept]), dtype=float)
        if scores.shape != labels.shape:
            raise ValueError(
                f"judge returned {scores.size} scores for {labels.size} texts of {concept!r}"
            )
        rows.append(
            {
                "concept": concept,
                "auroc": auroc(labels, scores),
                "n": len(labels),
                "n_pos": n_pos,
                "mean_on": float(scores[labels == 1].mean()),
                "mean_off": float(scores[labels == 0].mean()),
            }
        )
    return pd.DataFrame(rows, columns=list(VALIDATION_COLUMNS))

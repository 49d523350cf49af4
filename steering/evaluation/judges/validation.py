"""Check a judge against hand-labelled texts: does it rank on-concept texts above the rest?

The checks file is JSON Lines, one object per line::

    {"concept": "animal", "text": "...", "label": 1, "kind": "on-concept"}

``label`` is 1 for a text about the concept and 0 otherwise; ``kind`` says what sort of text it
is (e.g. ``"on-concept"``, ``"other-concept"``, ``"near-miss"``, ``"neutral"``). Blank lines are
ignored.

Every distinct text of the checks is scored under every concept's rubric
(:func:`check_scores`), so each concept is measured against two kinds of negatives
(:func:`validation_table`):

* **other concepts**: its own label-0 lines that are not ``"neutral"`` (texts about another
  concept, near misses) and the label-1 texts of every other concept. This is the hard case and
  the one that **gates the verdict**: ``auroc`` is this AUROC (``auroc_other``).
* **neutral**: the ``"neutral"`` lines of every concept (texts about none of them).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from steering.evaluation.auroc import auroc
from steering.evaluation.coherence import require_columns
from steering.evaluation.judges.base import Judge, Rubric

__all__ = [
    "CHECK_FIELDS",
    "GATING_AUROC",
    "VALIDATION_COLUMNS",
    "check_scores",
    "load_checks",
    "validate_judge",
    "validation_table",
]

logger = logging.getLogger(__name__)

CHECK_FIELDS: tuple[str, ...] = ("concept", "text", "label", "kind")
"""Fields every line of a checks file must have."""

VALIDATION_COLUMNS: tuple[str, ...] = (
    "concept",
    "auroc",
    "auroc_other",
    "auroc_neutral",
    "n",
    "n_pos",
    "n_other",
    "n_neutral",
    "mean_on",
    "mean_other",
    "mean_neutral",
    "mean_off",
)
"""Columns of the table returned by :func:`validate_judge`."""

GATING_AUROC = "auroc_other"
"""The AUROC that ``auroc`` repeats and that gates the verdict (``judge.min_auroc``)."""

SCORE_COLUMNS: tuple[str, ...] = ("text", "rubric_concept", "score")
"""Columns of the long table returned by :func:`check_scores`."""


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


def check_scores(judge: Judge, checks: pd.DataFrame, rubrics: Mapping[str, Rubric]) -> pd.DataFrame:
    """Score every distinct text of the checks under every concept's rubric.

    Args:
        judge: Any :class:`~steering.evaluation.judges.base.Judge`.
        checks: Output of :func:`load_checks` (needs ``concept`` and ``text``).
        rubrics: Rubric per concept; every concept in ``checks`` needs one.

    Returns:
        Long table ``text``, ``rubric_concept``, ``score`` (texts in first-seen order within
        each rubric; rubrics sorted).

    Raises:
        ValueError: If a column is missing, a concept has no rubric, or the judge returns the
            wrong number of scores.
    """
    require_columns(checks, ("concept", "text"), "checks (load them with load_checks())")
    concepts = sorted(checks["concept"].unique())
    no_rubric = [c for c in concepts if c not in rubrics]
    if no_rubric:
        raise ValueError(f"no rubric for concept(s) {no_rubric}; rubrics given: {sorted(rubrics)}")
    texts = list(dict.fromkeys(checks["text"]))
    frames = []
    for concept in concepts:
        scores = np.asarray(judge.score(texts, rubrics[concept]), dtype=np.float64)
        if scores.shape != (len(texts),):
            raise ValueError(
                f"judge returned {scores.size} scores for {len(texts)} texts under "
                f"{concept!r}'s rubric"
            )
        frames.append(pd.DataFrame({"text": texts, "rubric_concept": concept, "score": scores}))
    return pd.concat(frames, ignore_index=True)


def _negatives(checks: pd.DataFrame, concept: str) -> tuple[list[str], list[str], list[str]]:
    """Distinct positive, other-concept and neutral texts of ``concept``."""
    on = checks["label"] == 1
    own = checks["concept"] == concept
    neutral_kind = checks["kind"] == "neutral"
    positives = list(dict.fromkeys(checks.loc[own & on, "text"]))
    taken = set(positives)
    other = [
        t
        for t in dict.fromkeys(
            [*checks.loc[own & ~on & ~neutral_kind, "text"], *checks.loc[~own & on, "text"]]
        )
        if t not in taken
    ]
    neutral = [t for t in dict.fromkeys(checks.loc[~on & neutral_kind, "text"]) if t not in taken]
    return positives, other, neutral


def validation_table(checks: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """How well each concept's rubric separates its texts from other concepts' and neutral ones.

    Args:
        checks: Output of :func:`load_checks` (``concept``, ``text``, ``label``, ``kind``).
        scores: Output of :func:`check_scores` for these checks (every text, every concept).

    Returns:
        One row per concept, sorted, with :data:`VALIDATION_COLUMNS`: ``auroc_other`` (its
        texts vs texts about other concepts, see the module docstring), ``auroc_neutral`` (vs
        neutral texts; NaN, with a warning, when the checks have none), ``auroc`` (=
        ``auroc_other``, the AUROC that gates the verdict), the counts ``n`` (all texts used),
        ``n_pos``, ``n_other``, ``n_neutral`` and the mean 0-10 scores of each group
        (``mean_off``: all negatives).

    Raises:
        ValueError: On a missing column, a text or rubric without a score, or a concept with
            no positive texts or no texts about other concepts.
    """
    require_columns(checks, CHECK_FIELDS, "checks (load them with load_checks())")
    require_columns(scores, SCORE_COLUMNS, "scores (make them with check_scores())")
    wide = scores.pivot_table(
        index="text", columns="rubric_concept", values="score", aggfunc="first"
    )
    rows = []
    for concept in sorted(checks["concept"].unique()):
        positives, other, neutral = _negatives(checks, concept)
        if not positives or not other:
            raise ValueError(
                f"checks for concept {concept!r} need texts about it (label 1) and texts about "
                f"other concepts (another concept's label-1 lines, or its own label-0 lines of "
                f"kind other than 'neutral'); got {len(positives)} and {len(other)}"
            )
        if concept not in wide.columns:
            raise ValueError(f"scores have no rubric_concept {concept!r}; score with its rubric")
        column = wide[concept]
        values = column.reindex([*positives, *other, *neutral])
        missing = values.index[values.isna()].tolist()
        if missing:
            raise ValueError(
                f"scores under {concept!r}'s rubric lack {len(missing)} check text(s), e.g. "
                f"{missing[0]!r:.60}; score every text with check_scores()"
            )
        pos, oth = column[positives].to_numpy(), column[other].to_numpy()
        neu = column[neutral].to_numpy()
        if not neutral:
            logger.warning(
                "judge checks have no neutral texts: auroc_neutral of %r is NaN", concept
            )
        auroc_other = auroc(np.r_[np.ones(pos.size), np.zeros(oth.size)], np.r_[pos, oth])
        auroc_neutral = (
            auroc(np.r_[np.ones(pos.size), np.zeros(neu.size)], np.r_[pos, neu])
            if neutral
            else float("nan")
        )
        rows.append(
            {
                "concept": concept,
                "auroc": auroc_other,
                "auroc_other": auroc_other,
                "auroc_neutral": auroc_neutral,
                "n": pos.size + oth.size + neu.size,
                "n_pos": pos.size,
                "n_other": oth.size,
                "n_neutral": neu.size,
                "mean_on": float(pos.mean()),
                "mean_other": float(oth.mean()),
                "mean_neutral": float(neu.mean()) if neutral else float("nan"),
                "mean_off": float(np.r_[oth, neu].mean()),
            }
        )
    return pd.DataFrame(rows, columns=list(VALIDATION_COLUMNS))


def validate_judge(
    judge: Judge, checks: pd.DataFrame, rubrics: Mapping[str, Rubric]
) -> pd.DataFrame:
    """Score the checks under every concept's rubric and tabulate the separation.

    :func:`check_scores` then :func:`validation_table`; see them for the arguments, the
    columns and the errors.
    """
    require_columns(checks, CHECK_FIELDS, "checks (load them with load_checks())")
    return validation_table(checks, check_scores(judge, checks, rubrics))

"""Reading the judge's input files: few-shot rubrics, labelled checks and human ratings.

Each reader checks the whole file, so that the workflow can call it at parse time and refuse a
bad file before the first model stage; messages name the file, the line or entry and the fix.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from steering.evaluation.judges.base import RUBRIC_KINDS, Rubric
from steering.experiment.errors import ConfigError
from steering.experiment.text import read_text, text_problem
from steering.experiment.yaml_strict import load_file

SCORE_RANGE = (0, 9)
"""The judges' scale; few-shot scores and human ratings must lie on it."""


def _is_score(value: Any, *, integer: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if not math.isfinite(value) or (integer and not isinstance(value, int)):
        return False
    return SCORE_RANGE[0] <= value <= SCORE_RANGE[1]


def _shots(target: Path, kind: str, concept: str, shots: Any) -> tuple[tuple[str, int], ...]:
    where = f"{target}: {kind}.{concept}"
    if not isinstance(shots, list) or not shots:
        raise ConfigError(f"{where} must be a non-empty list of {{text, score}} shots.")
    pairs = []
    for i, shot in enumerate(shots):
        at = f"{where}[{i}]"
        if not isinstance(shot, Mapping) or set(shot) != {"text", "score"}:
            raise ConfigError(
                f"{at} = {shot!r:.80} must be a mapping with exactly the keys text and score, "
                'e.g. {text: "a cat sat", score: 9}.'
            )
        text, score = shot["text"], shot["score"]
        if not isinstance(text, str):
            raise ConfigError(f"{at}.text = {text!r:.60} must be a string; quote it.")
        problem = text_problem(text)
        if problem:
            raise ConfigError(f"{at}.text {problem}; write a visible example text.")
        if not _is_score(score, integer=True):
            raise ConfigError(
                f"{at}.score = {score!r} must be an integer from {SCORE_RANGE[0]} to "
                f"{SCORE_RANGE[1]}."
            )
        pairs.append((text, score))
    return tuple(pairs)


def load_rubrics(
    shots_path: str | Path, concepts: Mapping[str, Mapping[str, str]]
) -> dict[tuple[str, str], Rubric]:
    """Build the three rubrics of every concept from the config and the few-shot file.

    Raises:
        ConfigError: The file is missing, not strict YAML (aliases and duplicate keys are
            refused), lacks ``rubric_version`` or a kind's shots for a configured concept, or
            has a malformed shot (a blank text, a score outside 0-9, an unknown key).
    """
    target = Path(shots_path)
    data = load_file(target, "Judge shots file")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{target} must be a mapping with rubric_version and {', '.join(RUBRIC_KINDS)}; got "
            f"{type(data).__name__}."
        )
    allowed = ("rubric_version", *RUBRIC_KINDS)
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{target}: unknown key {key!r}; {hint}valid keys: {list(allowed)}.")
    version = data.get("rubric_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ConfigError(f"{target}: 'rubric_version' must be an integer, got {version!r}.")
    rubrics: dict[tuple[str, str], Rubric] = {}
    for kind in RUBRIC_KINDS:
        section = data.get(kind) or {}
        if not isinstance(section, Mapping):
            raise ConfigError(f"{target}: {kind!r} must map each concept to its shots.")
        for concept, info in concepts.items():
            if not section.get(concept):
                raise ConfigError(f"{target}: no '{kind}' shots for concept {concept!r}.")
            description = info["opposite"] if kind == "opposite" else info["description"]
            rubrics[(kind, concept)] = Rubric(
                kind=kind,
                concept=concept,
                description=description,
                version=version,
                shots=_shots(target, kind, concept, section[concept]),
                opposite=info["opposite"] if kind == "bipolar" else "",
            )
    return rubrics


def load_ratings(path: str | Path, concepts: Sequence[str] | None = None) -> pd.DataFrame:
    """Human ratings CSV: columns ``concept``, ``score`` and ``output_id`` or ``text``.

    Args:
        path: The CSV file (UTF-8; a leading byte-order mark is removed).
        concepts: The configured concepts; a rating of another concept is refused.

    Returns:
        The ratings, ``score`` as float.

    Raises:
        ConfigError: The file is missing, unreadable, lacks a column or rows, or has a blank
            key, an unknown concept, a non-numeric score or one outside 0-9, or rates the same
            output and concept twice; the message names the file and line.
    """
    target = Path(path)
    text = read_text(target, "Ratings file")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise ConfigError(f"Ratings file {target} is not a readable CSV ({error}).") from None
    if not rows:
        raise ConfigError(f"Ratings file {target} is empty; it needs a header line.")
    header, body = rows[0], []
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue  # a blank line
        body.append(row)
        if len(row) != len(header):
            raise ConfigError(
                f"{target}:{number}: {len(row)} fields but the header has {len(header)}; quote "
                'fields that contain commas ("a, b").'
            )
    frame = pd.DataFrame(body, columns=header, dtype=str)
    columns = set(frame.columns)
    missing = [c for c in ("concept", "score") if c not in columns]
    if missing or not ({"output_id", "text"} & columns):
        need = missing + ([] if {"output_id", "text"} & columns else ["output_id or text"])
        raise ConfigError(
            f"Ratings file {target} lacks columns {need}; it needs concept, score and "
            "output_id or text."
        )
    if frame.empty:
        raise ConfigError(f"Ratings file {target} has no rows; add ratings or set ratings: null.")
    key = "output_id" if "output_id" in columns else "text"
    seen: dict[tuple[str, str], int] = {}
    scores = []
    for index, row in enumerate(frame.itertuples(index=False)):
        line = index + 2  # the header is line 1
        at = f"{target}:{line}"
        for column in (key, "concept"):
            problem = text_problem(str(getattr(row, column)))
            if problem:
                raise ConfigError(f"{at}: {column} {problem}; fill it in.")
        concept = row.concept
        if concepts is not None and concept not in concepts:
            raise ConfigError(
                f"{at}: unknown concept {concept!r}; the config's concepts are {list(concepts)}."
            )
        try:
            score = float(row.score)
        except ValueError:
            score = math.nan
        if not _is_score(score, integer=False):
            raise ConfigError(
                f"{at}: score {row.score!r} must be a number from {SCORE_RANGE[0]} to "
                f"{SCORE_RANGE[1]} (the judges' scale)."
            )
        pair = (str(getattr(row, key)), concept)
        if pair in seen:
            raise ConfigError(
                f"{at}: {key} {pair[0]!r:.60} is rated twice for {concept!r} (first at line "
                f"{seen[pair]}); keep one rating."
            )
        seen[pair] = line
        scores.append(score)
    frame["score"] = scores
    if key == "output_id":
        as_int = pd.to_numeric(frame["output_id"], errors="coerce")
        if as_int.notna().all() and (as_int == as_int.round()).all():
            frame["output_id"] = as_int.astype("int64")
    return frame


def load_judge_checks(path: str | Path) -> pd.DataFrame:
    """The labelled checks file (:func:`~steering.evaluation.judges.validation.load_checks`),
    with its errors as :class:`ConfigError` and the invisible-character rule applied."""
    from steering.evaluation.judges.validation import load_checks

    target = Path(path)
    if not target.is_file():
        raise ConfigError(f"Judge checks file {target} does not exist.")
    try:
        checks = load_checks(target)
    except UnicodeDecodeError:
        raise ConfigError(
            f"Judge checks file {target} is not UTF-8; re-save it as UTF-8."
        ) from None
    except ValueError as error:
        raise ConfigError(f"{error}; fix that line.") from None
    for row in checks.itertuples(index=False):
        for column in ("concept", "text"):
            problem = text_problem(getattr(row, column))
            if problem:
                raise ConfigError(f"{target}:{row.line}: field {column!r} {problem}; fix it.")
    return checks

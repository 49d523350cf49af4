"""Reading the experiment's input files: concept examples, prompts, judge rubrics, ratings.

Each reader refuses a bad file before any expensive work, with a message that names the file,
the line and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

from steering.evaluation.judges.base import Rubric

NEUTRAL = "neutral"
RUBRIC_KINDS = ("concept", "opposite", "bipolar")


class ConfigError(ValueError):
    """A configuration value or input file is invalid."""


def read_lines(
    path: str | Path, what: str = "line", *, keep_trailing_space: bool = False
) -> list[str]:
    """Read non-empty lines of a UTF-8 text file, refusing blank lines and duplicates.

    Raises:
        ConfigError: The file is missing, not UTF-8, has an empty or whitespace-only line, or
            repeats a line (the message names the file and the line numbers).
    """
    target = Path(path)
    if not target.is_file():
        raise ConfigError(f"{what} file {target} does not exist.")
    raw = target.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line_no = raw[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{target} is not UTF-8 (line {line_no}, byte {error.start}); re-save it as UTF-8."
        ) from error
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        if not line.strip():
            raise ConfigError(f"{target}:{number}: empty or whitespace-only {what}; remove it.")
        value = line if keep_trailing_space else line.strip()
        if value in seen:
            raise ConfigError(
                f"{target}:{number}: duplicate {what} (same as line {seen[value]}): {value[:60]!r}."
            )
        seen[value] = number
        out.append(value)
    return out


def concept_file(concepts_dir: str | Path, concept: str) -> Path:
    """Path of a concept's examples file."""
    return Path(concepts_dir) / f"{concept}.txt"


def load_examples(
    concepts_dir: str | Path, concepts: Sequence[str], needed: int
) -> tuple[dict[str, list[str]], list[str]]:
    """Read ``needed`` examples per concept and of the neutral set.

    Raises:
        ConfigError: A file is missing or has fewer than ``needed`` examples.
    """
    examples: dict[str, list[str]] = {}
    for concept in [*concepts, NEUTRAL]:
        path = concept_file(concepts_dir, concept)
        if not path.is_file():
            raise ConfigError(
                f"Concept {concept!r} has no examples file: {path} does not exist. Add it (one "
                "example per line) or remove the concept from 'concepts'."
            )
        lines = read_lines(path, "example")
        if len(lines) < needed:
            raise ConfigError(
                f"{path} has {len(lines)} examples but the largest 'n_examples' needs {needed}; "
                f"add {needed - len(lines)} more or lower 'n_examples'."
            )
        examples[concept] = lines[:needed]
    neutral = examples.pop(NEUTRAL)
    return examples, neutral


def load_prompts(path: str | Path) -> list[str]:
    """Task prompts, one per line, trailing spaces kept (``"Hello, "`` is not ``"Hello,"``)."""
    return read_lines(path, "prompt", keep_trailing_space=True)


def load_rubrics(
    shots_path: str | Path, concepts: Mapping[str, Mapping[str, str]]
) -> dict[tuple[str, str], Rubric]:
    """Build the three rubrics of every concept from the config and the few-shot file."""
    target = Path(shots_path)
    if not target.is_file():
        raise ConfigError(f"Judge shots file {target} does not exist.")
    data = yaml.safe_load(target.read_text(encoding="utf-8")) or {}
    version = data.get("rubric_version")
    if not isinstance(version, int):
        raise ConfigError(f"{target}: 'rubric_version' must be an integer, got {version!r}.")
    rubrics: dict[tuple[str, str], Rubric] = {}
    for concept, info in concepts.items():
        for kind in RUBRIC_KINDS:
            shots = (data.get(kind) or {}).get(concept)
            if not shots:
                raise ConfigError(f"{target}: no '{kind}' shots for concept {concept!r}.")
            pairs = tuple((str(s["text"]), int(s["score"])) for s in shots)
            description = info["opposite"] if kind == "opposite" else info["description"]
            rubrics[(kind, concept)] = Rubric(
                kind=kind,
                concept=concept,
                description=description,
                version=version,
                shots=pairs,
                opposite=info["opposite"] if kind == "bipolar" else "",
            )
    return rubrics


def load_ratings(path: str | Path) -> pd.DataFrame:
    """Human ratings CSV: columns ``concept``, ``score`` and ``output_id`` or ``text``."""
    target = Path(path)
    if not target.is_file():
        raise ConfigError(f"Ratings file {target} does not exist.")
    frame = pd.read_csv(target)
    missing = [c for c in ("concept", "score") if c not in frame.columns]
    if missing or not ({"output_id", "text"} & set(frame.columns)):
        need = missing + (
            [] if {"output_id", "text"} & set(frame.columns) else ["output_id or text"]
        )
        raise ConfigError(
            f"Ratings file {target} lacks columns {need}; it needs concept, score and "
            "output_id or text."
        )
    return frame


def safe_path(value: str, key: str, *, allow_external: bool) -> str:
    """Refuse config paths that leave the working directory, unless allowed."""
    if allow_external:
        return value
    path = Path(value)
    if path.is_absolute() or ".." in path.parts:
        raise ConfigError(
            f"{key}={value!r} points outside the working directory; use a relative path "
            "inside it, or set allow_external_paths: true."
        )
    return value

"""Experiment inputs: reading example and prompt files, and checks that need no model.

Everything here runs before any expensive work, so a typo fails in seconds with a message that
names the file, key or value at fault and how to fix it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import yaml

from steering.judges.base import Rubric

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
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{target} is not UTF-8 (line {line}, byte {error.start}); re-save it as UTF-8."
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
                f"{path} has {len(lines)} examples but the largest scale needs {needed}; add "
                f"{needed - len(lines)} more or lower 'scales'."
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


def check_config(config: Mapping[str, Any]) -> None:
    """Cross-field checks the JSON schema cannot express. Raises :class:`ConfigError`."""
    scales = list(config["scales"])
    if len(set(scales)) != len(scales):
        raise ConfigError(f"scales {scales} contain duplicates; list each scale once.")
    if scales != sorted(scales):
        raise ConfigError(f"scales {scales} must be strictly increasing.")
    if min(scales) < 2:
        raise ConfigError(f"scales {scales}: every scale must be >= 2 examples per concept.")
    strengths = config["strengths"]
    if not strengths:
        raise ConfigError("strengths is empty; give at least one strength such as [-1, 0, 1].")
    for value in strengths:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ConfigError(f"strengths contains {value!r}; every strength must be a number.")
    if len(set(strengths)) != len(strengths):
        raise ConfigError(f"strengths {strengths} contain duplicates.")
    n_concepts = len(config["concepts"])
    rank = config["fit"]["contamination_rank"]
    methods = set(config["fit"]["methods"]) | set(config["ablation"]["methods"])
    if rank is not None and rank >= n_concepts and methods & {"contamination", "dual"}:
        raise ConfigError(
            f"fit.contamination_rank={rank} must be below the number of concepts ({n_concepts}); "
            "it would project out the concepts themselves."
        )
    for scale in config["ablation"]["scales"]:
        if scale not in scales:
            raise ConfigError(f"ablation.scales has {scale}, which is not in scales {scales}.")
    if NEUTRAL in config["concepts"]:
        raise ConfigError("'neutral' is reserved for the neutral examples; rename that concept.")
    judge = config["judge"]
    if judge["backend"] == "openai":
        check_endpoint(judge.get("base_url"), judge.get("api_key_env"))
    allow = config["allow_external_paths"]
    for key, value in (
        ("results_dir", config["results_dir"]),
        ("data.concepts_dir", config["data"]["concepts_dir"]),
        ("data.prompts", config["data"]["prompts"]),
        ("judge.shots", judge["shots"]),
        ("judge.checks", judge["checks"]),
        ("judge.cache", judge["cache"]),
        ("judge.ratings", judge.get("ratings")),
    ):
        if value is not None:
            safe_path(value, key, allow_external=allow)


def check_endpoint(base_url: str | None, api_key_env: str | None) -> None:
    """Check an OpenAI-compatible judge endpoint's URL and key variable before any work."""
    parsed = urlparse(base_url or "")
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"judge.base_url={base_url!r} is not an http(s) URL with a host; "
            "use e.g. 'http://127.0.0.1:8000/v1'."
        )
    if api_key_env and not os.environ.get(api_key_env):
        raise ConfigError(
            f"judge.api_key_env names {api_key_env!r}, but that environment variable is unset; "
            f"export {api_key_env}=<your key> (the key is never written to any output)."
        )

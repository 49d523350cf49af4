"""Reading the experiment's input files: concept examples and prompts (the judge's files are read
by :mod:`steering.experiment.judge_inputs`).

Each reader refuses a bad file before any expensive work, with a message that names the file,
the line and how to fix it. Invisible characters follow one rule (:mod:`steering.experiment.text`):
a leading byte-order mark is removed; a blank line, an invisible character at a line's start or
end, and a control character are refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from steering.experiment.errors import ConfigError
from steering.experiment.text import read_text, text_problem

__all__ = [
    "NEUTRAL",
    "ConfigError",
    "check_concept_name",
    "concept_file",
    "load_examples",
    "load_prompts",
    "read_lines",
    "safe_path",
]

NEUTRAL = "neutral"
CONCEPT_NAME = re.compile(r"[^\W_][\w-]*")


def read_lines(
    path: str | Path, what: str = "line", *, keep_trailing_space: bool = False
) -> list[str]:
    """Read non-empty lines of a UTF-8 text file, refusing blank lines and duplicates.

    Raises:
        ConfigError: The file is missing, not UTF-8, has an empty or whitespace-only line (or one
            of only invisible characters), an invisible character at a line's start or end, a
            control character, or repeats a line (the message names the file and the line).
    """
    target = Path(path)
    lines = read_text(target, f"{what} file").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        if not line.strip():
            raise ConfigError(f"{target}:{number}: empty or whitespace-only {what}; remove it.")
        problem = text_problem(line)
        if problem:
            raise ConfigError(
                f"{target}:{number}: the {what} {problem}; delete that character (or the line)."
            )
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
    concepts_dir: str | Path, concepts: Sequence[str], needed: int, held_out: int = 0
) -> tuple[dict[str, list[str]], list[str]]:
    """Read the whole pool of examples of each concept and of the neutral set.

    Every line is returned (line ``i`` of a file is example ``i``, 0-based): a fit draws its
    subsets from the pool (:mod:`steering.evaluation.resampling`), never a fixed prefix.

    Args:
        concepts_dir: Folder with ``<concept>.txt`` and ``neutral.txt``.
        concepts: The concepts' names.
        needed: The largest number of examples a fit uses (max of ``n_examples`` and
            ``ablation.n_examples``).
        held_out: Examples held out of every fit (``data.held_out_examples``).

    Returns:
        ``(concept -> its pool of examples, the neutral pool)``.

    Raises:
        ConfigError: A file is missing or has fewer than ``needed + held_out`` examples (the
            message names the file, its count and the keys to change).
    """
    examples: dict[str, list[str]] = {}
    for concept in concepts:
        check_concept_name(concept)
    for concept in [*concepts, NEUTRAL]:
        path = concept_file(concepts_dir, concept)
        if not path.is_file():
            raise ConfigError(
                f"Concept {concept!r} has no examples file: {path} does not exist. Add it (one "
                "example per line) or remove the concept from 'concepts'."
            )
        lines = read_lines(path, "example")
        if len(lines) < needed + held_out:
            raise ConfigError(
                f"{path} has {len(lines)} examples but the largest n_examples ({needed}) plus "
                f"'data.held_out_examples' ({held_out}) need {needed + held_out}; add "
                f"{needed + held_out - len(lines)} more examples, or lower 'n_examples' / "
                "'ablation.n_examples' or 'data.held_out_examples'."
            )
        examples[concept] = lines
    neutral = examples.pop(NEUTRAL)
    return examples, neutral


def load_prompts(path: str | Path) -> list[str]:
    """Task prompts, one per line, trailing spaces kept (``"Hello, "`` is not ``"Hello,"``)."""
    return read_lines(path, "prompt", keep_trailing_space=True)


def load_calibration_prompts(path: str | Path, evaluation_prompts: Sequence[str]) -> list[str]:
    """Calibration prompts: held out, so none may also be an evaluation prompt.

    Raises:
        ConfigError: As :func:`load_prompts`, or a prompt is in both files (named).
    """
    prompts = load_prompts(path)
    shared = [p for p in prompts if p in set(evaluation_prompts)]
    if shared:
        raise ConfigError(
            f"{path} shares {len(shared)} prompt(s) with the evaluation prompts, e.g. "
            f"{shared[0]!r}; calibration prompts are held out: replace them with prompts the "
            "evaluation does not use."
        )
    return prompts


def safe_path(value: str, key: str, *, allow_external: bool) -> str:
    """Refuse an empty path, one with a control character, and (unless ``allow_external``) one
    that leaves the working directory: absolute or with ``..`` (a symbolic link the user made
    inside it, e.g. ``results`` on a scratch disk, is their choice and is followed)."""
    if not value.strip():
        raise ConfigError(
            f"{key}={value!r} is empty, which means the working directory itself; give a path "
            "such as the default in workflow/schemas/config.schema.yaml."
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(f"{key}={value!r} contains a control character; remove it.")
    if allow_external:
        return value
    path = Path(value)
    if path.is_absolute() or ".." in path.parts:
        raise ConfigError(
            f"{key}={value!r} points outside the working directory; use a relative path "
            "inside it, or set allow_external_paths: true."
        )
    return value


def check_concept_name(name: str) -> str:
    """Refuse a concept name that is unsafe as a file name (``<concepts_dir>/<name>.txt``)."""
    if not isinstance(name, str) or not CONCEPT_NAME.fullmatch(name):
        raise ConfigError(
            f"concept name {name!r} is not allowed: it becomes the file name "
            f"'<concepts_dir>/{name}.txt'. Use letters, digits, '_' and '-' only, starting with "
            "a letter or digit (no '/', '..', spaces or control characters)."
        )
    if name == NEUTRAL:
        raise ConfigError("'neutral' is reserved for the neutral examples; rename that concept.")
    return name

"""Experiment inputs: reading example and prompt files, and checks that need no model.

Everything here runs before any expensive work, so a typo fails in seconds with a message that
names the file, key or value at fault and how to fix it.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

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


# ---------------------------------------------------------------------------- config schema
def _default_filling_validator(schema: Mapping[str, Any]) -> Any:
    """A draft 2020-12 validator that fills ``default`` values recursively while validating.

    Like ``snakemake.utils.validate(..., set_default=True)``: a missing property with a
    ``default`` is inserted before its own subschema is checked, so an object defaulting to
    ``{}`` is then filled with the defaults of its properties.
    """
    from jsonschema import Draft202012Validator, validators

    base_properties = Draft202012Validator.VALIDATORS["properties"]

    def properties(validator: Any, props: Any, instance: Any, subschema: Any) -> Iterator[Any]:
        if isinstance(instance, dict):
            for name, prop_schema in props.items():
                if isinstance(prop_schema, dict) and "default" in prop_schema:
                    instance.setdefault(name, copy.deepcopy(prop_schema["default"]))
        yield from base_properties(validator, props, instance, subschema)

    filling = validators.extend(Draft202012Validator, {"properties": properties})
    return filling(schema)


def _key_path(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _close_match(word: Any, options: Sequence[Any]) -> str | None:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return close[0] if close else None


def _suggest(word: Any, options: Sequence[Any]) -> str:
    close = _close_match(word, options)
    return f"did you mean {close!r}? " if close else ""


_JSON_TYPES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of keys to values",
    "null": "null",
}


def _schema_error_message(error: Any) -> str:
    """One jsonschema error as a sentence naming the key path, the bad value and the fix."""
    parts = list(error.absolute_path)
    key = _key_path(parts)
    value = error.instance
    kind = error.validator
    arg = error.validator_value
    shown = f"config key {key!r} = {value!r}"
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list((error.schema.get("properties") or {}).keys())
        unknown = [k for k in value if k not in allowed]
        lines = []
        for name in unknown:
            full = _key_path([*parts, name])
            close = _close_match(name, allowed)
            hint = f"did you mean {_key_path([*parts, close])!r}? " if close else ""
            lines.append(
                f"config key {full!r} is not allowed (unknown key); {hint}valid keys"
                f"{' of ' + repr(key) if parts else ''}: {', '.join(allowed)}. Fix the "
                "spelling or remove it."
            )
        return "\n".join(lines)
    if kind == "required":
        missing = [name for name in arg if not isinstance(value, dict) or name not in value]
        return (
            f"config key {key!r} lacks required key(s) {missing}; add "
            + ", ".join(f"{_key_path([*parts, m])!r}" for m in missing)
            + "."
        )
    if kind == "type":
        wanted = arg if isinstance(arg, list) else [arg]
        names = " or ".join(_JSON_TYPES.get(str(t), str(t)) for t in wanted)
        return f"{shown} has type {type(value).__name__}; it must be {names}."
    if kind == "enum":
        return f"{shown} is not allowed; {_suggest(value, arg)}use one of {list(arg)}."
    if kind == "minimum":
        return f"{shown}: must be >= {arg}."
    if kind == "exclusiveMinimum":
        return f"{shown}: must be > {arg}."
    if kind == "maximum":
        return f"{shown}: must be <= {arg}."
    if kind == "exclusiveMaximum":
        return f"{shown}: must be < {arg}."
    if kind == "minItems":
        return f"{shown}: must have at least {arg} item(s); add some."
    if kind == "minProperties":
        return f"{shown}: must have at least {arg} entr{'y' if arg == 1 else 'ies'}; add some."
    if kind == "minLength":
        return f"{shown}: must not be empty; give a value."
    return f"config key {key!r}: {error.message}"


def validate_config(config: Mapping[str, Any], schema_path: str | Path) -> dict[str, Any]:
    """Fill the schema's defaults into a copy of ``config``, validate it and cross-check it.

    Args:
        config: The configuration as read from YAML (not modified).
        schema_path: The JSON schema (YAML or JSON, draft 2020-12) with ``default`` values.

    Returns:
        A new dict: ``config`` with every default filled in, recursively.

    Raises:
        ConfigError: Naming every offending key path, its value and how to fix it (unknown
            keys get a close-match suggestion), or a failure of :func:`check_config`.
    """
    from jsonschema.exceptions import best_match, relevance

    schema_file = Path(schema_path)
    if not schema_file.is_file():
        raise ConfigError(f"Config schema {schema_file} does not exist.")
    schema = yaml.safe_load(schema_file.read_text(encoding="utf-8"))
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"The config must be a mapping of keys to values, got {type(config).__name__}."
        )
    filled: dict[str, Any] = copy.deepcopy(dict(config))
    _parse_string_containers(filled, schema)
    validator = _default_filling_validator(schema)
    errors = sorted(validator.iter_errors(filled), key=relevance)
    if errors:
        # Report the deepest useful error of each failing subschema, most relevant first.
        messages: list[str] = []
        for error in errors:
            if error.context:
                error = best_match(error.context)
            message = _schema_error_message(error)
            if message not in messages:
                messages.append(message)
        raise ConfigError("Invalid config:\n" + "\n".join(messages))
    check_config(filled)
    return filled


_YAML_TYPES: dict[str, tuple[type, ...]] = {
    "array": (list,),
    "object": (dict,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _from_command_line(value: Any, schema: Mapping[str, Any], *, in_list: bool = False) -> Any:
    """Parse a string that should have been a list, mapping or number (Snakemake's ``--config``
    passes ``scales=[2,8]`` as a string or as a list of strings), where the schema does not allow
    a string and the parsed value has an allowed type; anything else is left for the validator.
    Scalars are parsed only inside lists: a quoted number in a config file stays an error.
    """
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    container = bool({"array", "object"} & set(types))
    if isinstance(value, str) and "string" not in types and (container or in_list):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        allowed = tuple(t for name in types for t in _YAML_TYPES.get(name, ()))
        is_bool_for_number = isinstance(parsed, bool) and "boolean" not in types
        if allowed and isinstance(parsed, allowed) and not is_bool_for_number:
            value = parsed
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        value = [_from_command_line(item, schema["items"], in_list=True) for item in value]
    if isinstance(value, dict):
        _parse_string_containers(value, schema)
    return value


def _parse_string_containers(config: dict[str, Any], schema: Mapping[str, Any]) -> None:
    """Apply :func:`_from_command_line` to every key that the schema describes."""
    properties = schema.get("properties", {})
    for key, value in list(config.items()):
        sub = properties.get(key)
        if isinstance(sub, Mapping):
            config[key] = _from_command_line(value, sub)


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
        raise ConfigError(
            f"config key 'scales' = {scales} contains duplicates; list each scale once."
        )
    if scales != sorted(scales):
        raise ConfigError(
            f"config key 'scales' = {scales} must be strictly increasing; sort them, e.g. "
            f"{sorted(set(scales))}."
        )
    if min(scales) < 2:
        raise ConfigError(
            f"config key 'scales' = {scales}: every scale must be >= 2 examples per concept; "
            "drop the smaller ones."
        )
    strengths = config["strengths"]
    if not strengths:
        raise ConfigError(
            "config key 'strengths' is empty; give at least one strength such as [-1, 0, 1]."
        )
    for value in strengths:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ConfigError(
                f"config key 'strengths' contains {value!r}; every strength must be a finite "
                "number such as 0.5."
            )
    if len(set(strengths)) != len(strengths):
        raise ConfigError(
            f"config key 'strengths' = {strengths} contains duplicates; list each strength once."
        )
    n_concepts = len(config["concepts"])
    rank = config["fit"]["contamination_rank"]
    methods = set(config["fit"]["methods"]) | set(config["ablation"]["methods"])
    if rank is not None and rank >= n_concepts and methods & {"contamination", "dual"}:
        raise ConfigError(
            f"config key 'fit.contamination_rank' = {rank} must be below the number of concepts "
            f"({n_concepts}); it would project out the concepts themselves. Use at most "
            f"{n_concepts - 1}, null (pick by energy), or add concepts."
        )
    for scale in config["ablation"]["scales"]:
        if scale not in scales:
            raise ConfigError(
                f"config key 'ablation.scales' has {scale}, which is not in 'scales' {scales}; "
                "use one of those scales or add it to 'scales'."
            )
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

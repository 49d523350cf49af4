"""Validating the experiment config: schema defaults filled in, errors that name the fix.

The JSON schema (workflow/schemas/config.schema.yaml) is the one home of every default;
:func:`validate_config` fills them in while validating, and :func:`check_config` adds the
cross-field checks the schema cannot express.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from steering.evaluation.judges.endpoint import check_base_url
from steering.experiment.command_line import parse_command_line_values
from steering.experiment.inputs import ConfigError, check_concept_name, safe_path
from steering.experiment.text import text_problem

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


_JSON_TYPES = {"integer": "an integer", "number": "a number", "string": "a string",
               "boolean": "true or false", "array": "a list",
               "object": "a mapping of keys to values", "null": "null"}


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
    if kind == "uniqueItems":
        return f"{shown} lists an item more than once; list each once."
    if kind == "minLength":
        return f"{shown}: must not be empty; give a value."
    return f"config key {key!r}: {error.message}"


def validate_config(
    config: Mapping[str, Any],
    schema_path: str | Path,
    *,
    file_configs: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Fill the schema's defaults into a copy of ``config``, validate it and cross-check it.

    Args:
        config: The configuration as read from YAML (not modified).
        schema_path: The JSON schema (YAML or JSON, draft 2020-12) with ``default`` values.
        file_configs: The config files as read (strictly); given, a string inside a mapping
            that no file holds came from ``--config`` and gets its YAML type
            (:mod:`steering.experiment.command_line`).

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
    _refuse_renamed_keys(config)
    filled: dict[str, Any] = copy.deepcopy(dict(config))
    parse_command_line_values(filled, schema, file_configs)
    _refuse_non_finite(filled, schema)
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


RENAMED_KEYS = {("scales",): "n_examples", ("ablation", "scales"): "ablation.n_examples"}


def _refuse_renamed_keys(config: Mapping[str, Any]) -> None:
    """Name the new key of a key that was renamed (an old config must not silently default)."""
    for path, new in RENAMED_KEYS.items():
        node: Any = config
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            raise ConfigError(
                f"config key {'.'.join(path)!r} was renamed; rename it to {new!r} (the number "
                "of examples per concept)."
            )


def _schema_at(schema: Mapping[str, Any], key: Any) -> Mapping[str, Any]:
    if isinstance(key, int):
        items = schema.get("items")
        return items if isinstance(items, Mapping) else {}
    sub = (schema.get("properties") or {}).get(key, schema.get("additionalProperties"))
    return sub if isinstance(sub, Mapping) else {}


def _refuse_non_finite(node: Any, schema: Mapping[str, Any], path: tuple[Any, ...] = ()) -> None:
    """Refuse NaN and infinity anywhere (YAML's .nan/.inf), naming the key and its default."""
    if isinstance(node, float) and not math.isfinite(node):
        default = schema.get("default")
        hint = f" (default: {default})" if default is not None else ""
        raise ConfigError(
            f"config key {_key_path(path)!r} = {node} is not a finite number; NaN and infinity "
            f"are refused. Give a number{hint}."
        )
    if isinstance(node, (dict, list)):
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            _refuse_non_finite(value, _schema_at(schema, key), (*path, key))


def check_config(config: Mapping[str, Any]) -> None:
    """Cross-field checks the JSON schema cannot express. Raises :class:`ConfigError`."""
    counts = list(config["n_examples"])
    if len(set(counts)) != len(counts) or counts != sorted(counts):
        raise ConfigError(
            f"config key 'n_examples' = {counts} must be strictly increasing without duplicates; "
            f"use e.g. {sorted(set(counts))}."
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
    for n in config["ablation"]["n_examples"]:
        if n not in counts:
            raise ConfigError(
                f"config key 'ablation.n_examples' has {n}, which is not in 'n_examples' "
                f"{counts}; use one of those or add it to 'n_examples'."
            )
    for name, info in config["concepts"].items():
        check_concept_name(name)
        for field in ("description", "opposite"):
            problem = text_problem(info[field])
            if problem:
                raise ConfigError(
                    f"config key 'concepts.{name}.{field}' = {info[field]!r:.60} {problem}; "
                    "write what the judge should rate, e.g. 'animals'."
                )
    judge = config["judge"]
    if judge["backend"] == "openai":
        check_endpoint(judge.get("base_url"), judge.get("api_key_env"))
    allow = config["allow_external_paths"]
    for key, value in (
        ("results_dir", config["results_dir"]),
        ("data.concepts_dir", config["data"]["concepts_dir"]),
        ("data.prompts", config["data"]["prompts"]),
        ("data.calibration_prompts", config["data"]["calibration_prompts"]),
        ("data.lexicons_dir", config["data"]["lexicons_dir"]),
        ("judge.shots", judge["shots"]),
        ("judge.checks", judge["checks"]),
        ("judge.cache", judge["cache"]),
        ("judge.ratings", judge.get("ratings")),
    ):
        if value is not None:
            safe_path(value, key, allow_external=allow)


def check_endpoint(base_url: str | None, api_key_env: str | None) -> None:
    """Check an OpenAI-compatible judge endpoint's URL and key variable before any work."""
    try:
        check_base_url(base_url, "judge.base_url")
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if api_key_env and not ENV_NAME.fullmatch(api_key_env):
        # Never echo the value: a key pasted here by mistake would land in the logs.
        raise ConfigError(
            "judge.api_key_env must be the NAME of an environment variable holding the key "
            "(letters, digits and _, e.g. OPENAI_API_KEY), not the key itself; the value given "
            "is not shown. Export the key as that variable and put its name here."
        )
    if api_key_env and not os.environ.get(api_key_env):
        raise ConfigError(
            f"judge.api_key_env names {api_key_env!r}, but that environment variable is unset; "
            f"export {api_key_env}=<your key> (the key is never written to any output)."
        )

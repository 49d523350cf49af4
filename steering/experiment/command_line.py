"""Giving values from Snakemake's ``--config`` their YAML types.

Snakemake parses ``--config key=value`` itself: a number or a boolean at the top level gets its
type, but a list or mapping is read with YAML's *base* loader, so every scalar inside it is a
string (``generation={"max_new_tokens": 4}`` gives ``{"max_new_tokens": "4"}``). Here such
strings are parsed as YAML where the schema does not allow a string and the parsed value has an
allowed type; anything else is left for the validator to refuse.

A quoted number in a config *file* must stay an error, so scalars inside a mapping are parsed
only when the caller passes the config files (``file_configs``) and no file holds that string
at that key; list items are parsed wherever they come from (as before).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from steering.experiment.errors import ConfigError
from steering.experiment.yaml_strict import loads

_YAML_TYPES: dict[str, tuple[type, ...]] = {
    "array": (list,),
    "object": (dict,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}

Path = tuple[str, ...]


def _types(schema: Mapping[str, Any]) -> list[str]:
    types = schema.get("type", [])
    return [types] if isinstance(types, str) else list(types)


def _typed(value: str, types: list[str]) -> Any:
    """``value`` parsed as YAML if that gives one of ``types`` (never a bool for a number)."""
    try:
        parsed = loads(value, "--config value")
    except ConfigError:
        return value
    allowed = tuple(t for name in types for t in _YAML_TYPES.get(name, ()))
    is_bool_for_number = isinstance(parsed, bool) and "boolean" not in types
    if allowed and isinstance(parsed, allowed) and not is_bool_for_number:
        return parsed
    return value


def _string_leaves(node: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _string_leaves(value, (*path, str(key)))
    elif isinstance(node, str):
        yield path, node


class _Parser:
    def __init__(self, file_configs: Sequence[Mapping[str, Any]] | None) -> None:
        self.typed_mappings = file_configs is not None
        self.from_files = {leaf for f in file_configs or () for leaf in _string_leaves(f)}

    def from_command_line(self, path: Path, value: str) -> bool:
        return self.typed_mappings and (path, value) not in self.from_files

    def value(self, value: Any, schema: Mapping[str, Any], path: Path, *, in_list: bool) -> Any:
        types = _types(schema)
        container = bool({"array", "object"} & set(types))
        if isinstance(value, str) and "string" not in types and (
            container or in_list or self.from_command_line(path, value)
        ):
            value = _typed(value, types)
        if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
            value = [self.value(v, schema["items"], path, in_list=True) for v in value]
        if isinstance(value, dict):
            self.mapping(value, schema, path)
        return value

    def mapping(self, config: dict[str, Any], schema: Mapping[str, Any], path: Path) -> None:
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in list(config.items()):
            sub = properties.get(key, extra)
            if isinstance(sub, Mapping):
                config[key] = self.value(value, sub, (*path, str(key)), in_list=False)


def parse_command_line_values(
    config: dict[str, Any],
    schema: Mapping[str, Any],
    file_configs: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Parse, in place, the strings of ``config`` that came from ``--config`` (module docstring).

    Args:
        config: The merged config (modified in place).
        schema: The config's JSON schema.
        file_configs: The config files as read; None parses lists and whole-container strings
            only (a string scalar inside a mapping then stays a string).
    """
    _Parser(file_configs).mapping(config, schema, ())

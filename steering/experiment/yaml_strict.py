"""Strict reading of YAML and JSON config and data files.

Plain ``yaml.safe_load`` accepts two things that go wrong quietly: an alias (``*name``) that
can expand a small file into gigabytes (the "billion laughs"), and a key written twice, whose
second value silently replaces the first. Both are refused here, with the file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from steering.experiment.errors import ConfigError
from steering.experiment.text import read_text, strip_bom


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses aliases and duplicate keys."""

    source = "<string>"

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ConfigError(
                f"{self.source}:{event.start_mark.line + 1}: YAML alias '*{event.anchor}' is not "
                "allowed (aliases can expand a small file into an enormous one); write the "
                "value out in full."
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    seen = first.get(key)
                except TypeError:
                    continue  # an unhashable key: the base loader reports it
                if seen is not None:
                    raise ConfigError(
                        f"{self.source}:{line}: key {key!r} appears twice in the same mapping "
                        f"(first at line {seen}); keep one of them (YAML would silently use the "
                        "last)."
                    )
                first[key] = line
        return super().construct_mapping(node, deep=deep)


def _refuse_duplicate_json_keys(source: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ConfigError(
                    f"{source}: key {key!r} appears twice in the same JSON object; keep one of "
                    "them (JSON readers silently use the last)."
                )
            out[key] = value
        return out

    return hook


def loads(text: str, source: str = "<string>") -> Any:
    """Parse YAML (or JSON) text strictly; ``source`` names it in errors.

    Raises:
        ConfigError: An alias, a duplicate key, nesting too deep or invalid syntax; the message
            names ``source`` and the line.
    """
    text = strip_bom(text)
    loader = _StrictLoader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(
            f"{where}: not valid YAML ({str(problem)[:200]}); fix the syntax."
        ) from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to read; flatten it.") from None
    finally:
        loader.dispose()


def load_file(path: str | Path, what: str = "YAML file") -> Any:
    """Read a YAML or JSON file strictly (a ``.json`` file, or one that parses as JSON, is read
    as JSON with duplicate keys refused).

    Raises:
        ConfigError: The file is missing or not UTF-8, or :func:`loads` refuses it.
    """
    target = Path(path)
    text = read_text(target, what)
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicate_json_keys(str(target)))
    except ValueError as error:
        if isinstance(error, ConfigError):
            raise
    except RecursionError:
        raise ConfigError(f"{target}: nested too deeply to read; flatten it.") from None
    return loads(text, str(target))


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A config file (YAML or JSON) read strictly; it must be a mapping (empty = ``{}``)."""
    data = load_file(path, "Config file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"Config file {path} must be a mapping of keys to values, got {type(data).__name__}."
        )
    return data

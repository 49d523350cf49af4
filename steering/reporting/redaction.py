"""Keeping secrets out of the report.

Config entries whose name suggests a secret are redacted (names of environment variables, such
as ``api_key_env``, are kept), strings that look like API keys are redacted, and the values of
secret-looking environment variables (and of those the config names) never appear in the text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Final

REDACTED: Final[str] = "[redacted]"

_SECRET_WORDS: Final[frozenset[str]] = frozenset(
    {"key", "apikey", "secret", "token", "password", "passwd", "credential", "credentials", "auth"}
)
_SECRET_VALUE = re.compile(
    r"\b(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{8,}|AKIA[0-9A-Z]{12,}"
    r"|gh[pousr]_[A-Za-z0-9]{16,}|xox[abp]-[A-Za-z0-9\-]{8,})"
)
_MIN_SECRET_LEN: Final[int] = 6
_ENV_NAME_SUFFIXES: Final[tuple[str, ...]] = ("_env", "_var")


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one mapping with dotted keys (``{"a": {"b": 1}}`` -> ``a.b``)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _has_secret_word(name: str) -> bool:
    return any(part in _SECRET_WORDS for part in re.split(r"[_\-.\s]+", name.lower()))


def _names_env_var(name: str) -> bool:
    return name.rsplit(".", 1)[-1].lower().endswith(_ENV_NAME_SUFFIXES)


def _is_secret_name(name: str) -> bool:
    if _names_env_var(name):
        return False  # the NAME of an environment variable, not its value
    return _has_secret_word(name.rsplit(".", 1)[-1])


def redact_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The flattened config with the values of secret-looking entries replaced by ``[redacted]``."""
    return {
        name: REDACTED if _is_secret_name(name) and value not in (None, "") else value
        for name, value in flatten_config(config).items()
    }


def secret_values(config: Mapping[str, Any]) -> list[str]:
    """Values that must never be printed, longest first.

    They are: the values of environment variables the config names (``*_env``, ``*_var``) or whose
    names look secret, and the config's own secret-looking string values.
    """
    flat = flatten_config(config)
    names = {str(v) for n, v in flat.items() if isinstance(v, str) and _names_env_var(n)}
    names |= {n for n in os.environ if _has_secret_word(n)}
    values = {os.environ.get(n, "") for n in names}
    values |= {str(v) for n, v in flat.items() if _is_secret_name(n) and isinstance(v, str)}
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret and every API-key-looking string replaced by ``[redacted]``."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return _SECRET_VALUE.sub(REDACTED, text)

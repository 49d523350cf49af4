"""What the judge client is given and what it reads back, checked: the API root URL, the API
key (read from the environment, never shown), Retry-After headers, excerpts of answers.

Config validation uses :func:`check_base_url` too, so a bad URL is refused before any work,
with the same message.
"""

from __future__ import annotations

import email.utils
import math
import os
import re
import urllib.parse
from datetime import datetime, timezone
from typing import Any

_EXCERPT_CHARS = 300
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXAMPLE_URL = "'http://127.0.0.1:8000/v1'"


class Secret:
    """Holds an API key so that it never shows up in ``repr`` or ``vars`` dumps."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself."""
        return self._value

    def __repr__(self) -> str:
        return "<secret>"


def check_base_url(url: Any, what: str) -> str:
    """Check an API root URL and return it without a trailing slash.

    Args:
        url: The URL to check (anything; ``None`` is refused like a malformed URL).
        what: What the URL is, as the error message names it (``"judge.base_url"``).

    Raises:
        ValueError: The URL is not http(s) with a host, or embeds credentials, a query or a
            fragment; the message names ``what`` and the value (credentials redacted).
    """
    hint = f"use e.g. {_EXAMPLE_URL}."
    if not isinstance(url, str):
        raise ValueError(f"{what}={url!r} is not an http(s) URL with a host; {hint}")
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises ValueError on a non-numeric port
    except ValueError as exc:
        raise ValueError(f"{what}={url!r} is not a valid URL ({exc}); {hint}") from None
    if parts.username is not None or parts.password is not None:
        redacted = parts._replace(netloc=f"***@{parts.hostname}").geturl()
        raise ValueError(
            f"{what}={redacted!r} embeds credentials; remove them and put the API key in an "
            "environment variable named by api_key_env."
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what}={url!r} is not an http(s) URL with a host; {hint}")
    if parts.query or parts.fragment:
        raise ValueError(
            f"{what}={url!r} must not have a query or fragment; pass the API root, {hint}"
        )
    return url.rstrip("/")


def read_api_key(api_key_env: str | None) -> Secret | None:
    """Read the API key from the environment variable named ``api_key_env``.

    Raises:
        ValueError: The name is not a valid variable name (likely the key itself) or the
            variable is unset or empty.
    """
    if api_key_env is None:
        return None
    if not _ENV_NAME.fullmatch(api_key_env):
        # Never echo the value: a common mistake is passing the key itself here.
        raise ValueError(
            "api_key_env must be the NAME of an environment variable holding the key "
            f"(e.g. 'OPENAI_API_KEY'), not the key itself; got a {len(api_key_env)}-character "
            "value that is not a valid variable name"
        )
    key = os.environ.get(api_key_env)
    if not key:
        state = "is empty" if key == "" else "is not set"
        raise ValueError(
            f"environment variable {api_key_env} (api_key_env) {state}; export it with the "
            "judge API key, or pass api_key_env=None for a server without authentication"
        )
    return Secret(key)


def parse_retry_after(value: str | None) -> float | None:
    """Parse a Retry-After header (delta seconds or HTTP date) into seconds, if present."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def excerpt(text: str) -> str:
    """Shorten ``text`` for an error message."""
    text = text.strip()
    if len(text) <= _EXCERPT_CHARS:
        return repr(text)
    return repr(text[:_EXCERPT_CHARS]) + f"... ({len(text)} chars)"

"""A small retrying JSON-over-HTTP client (standard library only) and the checks it needs.

Used by :class:`steering.evaluation.judges.openai.OpenAIJudge`; config validation uses
:func:`check_base_url` so a bad URL is refused before any work, with the same message.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import json
import logging
import math
import os
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

from steering.evaluation.judges.base import JudgeError

T = TypeVar("T")
log = logging.getLogger(__name__)

_EXCERPT_CHARS = 300
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXAMPLE_URL = "'http://127.0.0.1:8000/v1'"


class RetryableError(Exception):
    """One attempt failed in a way worth retrying (429, 5xx, timeout, bad answer)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turn redirects into errors: urllib would silently re-send a POST as a bodyless GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Deadline:
    """Shuts a request's socket down when its overall deadline passes.

    A socket timeout bounds each read, not the request: a server that sends one byte at a
    time would keep a request alive indefinitely. This watchdog bounds connect + all reads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.expired = False

    def attach(self, sock: socket.socket | None) -> None:
        """Watch ``sock`` (shutting it down at once if the deadline already passed)."""
        with self._lock:
            self._sock = sock
            if self.expired:
                self._shutdown()

    def expire(self) -> None:
        """The deadline passed: stop the request's socket."""
        with self._lock:
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        """Shut the watched socket down, unblocking any read (caller holds the lock)."""
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed
                self._sock.shutdown(socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection], deadline: _Deadline) -> Any:
    """A connection class like ``base`` whose socket ``deadline`` watches once connected."""

    class Watched(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            deadline.attach(self.sock)

    return Watched


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    """HTTP handler whose connections are watched by a :class:`_Deadline`."""

    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPConnection, self._deadline), req)


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    """HTTPS handler whose connections are watched by a :class:`_Deadline`."""

    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        extra = {}
        if hasattr(self, "_check_hostname"):  # Python < 3.12
            extra["check_hostname"] = self._check_hostname
        return self.do_open(
            _watched(http.client.HTTPSConnection, self._deadline),
            req,
            context=self._context,  # type: ignore[attr-defined]
            **extra,
        )


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


class RetryingClient:
    """POSTs JSON to one endpoint, retrying transient failures with exponential backoff.

    429, 5xx, timeouts, connection errors, malformed JSON and answers the caller's parser
    refuses (by raising :class:`RetryableError`) are retried; any other HTTP status fails at
    once. Redirects are errors. The API key is sent as ``Authorization: Bearer`` and removed
    from anything the server echoes back.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        api_key_env: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        logger: logging.Logger | None = None,
    ) -> None:
        """Create a client.

        Args:
            endpoint: Full URL requests are POSTed to.
            api_key_env: NAME of the environment variable holding the API key (read now);
                ``None`` for servers without authentication.
            timeout: Overall deadline per request (connect and every read together), in
                seconds; a server that trickles its answer fails (and is retried) at it.
            max_retries: Retries after the first attempt (so ``max_retries + 1`` tries).
            backoff: Base delay in seconds; attempt ``n`` waits about ``backoff * 2**(n-1)``
                (with jitter), or the server's Retry-After, both capped at ``max_backoff``.
            max_backoff: Upper bound on any single wait, in seconds.
            logger: Where retries are logged (the caller's logger, by default this module's).

        Raises:
            ValueError: An unset/empty key variable or an out-of-range number.
        """
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        if not backoff >= 0 or not max_backoff >= 0:
            raise ValueError(
                f"backoff and max_backoff must be >= 0 seconds, got {backoff!r}, {max_backoff!r}"
            )
        self.endpoint = endpoint
        self.api_key_env = api_key_env
        self._api_key = read_api_key(api_key_env)
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self._log = logger or log

    def __repr__(self) -> str:
        return f"RetryingClient({self.endpoint!r}, api_key_env={self.api_key_env!r})"

    def post(self, payload: Mapping[str, Any], parse: Callable[[Any], T]) -> T:
        """POST ``payload`` as JSON and return ``parse(response JSON)``, retrying as above.

        Raises:
            JudgeError: The request failed for good (the message names the endpoint).
        """
        body = json.dumps(payload).encode("utf-8")
        tries = self.max_retries + 1
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(body, parse)
            except RetryableError as exc:
                if attempt >= tries:
                    raise JudgeError(
                        f"judge endpoint {self.endpoint} failed after {tries} tries: {exc}"
                    ) from None
                delay = self._delay(attempt, exc.retry_after)
                self._log.info(
                    "judge endpoint %s attempt %d/%d failed (%s); retrying in %.2fs",
                    self.endpoint,
                    attempt,
                    tries,
                    exc,
                    delay,
                )
                time.sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        exponential = self.backoff * 2 ** (attempt - 1)
        return min(exponential * random.uniform(0.5, 1.0), self.max_backoff)

    def _redact(self, text: str) -> str:
        """Remove the API key from text that came back from the server."""
        if self._api_key is None:
            return text
        return text.replace(self._api_key.reveal(), "<redacted>")

    def _attempt(self, body: bytes, parse: Callable[[Any], T]) -> T:
        """Send one request and parse its answer.

        Raises:
            RetryableError: On 429, 5xx, timeouts, connection errors and malformed answers.
            JudgeError: On any other HTTP status (fails at once).
        """
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        deadline = _Deadline()
        opener = urllib.request.build_opener(
            _NoRedirect(), _DeadlineHTTPHandler(deadline), _DeadlineHTTPSHandler(deadline)
        )
        timer = threading.Timer(self.timeout, deadline.expire)
        timer.daemon = True
        timed_out = RetryableError(
            f"timed out: no complete answer within judge timeout={self.timeout:g}s "
            "(connect and all reads together); raise the timeout if the server is just slow"
        )
        timer.start()
        try:
            with opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if deadline.expired:
                raise timed_out from None
            raise self._http_error(exc) from None
        except TimeoutError:
            raise timed_out from None
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if deadline.expired or isinstance(reason, TimeoutError):
                raise timed_out from None
            raise RetryableError(f"connection error: {reason}") from None
        finally:
            timer.cancel()
        if deadline.expired:  # the socket was shut mid-answer: ``raw`` may be truncated
            raise timed_out
        text = raw.decode("utf-8", errors="replace")
        try:
            answer = json.loads(text)
        except json.JSONDecodeError:
            raise RetryableError(f"malformed JSON: {excerpt(self._redact(text))}") from None
        try:
            return parse(answer)
        except RetryableError as exc:
            raise RetryableError(self._redact(str(exc))) from None

    def _http_error(self, exc: urllib.error.HTTPError) -> Exception:
        """The error to raise for an HTTP error status: retryable or final, with a hint."""
        try:
            detail = exc.read().decode("utf-8", errors="replace")
        except (OSError, http.client.HTTPException):
            detail = ""
        detail = excerpt(self._redact(detail))
        if exc.code == 429 or exc.code >= 500:
            retry_after = parse_retry_after(exc.headers.get("Retry-After"))
            return RetryableError(f"HTTP {exc.code}: {detail}", retry_after)
        hint = ""
        if exc.code in (401, 403):
            hint = f" (check the key in {self.api_key_env or 'api_key_env'})"
        elif exc.code == 404:
            hint = " (check base_url ends with the API root, e.g. /v1, and the model name)"
        elif 300 <= exc.code < 400:
            hint = f" (redirected to {exc.headers.get('Location')!r}; fix base_url)"
        return JudgeError(
            f"judge endpoint {self.endpoint} rejected the request with HTTP {exc.code}"
            f"{hint}: {detail}"
        )

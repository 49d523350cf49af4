"""A small retrying JSON-over-HTTP client (standard library only).

Used by :class:`steering.evaluation.judges.openai.OpenAIJudge`. Its inputs (URL, API key) and
answer helpers are :mod:`steering.evaluation.judges.endpoint`; the per-request deadline is
:mod:`steering.evaluation.judges.deadline`.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from steering.evaluation.judges.base import JudgeError
from steering.evaluation.judges.deadline import (
    Deadline,
    DeadlineHTTPHandler,
    DeadlineHTTPSHandler,
    NoRedirect,
)
from steering.evaluation.judges.endpoint import excerpt, parse_retry_after, read_api_key

T = TypeVar("T")
log = logging.getLogger(__name__)


class RetryableError(Exception):
    """One attempt failed in a way worth retrying (429, 5xx, timeout, bad answer)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


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
        deadline = Deadline()
        opener = urllib.request.build_opener(
            NoRedirect(), DeadlineHTTPHandler(deadline), DeadlineHTTPSHandler(deadline)
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

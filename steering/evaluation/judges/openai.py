"""Judge backed by any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, OpenAI).

Only the standard library is used: ``urllib.request`` for HTTP and a thread pool for bounded
concurrency.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import math
import os
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from typing import Any

from steering.evaluation.judges.base import (
    PROMPT_FORMAT,
    JudgeError,
    Rubric,
    expected_digit,
    rubric_messages,
    to_ten_scale,
)

__all__ = ["JudgeError", "OpenAIJudge"]

logger = logging.getLogger(__name__)

TOP_LOGPROBS = 20
"""How many alternatives per token are requested (OpenAI's maximum)."""

_EXCERPT_CHARS = 300
_DIGITS = "0123456789"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _RetryableError(Exception):
    """One attempt failed in a way worth retrying (429, 5xx, timeout, bad answer)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Abandoned(Exception):
    """Internal: a text was skipped because another text already failed for good."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turn redirects into errors: urllib would silently re-send a POST as a bodyless GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Secret:
    """Holds the API key so that it never shows up in ``repr`` or ``vars`` dumps."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"


def _validate_base_url(base_url: str) -> str:
    """Check ``base_url`` and return it without a trailing slash.

    Raises:
        ValueError: If the URL is not http(s) with a host, or embeds credentials/query/fragment.
    """
    try:
        parts = urllib.parse.urlsplit(base_url)
        _ = parts.port  # raises ValueError on a non-numeric port
    except ValueError as exc:
        raise ValueError(f"invalid judge base_url {base_url!r}: {exc}") from None
    if parts.username is not None or parts.password is not None:
        redacted = parts._replace(netloc=f"***@{parts.hostname}").geturl()
        raise ValueError(
            f"judge base_url {redacted!r} embeds credentials; remove them and put the API key "
            "in an environment variable named by api_key_env"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"invalid judge base_url {base_url!r}: expected http(s)://host[:port]/path, "
            "e.g. 'http://127.0.0.1:8000/v1'"
        )
    if parts.query or parts.fragment:
        raise ValueError(
            f"judge base_url {base_url!r} must not have a query or fragment; pass the API root, "
            "e.g. 'http://127.0.0.1:8000/v1'"
        )
    return base_url.rstrip("/")


def _read_api_key(api_key_env: str | None) -> _Secret | None:
    """Read the API key from the environment variable named ``api_key_env``.

    Raises:
        ValueError: If the name is not a valid variable name (likely the key itself) or the
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
    return _Secret(key)


def _parse_retry_after(value: str | None) -> float | None:
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


def _excerpt(text: str) -> str:
    """Shorten ``text`` for an error message."""
    text = text.strip()
    if len(text) <= _EXCERPT_CHARS:
        return repr(text)
    return repr(text[:_EXCERPT_CHARS]) + f"... ({len(text)} chars)"


def _digit_weights(entry: dict[str, Any]) -> dict[int, float]:
    """Collect probability mass per digit from one logprobs ``content`` entry."""
    candidates: list[tuple[Any, Any]] = []
    for alt in entry.get("top_logprobs") or []:
        if isinstance(alt, dict):
            candidates.append((alt.get("token"), alt.get("logprob")))
    chosen = (entry.get("token"), entry.get("logprob"))
    if chosen[0] not in {token for token, _ in candidates}:
        candidates.append(chosen)
    weights: dict[int, float] = {}
    for token, logprob in candidates:
        if not isinstance(token, str) or isinstance(logprob, bool):
            continue
        if not isinstance(logprob, int | float) or not math.isfinite(logprob):
            continue
        stripped = token.strip()
        if len(stripped) == 1 and stripped in _DIGITS:
            digit = int(stripped)
            weights[digit] = weights.get(digit, 0.0) + math.exp(logprob)
    return weights


def _score_from_response(payload: Any) -> float:
    """Turn a chat-completions response body into a 0-10 score.

    Uses the logprob-weighted expectation over digit tokens when available, otherwise the first
    digit of the message content.

    Raises:
        _RetryableError: If the response has no usable score.
    """
    try:
        choice = payload["choices"][0]
    except (KeyError, IndexError, TypeError):
        raise _RetryableError(f"response has no choices: {_excerpt(json.dumps(payload))}") from None
    if not isinstance(choice, dict):
        raise _RetryableError(f"choice is not an object: {_excerpt(json.dumps(payload))}")
    logprobs = choice.get("logprobs")
    content_entries = logprobs.get("content") if isinstance(logprobs, dict) else None
    if isinstance(content_entries, list) and content_entries:
        first = content_entries[0]
        if isinstance(first, dict):
            weights = _digit_weights(first)
            if weights and sum(weights.values()) > 0:
                return to_ten_scale(expected_digit(weights))
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        for char in content:
            if char in _DIGITS:
                return to_ten_scale(float(char))
    raise _RetryableError(f"answer has no digit 0-9: {_excerpt(json.dumps(choice))}")


class OpenAIJudge:
    """Rates texts with a model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Each text is one request with ``max_tokens=1``, ``temperature=0`` and ``top_logprobs=20``;
    the score is the probability-weighted mean digit, mapped from 0-9 to 0-10.

    Attributes:
        judge_id: ``"openai-chat:<model>:<prompt format>"``; deliberately excludes the URL (the
            same model gives the same judgments wherever it is served) and any secret.
        base_url: API root without trailing slash, e.g. ``http://127.0.0.1:8000/v1``.
        endpoint: ``base_url + "/chat/completions"``.
        model: Model name sent in each request.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        timeout: float = 60.0,
        max_concurrency: int = 8,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
    ) -> None:
        """Create a judge.

        Args:
            base_url: API root, e.g. ``http://127.0.0.1:8000/v1`` (vLLM) or
                ``https://api.openai.com/v1``.
            model: Model name as the server knows it.
            api_key_env: NAME of the environment variable holding the API key (read now, sent
                as ``Authorization: Bearer``); ``None`` for servers without authentication.
            timeout: Per-request timeout in seconds.
            max_concurrency: Most requests in flight at once.
            max_retries: Retries after the first attempt (so ``max_retries + 1`` tries).
            backoff: Base delay in seconds; attempt ``n`` waits about ``backoff * 2**(n-1)``
                (with jitter), or the server's Retry-After, both capped at ``max_backoff``.
            max_backoff: Upper bound on any single wait, in seconds.

        Raises:
            ValueError: On a malformed URL, an unset/empty key variable or an out-of-range
                number; the message names the bad value.
        """
        self.base_url = _validate_base_url(base_url)
        self.endpoint = self.base_url + "/chat/completions"
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"model must be a non-empty model name, got {model!r}")
        self.model = model
        self.api_key_env = api_key_env
        self._api_key = _read_api_key(api_key_env)
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise ValueError(f"max_concurrency must be an int >= 1, got {max_concurrency!r}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be an int >= 1, got {max_concurrency!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        if not backoff >= 0 or not max_backoff >= 0:
            raise ValueError(
                f"backoff and max_backoff must be >= 0 seconds, got {backoff!r}, {max_backoff!r}"
            )
        self.timeout = float(timeout)
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.judge_id = f"openai-chat:{model}:{PROMPT_FORMAT}"
        self._opener = urllib.request.build_opener(_NoRedirect())

    def __repr__(self) -> str:
        return (
            f"OpenAIJudge(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key_env={self.api_key_env!r}, max_concurrency={self.max_concurrency})"
        )

    def score(self, texts: Sequence[str], rubric: Rubric) -> list[float]:
        """Rate ``texts`` concurrently and return their 0-10 scores in input order.

        Args:
            texts: Texts to rate.
            rubric: What to rate them on.

        Returns:
            One score per text, in the order of ``texts``.

        Raises:
            JudgeError: If any text could not be scored after all retries.
        """
        results: list[float | None] = [None] * len(texts)
        for index, value in self.iter_scores(texts, rubric):
            results[index] = value
        missing = [index for index, value in enumerate(results) if value is None]
        if missing:
            raise JudgeError(
                f"judge endpoint {self.endpoint} returned no score for texts at {missing[:10]}"
            )
        return [value for value in results if value is not None]

    def iter_scores(self, texts: Sequence[str], rubric: Rubric) -> Iterator[tuple[int, float]]:
        """Rate ``texts`` concurrently, yielding ``(index, score)`` as each finishes.

        At most ``max_concurrency`` requests are in flight. If a text fails for good, texts
        not yet started are cancelled, the results of requests already running are still
        yielded, and then the first :class:`JudgeError` is raised.

        Args:
            texts: Texts to rate.
            rubric: What to rate them on.

        Yields:
            ``(index into texts, 0-10 score)`` in completion order.

        Raises:
            JudgeError: If a text could not be scored after all retries.
            TypeError: If an element of ``texts`` is not a ``str``.
        """
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{index}] must be str, got {type(text).__name__}")
        if not texts:
            return
        stop = threading.Event()

        def work(text: str) -> float:
            if stop.is_set():
                raise _Abandoned()
            try:
                return self._score_one(text, rubric)
            except BaseException:
                stop.set()  # set in the worker, so no queued text starts after a failure
                raise

        pool = ThreadPoolExecutor(
            max_workers=min(self.max_concurrency, len(texts)), thread_name_prefix="openai-judge"
        )
        failure: BaseException | None = None
        try:
            futures: dict[Future[float], int] = {
                pool.submit(work, text): index for index, text in enumerate(texts)
            }
            for future in as_completed(futures):
                if future.cancelled():
                    continue
                error = future.exception()
                if isinstance(error, _Abandoned):
                    continue
                if error is not None:
                    if failure is None:
                        failure = error
                        for pending in futures:
                            pending.cancel()
                    continue
                yield futures[future], future.result()
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
        if failure is not None:
            raise failure

    def _score_one(self, text: str, rubric: Rubric) -> float:
        """Score one text, retrying transient failures with exponential backoff."""
        body = json.dumps(
            {
                "model": self.model,
                "messages": rubric_messages(rubric, text),
                "max_tokens": 1,
                "temperature": 0,
                "logprobs": True,
                "top_logprobs": TOP_LOGPROBS,
            }
        ).encode("utf-8")
        tries = self.max_retries + 1
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(body)
            except _RetryableError as exc:
                if attempt >= tries:
                    raise JudgeError(
                        f"judge endpoint {self.endpoint} failed after {tries} tries: {exc}"
                    ) from None
                delay = self._delay(attempt, exc.retry_after)
                logger.info(
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

    def _attempt(self, body: bytes) -> float:
        """Send one request and parse its score.

        Raises:
            _RetryableError: On 429, 5xx, timeouts, connection errors and malformed answers.
            JudgeError: On any other HTTP status (fails at once).
        """
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            try:
                detail = exc.read().decode("utf-8", errors="replace")
            except (OSError, http.client.HTTPException):
                detail = ""
            detail = _excerpt(self._redact(detail))
            if exc.code == 429 or exc.code >= 500:
                retry_after = _parse_retry_after(exc.headers.get("Retry-After"))
                raise _RetryableError(f"HTTP {exc.code}: {detail}", retry_after) from None
            hint = ""
            if exc.code in (401, 403):
                hint = f" (check the key in {self.api_key_env or 'api_key_env'})"
            elif exc.code == 404:
                hint = " (check base_url ends with the API root, e.g. /v1, and the model name)"
            elif 300 <= exc.code < 400:
                hint = f" (redirected to {exc.headers.get('Location')!r}; fix base_url)"
            raise JudgeError(
                f"judge endpoint {self.endpoint} rejected the request with HTTP {exc.code}"
                f"{hint}: {detail}"
            ) from None
        except TimeoutError:
            raise _RetryableError(f"timed out after {self.timeout:g}s") from None
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise _RetryableError(f"timed out after {self.timeout:g}s") from None
            raise _RetryableError(f"connection error: {reason}") from None
        text = raw.decode("utf-8", errors="replace")
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            raise _RetryableError(f"malformed JSON: {_excerpt(self._redact(text))}") from None
        try:
            return _score_from_response(payload)
        except _RetryableError as exc:
            raise _RetryableError(self._redact(str(exc))) from None

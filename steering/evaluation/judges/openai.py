"""Judge backed by any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, OpenAI).

One request per text (through :class:`steering.evaluation.judges.http.RetryingClient`, which
retries), at most ``max_concurrency`` in flight on a thread pool.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any

from steering.evaluation.judges.base import (
    PROMPT_FORMAT,
    JudgeError,
    Rubric,
    expected_digit,
    rubric_messages,
    to_ten_scale,
)
from steering.evaluation.judges.endpoint import check_base_url, excerpt
from steering.evaluation.judges.http import RetryableError, RetryingClient

__all__ = ["JudgeError", "OpenAIJudge"]

logger = logging.getLogger(__name__)

TOP_LOGPROBS = 20
"""How many alternatives per token are requested (OpenAI's maximum)."""

_DIGITS = "0123456789"


class _Abandoned(Exception):
    """Internal: a text was skipped because another text already failed for good."""


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

    The answer (the message content, stripped) must be a single digit 0-9: anything else
    ("12", "-1", "7.5", "ten", "Score: 7") is a malformed answer, never read as a digit. With
    logprobs, the score is the probability-weighted expectation over the digit tokens;
    otherwise it is the answered digit.

    Raises:
        RetryableError: If the response has no usable score (retried, never cached).
    """
    try:
        choice = payload["choices"][0]
    except (KeyError, IndexError, TypeError):
        raise RetryableError(f"response has no choices: {excerpt(json.dumps(payload))}") from None
    if not isinstance(choice, dict):
        raise RetryableError(f"choice is not an object: {excerpt(json.dumps(payload))}")
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    answered = content.strip() if isinstance(content, str) else None
    if answered is None or len(answered) != 1 or answered not in _DIGITS:
        raise RetryableError(
            f"answer is not a single digit 0-9 (a score outside 0-9 or no score at all): "
            f"{excerpt(json.dumps(choice))}; the judge model must answer with one digit"
        )
    logprobs = choice.get("logprobs")
    content_entries = logprobs.get("content") if isinstance(logprobs, dict) else None
    if isinstance(content_entries, list) and content_entries:
        first = content_entries[0]
        if isinstance(first, dict):
            weights = _digit_weights(first)
            if weights and sum(weights.values()) > 0:
                return to_ten_scale(expected_digit(weights))
    return to_ten_scale(float(answered))


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
        self.base_url = check_base_url(base_url, "judge base_url")
        self.endpoint = self.base_url + "/chat/completions"
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"model must be a non-empty model name, got {model!r}")
        self.model = model
        self.api_key_env = api_key_env
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise ValueError(f"max_concurrency must be an int >= 1, got {max_concurrency!r}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be an int >= 1, got {max_concurrency!r}")
        self.max_concurrency = max_concurrency
        self._client = RetryingClient(
            self.endpoint,
            api_key_env=api_key_env,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            logger=logger,
        )
        self.judge_id = f"openai-chat:{model}:{PROMPT_FORMAT}"

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
        """Score one text (the client retries transient failures)."""
        request = {
            "model": self.model,
            "messages": rubric_messages(rubric, text),
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": True,
            "top_logprobs": TOP_LOGPROBS,
        }
        return self._client.post(request, _score_from_response)

"""A real, scriptable OpenAI-compatible chat-completions server for tests.

It listens on 127.0.0.1 (port 0) in a background thread and answers
``POST /v1/chat/completions``. Each request takes the next :class:`Behaviour` from a queue
(or ``default`` when the queue is empty) and is recorded, so tests can check headers, bodies,
request counts and the most requests ever in flight at once.

The default success answer derives its digit from a rule: the number of times ``keyword``
occurs in the last user message, capped at 9.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TopLogprobs = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Behaviour:
    """How the server answers one request.

    Attributes:
        status: HTTP status code.
        content: Assistant message content; ``None`` means "digit from the keyword rule".
        top_logprobs: ``(token, logprob)`` alternatives for the first token; ``None`` means
            derived from the rule's digit.
        logprobs: Whether to include a ``logprobs`` field at all.
        raw_body: If set, sent verbatim instead of a JSON answer (e.g. malformed JSON).
        headers: Extra response headers, e.g. ``(("Retry-After", "1"),)``.
        delay: Seconds to wait before answering (to provoke client timeouts).
        trickle: If > 0, the whole response (status line, headers, body) is sent one byte at
            a time, this many seconds apart (a server that never lets a read time out).
    """

    status: int = 200
    content: str | None = None
    top_logprobs: TopLogprobs | None = None
    logprobs: bool = True
    raw_body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    trickle: float = 0.0


def success(delay: float = 0.0) -> Behaviour:
    """A normal answer whose digit follows the keyword rule."""
    return Behaviour(delay=delay)


def answer(content: str, top_logprobs: TopLogprobs | None = None) -> Behaviour:
    """A 200 answer with fixed content and (optionally) fixed top logprobs."""
    return Behaviour(content=content, top_logprobs=top_logprobs)


def without_logprobs(content: str) -> Behaviour:
    """A 200 answer with no ``logprobs`` field."""
    return Behaviour(content=content, logprobs=False)


def error(
    status: int, body: str = '{"error": "stub"}', retry_after: str | None = None
) -> Behaviour:
    """An HTTP error answer, optionally with a Retry-After header."""
    headers = (("Retry-After", retry_after),) if retry_after is not None else ()
    return Behaviour(status=status, raw_body=body, headers=headers)


def trickle(seconds_per_byte: float, content: str = "5") -> Behaviour:
    """A valid answer sent one byte every ``seconds_per_byte`` seconds, headers included."""
    return Behaviour(content=content, trickle=seconds_per_byte)


def malformed_json() -> Behaviour:
    """A 200 answer whose body is not JSON."""
    return Behaviour(raw_body='{"choices": [ this is not json')


def hang(seconds: float) -> Behaviour:
    """Wait ``seconds`` before a normal answer (longer than the client timeout)."""
    return Behaviour(delay=seconds)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class StubState:
    """Mutable server state shared by handler threads (guarded by ``lock``)."""

    keyword: str = "animal"
    default: Behaviour = field(default_factory=Behaviour)
    queue: deque[Behaviour] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


def _rule_digit(body: Any, keyword: str) -> int:
    """Digit = occurrences of ``keyword`` in the last user message, capped at 9."""
    try:
        users = [m["content"] for m in body["messages"] if m.get("role") == "user"]
    except (KeyError, TypeError):
        return 0
    return min(9, users[-1].lower().count(keyword.lower())) if users else 0


def _completion(content: str, top: TopLogprobs, with_logprobs: bool) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": content},
        "finish_reason": "length",
    }
    if with_logprobs:
        chosen = top[0] if top else (content, 0.0)
        choice["logprobs"] = {
            "content": [
                {
                    "token": chosen[0],
                    "logprob": chosen[1],
                    "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top],
                }
            ]
        }
    else:
        choice["logprobs"] = None
    return {"id": "stub", "object": "chat.completion", "choices": [choice]}


class _Handler(BaseHTTPRequestHandler):
    server: _StubHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Keep test output quiet."""

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body: Any = json.loads(raw)
        except json.JSONDecodeError:
            body = raw.decode("utf-8", errors="replace")
        with state.lock:
            state.requests.append(
                RecordedRequest("POST", self.path, dict(self.headers.items()), body)
            )
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            behaviour = state.queue.popleft() if state.queue else state.default
        self._counted = True
        try:
            self._respond(behaviour, body, state)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); nothing to answer
        finally:
            self._leave(state)

    def _leave(self, state: StubState) -> None:
        """Stop counting this request as in flight (once), before the client can see an answer:
        counting until after the write let the client's next request overlap in the count."""
        if getattr(self, "_counted", False):
            self._counted = False
            with state.lock:
                state.in_flight -= 1

    def _respond(self, behaviour: Behaviour, body: Any, state: StubState) -> None:
        if behaviour.delay and state.stopping.wait(behaviour.delay):
            return
        if self.path != "/v1/chat/completions":
            behaviour = error(404, '{"error": "no such route"}')
        if behaviour.raw_body is not None:
            payload = behaviour.raw_body.encode("utf-8")
        else:
            digit = str(_rule_digit(body, state.keyword))
            content = behaviour.content if behaviour.content is not None else digit
            top = behaviour.top_logprobs
            if top is None and behaviour.content is None:
                other = str(int(digit) - 1) if digit != "0" else "1"
                top = ((digit, -0.1), (other, -2.5), ("The", -4.0))
            elif top is None:
                top = ((content, 0.0),)
            payload = json.dumps(_completion(content, top, behaviour.logprobs)).encode("utf-8")
        self._leave(state)
        if behaviour.trickle > 0:
            head = (
                f"HTTP/1.1 {behaviour.status} OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
            )
            for byte in head.encode("ascii") + payload:
                if state.stopping.wait(behaviour.trickle):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(behaviour.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in behaviour.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: StubState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class StubServer:
    """Handle to a running stub server.

    Attributes:
        base_url: ``http://127.0.0.1:<port>/v1``.
        state: Shared state (queue, default behaviour, recorded requests).
    """

    def __init__(self, state: StubState, httpd: _StubHTTPServer) -> None:
        self.state = state
        self._httpd = httpd
        self.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, in order."""
        with self.state.lock:
            self.state.queue.extend(behaviours)

    def set_default(self, behaviour: Behaviour) -> None:
        """Behaviour used whenever the queue is empty."""
        with self.state.lock:
            self.state.default = behaviour

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of all requests received so far."""
        with self.state.lock:
            return list(self.state.requests)

    @property
    def request_count(self) -> int:
        """Number of requests received so far."""
        with self.state.lock:
            return len(self.state.requests)

    @property
    def max_in_flight(self) -> int:
        """Most requests ever being handled at the same time."""
        with self.state.lock:
            return self.state.max_in_flight


@contextmanager
def running_stub(keyword: str = "animal") -> Iterator[StubServer]:
    """Run a stub server for the duration of the ``with`` block."""
    state = StubState(keyword=keyword)
    httpd = _StubHTTPServer(state)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="openai-stub", daemon=True
    )
    thread.start()
    try:
        yield StubServer(state, httpd)
    finally:
        state.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

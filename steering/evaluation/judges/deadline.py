"""One HTTP request's overall deadline: a watchdog that shuts the socket down when it passes.

urllib's socket timeout bounds each read, not the request; the handlers here give
:class:`steering.evaluation.judges.http.RetryingClient` connections a :class:`Deadline` can
stop, and :class:`NoRedirect` turns redirects into errors.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import urllib.request
from typing import Any


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turn redirects into errors: urllib would silently re-send a POST as a bodyless GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Deadline:
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


def _watched(base: type[http.client.HTTPConnection], deadline: Deadline) -> Any:
    """A connection class like ``base`` whose socket ``deadline`` watches once connected."""

    class Watched(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            deadline.attach(self.sock)

    return Watched


class DeadlineHTTPHandler(urllib.request.HTTPHandler):
    """HTTP handler whose connections are watched by a :class:`Deadline`."""

    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPConnection, self._deadline), req)


class DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    """HTTPS handler whose connections are watched by a :class:`Deadline`."""

    def __init__(self, deadline: Deadline) -> None:
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

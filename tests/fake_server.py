"""Test-only base of the fake API servers: a ThreadingHTTPServer on 127.0.0.1 in a daemon thread, used as a context manager."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class QuietServer(ThreadingHTTPServer):
    """A client that went away (killed, timed out) is part of the faults under test, not a server error to print."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that keeps connections alive (as the SDKs expect) and logs nothing."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


class FakeServer:
    """Serves ``handler`` (which reaches this object as ``self.fake``) on a free port of 127.0.0.1 between enter and exit.

    ``release`` frees requests a fault holds; exit sets it, so no handler thread outlives the test. Exiting twice is harmless.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.server = QuietServer(("127.0.0.1", 0), type("Handler", (handler,), {"fake": self}))
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def match_route(table: dict[tuple[str, tuple[str, ...]], str], method: str, path: str) -> tuple[str, list[str]]:
    """The route name of ``method path`` in ``table`` (``*`` matches one path segment) and the segments ``*`` matched."""
    parts = [p for p in path.split("/") if p]
    for (m, pattern), name in table.items():
        if m == method and len(pattern) == len(parts) and all(p == "*" or p == q for p, q in zip(pattern, parts)):
            return name, [q for p, q in zip(pattern, parts) if p == "*"]
    return f"unknown {method} {path}", []

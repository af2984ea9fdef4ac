"""Webhook receivers of the drills and integration tests: one local HTTP server whose
paths behave as receivers do in the wild.

- `/ok/<name>` answers `204` at once;
- `/gone/<name>` answers `410 Gone` (the receiver asks to be disabled);
- `/hang/<name>` accepts the request and never answers (until the server closes);
- `/fail/<name>` answers `503`.

Every request is recorded (path, headers, body, arrival time), hung ones included, so a
test counts what each receiver got and when.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

ANSWERS = {"ok": 204, "gone": 410, "fail": 503}


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    """time.monotonic() on arrival"""

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


class Receivers:
    """A `ThreadingHTTPServer` on 127.0.0.1 and a free port; a context manager."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receivers.record(Received(self.path, headers, body, time.monotonic()))
                kind = self.path.strip("/").split("/", 1)[0]
                if kind == "hang":
                    receivers._closing.wait()
                    return
                self.send_response(ANSWERS.get(kind, 404))
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receivers:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def url(self, kind: str, name: str) -> str:
        """The URL of receiver `name` behaving as `kind` (ok, gone, hang, fail)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/{kind}/{name}"

    def record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def of(self, url: str) -> list[Received]:
        """What the receiver at `url` got, oldest first."""
        path = "/" + url.split("/", 3)[3]
        with self._lock:
            return [r for r in self.received if r.path == path]

    def ids(self, url: str) -> Counter[str]:
        """How many times each `webhook-id` reached the receiver at `url`."""
        return Counter(r.webhook_id for r in self.of(url))

    def wait_for(self, url: str, count: int, timeout_s: float) -> list[Received]:
        """The receiver's requests once it has `count` distinct webhook ids (or the
        deadline passed)."""
        deadline = time.monotonic() + timeout_s
        while len(self.ids(url)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.of(url)

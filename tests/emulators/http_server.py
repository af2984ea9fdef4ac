"""What the emulations of cloud HTTP APIs share: a real HTTP server on 127.0.0.1 (a
free port, a thread of its own, one thread per connection), parsed requests (JSON and
multipart/form-data), a log of what was asked, and the knobs tests turn to make the
service fail: `fail_next(status, times, body)` answers the next requests with an error,
`delay_s` holds every answer back (to run a client into its timeout).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Lower-cased names."""
    body: bytes
    json: Any = None
    form: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, Upload] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


def json_reply(status: int, payload: object, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload).encode(), "application/json", headers or {})


class Refused(Exception):
    """Raised by a handler to answer `status` with the service's error `payload`."""

    def __init__(self, status: int, payload: object) -> None:
        super().__init__(status)
        self.reply = json_reply(status, payload)


class EmulatedApi:
    """Base of an emulated service: subclasses implement `handle(request) -> Reply`, and
    raise `Refused` to answer an error."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.delay_s = 0.0
        self._failures: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.base_url = ""

    def fail_next(self, status: int, times: int = 1, payload: object = None) -> None:
        """The next `times` requests answer `status` with `payload` (the service's own
        error shape by default) and a short `Retry-After` where a client may retry."""
        body = payload if payload is not None else self.error_payload(status)
        headers = {"retry-after-ms": "20"} if status == 429 or status >= 500 else {}
        with self._lock:
            self._failures.extend([json_reply(status, body, headers)] * times)

    def error_payload(self, status: int) -> object:
        return {"error": f"emulated failure {status}"}

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._failures.clear()
            self.delay_s = 0.0

    def answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            failure = self._failures.popleft() if self._failures else None
        if self.delay_s:
            time.sleep(self.delay_s)
        if failure is not None:
            return failure
        try:
            return self.handle(request)
        except Refused as refused:
            return refused.reply

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError


def parse_request(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Request:
    url = urlsplit(target)
    query = {name: values[-1] for name, values in parse_qs(url.query).items()}
    content_type = headers.get("content-type", "")
    payload: Any = None
    form: dict[str, str] = {}
    files: dict[str, Upload] = {}
    if content_type.startswith("application/json") and body:
        with suppress(ValueError):
            payload = json.loads(body)
    elif content_type.startswith("application/x-www-form-urlencoded"):
        form = {name: values[-1] for name, values in parse_qs(body.decode()).items()}
    elif content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(data, bytes):
                continue
            filename = part.get_filename()
            if filename is None:
                form[name] = data.decode()
            else:
                files[name] = Upload(filename, part.get_content_type(), data)
    return Request(method, url.path, query, headers, body, payload, form, files)


def _handler(api: EmulatedApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = api.answer(parse_request(self.command, self.path, headers, body))
            with suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002 - stdlib signature
            return

    return Handler


@contextmanager
def serving(api: EmulatedApi) -> Iterator[str]:
    """Serves `api` until the block ends; sets and yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=type(api).__name__, daemon=True)
    thread.start()
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

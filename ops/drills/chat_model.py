"""An OpenAI-compatible chat model for the alert drill whose faults can be switched on:
answers slowed by `delay_s`, or every request failing with `failing_with`.

Published API shape: `POST /v1/chat/completions` with `{model, messages, stream,
stream_options: {include_usage}}`; a stream of `chat.completion.chunk` server-sent
events ending with a `finish_reason` chunk, the `usage` chunk (with `include_usage`),
then `data: [DONE]`; errors are `{error: {message, type, param, code}}`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

REPLY = ("Credit ", "life ", "insurance ", "pays ", "the ", "loan ", "[1].")


class ChatModel:
    """A local chat model server on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.failing_with: int | None = None
        self.requests = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the chat model has not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> Self:
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with model._lock:
                    model.requests += 1
                    delay_s, failing_with = model.delay_s, model.failing_with
                time.sleep(delay_s)
                if failing_with is not None:
                    self._json(failing_with, _error("The server had an error.", "server_error"))
                    return
                prompt = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
                usage = {
                    "prompt_tokens": prompt,
                    "completion_tokens": len(REPLY),
                    "total_tokens": prompt + len(REPLY),
                }
                if body.get("stream"):
                    self._stream(body["model"], usage, body.get("stream_options") or {})
                else:
                    self._json(200, _completion(body["model"], usage))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status >= 500:
                    self.send_header("retry-after-ms", "20")
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, name: str, usage: dict[str, int], options: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                chunks = [_chunk(name, {"content": word}, None) for word in REPLY]
                chunks.append(_chunk(name, {}, "stop"))
                if options.get("include_usage"):
                    chunks.append({**_chunk(name, {}, None), "choices": [], "usage": usage})
                for chunk in chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002 - stdlib signature
                return

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _QuietServer(ThreadingHTTPServer):
    """A client that gives up on a slow answer resets its connection: not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _chunk(name: str, delta: dict[str, str], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-drill",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": name,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion(name: str, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-drill",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(REPLY)},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }

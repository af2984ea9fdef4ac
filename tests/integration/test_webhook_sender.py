"""HttpxWebhookSender against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import pytest
from standardwebhooks import Webhook

from avataradam.adapters.system import SystemClock
from avataradam.adapters.webhooks import HttpxWebhookSender, generate_webhook_secret

PAYLOAD = b'{"type":"document.ready","data":{"document_id":"d-1"}}'


class Received(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A local webhook endpoint; the path picks the answer (`/ok`, `/fail`, …)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.received.append(
                    Received(
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                    )
                )
                if self.path == "/slow":
                    time.sleep(2)
                status = {"/fail": 500, "/redirect": 302}.get(self.path, 204)
                self.send_response(status)
                if status == 302:
                    self.send_header("location", "/ok")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Quiet: the test asserts on `received`, not on stderr."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _sender(*, allow_private: bool = True, timeout_s: float = 5.0) -> HttpxWebhookSender:
    return HttpxWebhookSender(allow_private=allow_private, timeout_s=timeout_s, clock=SystemClock())


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_delivery_arrives_signed_and_verifies_with_the_reference_library(
    receiver: Receiver,
) -> None:
    secret = generate_webhook_secret()

    result = await _sender().send(
        url=receiver.url("/ok"), secret=secret, message_id="msg_1", payload=PAYLOAD
    )

    assert result.delivered
    assert result.status_code == 204
    assert result.error is None
    [request] = receiver.received
    assert request.body == PAYLOAD
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_1"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert Webhook(secret).verify(request.body, request.headers) == msgspec.json.decode(PAYLOAD)


async def test_receiver_error_is_reported_not_raised(receiver: Receiver) -> None:
    result = await _sender().send(
        url=receiver.url("/fail"),
        secret=generate_webhook_secret(),
        message_id="msg_2",
        payload=PAYLOAD,
    )

    assert not result.delivered
    assert result.status_code == 500
    assert result.error is not None
    assert "500" in result.error


async def test_refused_connection_is_reported_not_raised() -> None:
    result = await _sender().send(
        url=f"http://127.0.0.1:{_closed_port()}/ok",
        secret=generate_webhook_secret(),
        message_id="msg_3",
        payload=PAYLOAD,
    )

    assert not result.delivered
    assert result.status_code is None
    assert result.error is not None
    assert "connect" in result.error


async def test_private_receiver_is_refused_without_a_request_when_not_allowed(
    receiver: Receiver,
) -> None:
    result = await _sender(allow_private=False).send(
        url=receiver.url("/ok"),
        secret=generate_webhook_secret(),
        message_id="msg_4",
        payload=PAYLOAD,
    )

    assert not result.delivered
    assert result.error is not None
    assert "loopback" in result.error
    assert receiver.received == []


async def test_connection_goes_to_the_vetted_address_with_the_original_host_header(
    receiver: Receiver,
) -> None:
    lookups: list[str] = []

    async def resolve(host: str, port: int) -> Sequence[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    sender = HttpxWebhookSender(
        allow_private=True, timeout_s=5.0, clock=SystemClock(), resolve=resolve
    )

    result = await sender.send(
        url=receiver.url("/ok", host="hooks.dealer.invalid"),
        secret=generate_webhook_secret(),
        message_id="msg_5",
        payload=PAYLOAD,
    )

    assert result.delivered
    assert lookups == ["hooks.dealer.invalid"]
    [request] = receiver.received
    assert request.headers["host"] == f"hooks.dealer.invalid:{receiver.port}"


async def test_redirect_is_not_followed(receiver: Receiver) -> None:
    result = await _sender().send(
        url=receiver.url("/redirect"),
        secret=generate_webhook_secret(),
        message_id="msg_6",
        payload=PAYLOAD,
    )

    assert not result.delivered
    assert result.status_code == 302
    assert [request.path for request in receiver.received] == ["/redirect"]


async def test_slow_receiver_times_out_within_the_deadline(receiver: Receiver) -> None:
    started = time.monotonic()

    result = await _sender(timeout_s=0.5).send(
        url=receiver.url("/slow"),
        secret=generate_webhook_secret(),
        message_id="msg_7",
        payload=PAYLOAD,
    )

    assert not result.delivered
    assert result.error is not None
    assert "timed out" in result.error
    assert time.monotonic() - started < 1.5


async def test_refused_address_falls_through_to_the_next_vetted_address(
    receiver: Receiver,
) -> None:
    async def resolve(host: str, port: int) -> Sequence[str]:
        return ["127.0.0.2", "127.0.0.1"]

    sender = HttpxWebhookSender(
        allow_private=True, timeout_s=5.0, clock=SystemClock(), resolve=resolve
    )

    result = await sender.send(
        url=receiver.url("/ok", host="hooks.dealer.invalid"),
        secret=generate_webhook_secret(),
        message_id="msg_8",
        payload=PAYLOAD,
    )

    assert result.delivered
    assert len(receiver.received) == 1


@pytest.mark.parametrize("rebound", ["169.254.169.254", "::ffff:169.254.169.254", "fe80::1"])
async def test_a_name_rebound_to_cloud_metadata_is_never_requested_even_with_private_allowed(
    receiver: Receiver, rebound: str
) -> None:
    async def resolve(host: str, port: int) -> Sequence[str]:
        return ["127.0.0.1", rebound]

    sender = HttpxWebhookSender(
        allow_private=True, timeout_s=5.0, clock=SystemClock(), resolve=resolve
    )

    result = await sender.send(
        url=receiver.url("/ok", host="hooks.dealer.invalid"),
        secret=generate_webhook_secret(),
        message_id="msg_9",
        payload=PAYLOAD,
    )

    assert not result.delivered
    assert result.error is not None
    assert "metadata" in result.error
    assert receiver.received == []

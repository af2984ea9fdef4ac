"""Webhooks end to end: subscribe, ingest, receive a signed event, retries until 2xx."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.integration.conftest import Tenant, problem
from tests.integration.test_ingestion import upload, wait_for_status
from tests.support.processes import ServiceProcess


@dataclass
class Receiver:
    """A local webhook receiver answering 500 `failures` times, then 200."""

    failures: int
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        self.received.append((headers, body))
        return 500 if len(self.received) <= self.failures else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(failures=2)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = state.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


async def test_event_is_signed_retried_after_500s_and_acknowledged_once(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, worker: ServiceProcess
) -> None:
    created = await client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["document.ready"]},
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    listed = await client.get("/v1/webhooks", headers=tenant.admin.headers)
    assert "secret" not in listed.json()["items"][0]

    document = await upload(client, tenant.admin, b"F&I menu presentation basics.\n" * 10, "m.txt")
    await wait_for_status(client, tenant.admin, document.json()["id"], {"ready"})

    deadline = time.monotonic() + 30
    while len(receiver.received) < 3 and time.monotonic() < deadline:  # noqa: ASYNC110 -- polls another thread
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # no further delivery may follow the acknowledged one
    assert len(receiver.received) == 3
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert len(ids) == 1, "a retry must carry the same webhook-id"
    headers, body = receiver.received[-1]
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "document.ready"
    assert payload["data"]["document_id"] == document.json()["id"]
    assert json.loads(body)["data"]["dealership_id"] == tenant.dealership_id

    detail = await client.get(f"/v1/webhooks/{created.json()['id']}", headers=tenant.admin.headers)
    assert "secret" not in detail.json()["subscription"]
    [delivery] = detail.json()["deliveries"]
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 3
    assert delivery["last_status_code"] == 200


async def test_unknown_events_and_plain_users_are_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    bad_event = await client.post(
        "/v1/webhooks",
        json={"url": "https://example.com/hook", "events": ["document.exploded"]},
        headers=tenant.admin.headers,
    )
    assert bad_event.status_code == 422
    assert problem(bad_event)["code"] == "invalid_input"
    user = await client.post(
        "/v1/webhooks",
        json={"url": "https://example.com/hook", "events": ["document.ready"]},
        headers=tenant.user.headers,
    )
    assert user.status_code == 403

"""Server-Sent Events end to end through a real `avataradam serve` process.

The server runs the extractive model paced at one word per DELTA_DELAY_S, with
keep-alives every KEEPALIVE_S, so a reply takes seconds and comments appear between
deltas: deterministic, and slow enough to hang up in the middle of it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import httpx
import pytest

from avataradam.entrypoints.container import Container
from ops.harness.processes import free_port, wait_until_healthy
from tests.integration.conftest import Account, Tenant, service_environment
from tests.integration.test_chat_api import GAP_GUIDE, seed_document
from tests.support.processes import ServiceProcess

DELTA_DELAY_S = 0.12
KEEPALIVE_S = 0.05


@pytest.fixture(scope="module")
def sse_server(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    env = service_environment(database_url, redis_url) | {
        "AVATARADAM_HTTP_PORT": str(port),
        "AVATARADAM_CHAT_MODEL": "extractive",
        "AVATARADAM_CHAT_EXTRACTIVE_DELTA_DELAY_S": str(DELTA_DELAY_S),
        "AVATARADAM_CHAT_KEEPALIVE_S": str(KEEPALIVE_S),
    }
    log = tmp_path_factory.mktemp("sse") / "api.log"
    process = ServiceProcess(["serve"], env, log).start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process)
        yield base_url
    finally:
        process.stop()


@pytest.fixture
async def http(sse_server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sse_server, timeout=30) as client:
        yield client


@dataclass
class Event:
    name: str
    data: dict[str, object]


@dataclass
class Received:
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


async def read_sse(lines: AsyncIterator[str], received: Received, *, stop_after: str) -> None:
    """Parses the stream into `received` until an event named `stop_after` arrives."""
    name, data = "message", []
    async for line in lines:
        if line.startswith(":"):
            received.comments.append(line[1:].strip())
        elif line.startswith("event:"):
            name = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data.append(line.partition(":")[2].removeprefix(" "))
        elif line == "" and data:
            received.events.append(Event(name, json.loads("\n".join(data))))
            if name == stop_after:
                return
            name, data = "message", []


async def new_conversation(http: httpx.AsyncClient, account: Account, **body: object) -> str:
    response = await http.post("/v1/conversations", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def stream_request(
    http: httpx.AsyncClient, account: Account, conversation_id: str, content: str
) -> AbstractAsyncContextManager[httpx.Response]:
    return http.stream(
        "POST",
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": content},
        headers=account.headers | {"Accept": "text/event-stream"},
    )


async def test_reply_streams_deltas_then_sources_then_done_with_keepalives(
    http: httpx.AsyncClient, client: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    document_id = await seed_document(
        client, container, tenant.admin, GAP_GUIDE.format(name="Alpha")
    )
    conversation_id = await new_conversation(
        http, tenant.user, mode="roleplay", scenario="already_covered"
    )
    received = Received()

    async with stream_request(http, tenant.user, conversation_id, "Hi, welcome in!") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        await read_sse(response.aiter_lines(), received, stop_after="done")

    names = [e.name for e in received.events]
    deltas = names.count("delta")
    assert deltas >= 3
    assert names == ["delta"] * deltas + ["sources", "done"]
    assert "keep-alive" in received.comments
    sources = received.events[-2].data["sources"]
    assert isinstance(sources, list)
    assert {s["document_id"] for s in sources} == {document_id}
    done = received.events[-1].data
    streamed = "".join(str(e.data["text"]) for e in received.events if e.name == "delta")
    detail = await http.get(f"/v1/conversations/{conversation_id}", headers=tenant.user.headers)
    stored = detail.json()["messages"][-1]
    assert done["message_id"] == stored["id"]
    assert stored["content"] == streamed.strip()
    assert stored["sources"] == sources


async def test_reply_is_stored_although_the_client_hangs_up_mid_stream(
    http: httpx.AsyncClient, client: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    await seed_document(client, container, tenant.admin, GAP_GUIDE.format(name="Alpha"))
    conversation_id = await new_conversation(http, tenant.user, mode="training")
    received = Received()

    async with stream_request(http, tenant.user, conversation_id, "Is GAP required?") as response:
        await read_sse(response.aiter_lines(), received, stop_after="delta")
    hung_up_at = time.monotonic()

    assert [e.name for e in received.events] == ["delta"]
    messages: list[dict[str, object]] = []
    while time.monotonic() - hung_up_at < 30:
        detail = await http.get(f"/v1/conversations/{conversation_id}", headers=tenant.user.headers)
        messages = detail.json()["messages"]
        if len(messages) == 2:
            break
        await asyncio.sleep(0.2)
    stored_after_s = time.monotonic() - hung_up_at
    assert [m["role"] for m in messages] == ["user", "assistant"]
    content = str(messages[1]["content"])
    assert content.startswith(str(received.events[0].data["text"]).strip())
    # Stored after the reply's natural end (one word per DELTA_DELAY_S), not cut off
    # when the client left.
    assert stored_after_s > len(content.split()) * DELTA_DELAY_S * 0.5


async def test_errors_before_streaming_are_plain_problem_responses(
    http: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    conversation_id = await new_conversation(http, tenant.user, mode="training")

    async with stream_request(http, other_tenant.user, conversation_id, "hello") as response:
        await response.aread()

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")

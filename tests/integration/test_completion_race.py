"""A roleplay session completed while the customer's reply is still being written
(issue 17), on a real `avataradam serve` process whose chat model is the local fake
OpenAI server held back before its first byte, and the shared real worker that scores.

The reply in flight is not stored, nor the trainee's message that asked for it; its
stream ends with an `error` event of code `conversation_completed`; the scorecard is
scored from the exchange stored before completion, and no stored message was created
after `completed_at`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.fixtures.openai_chat import FakeChatService
from tests.integration.conftest import Account, Tenant, chat_instances, problem
from tests.integration.test_chat_boundaries import sse_events

MODEL_DELAY_S = 5.0
"""How long the model keeps the reply in flight: the completion, one short
transaction, is made well within it."""
BEFORE = "I hear you, that is a fair concern. Every one of these products is optional."
IN_FLIGHT = "So, shall I add GAP to your payment today?"


@pytest.fixture(scope="module")
def instance(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, FakeChatService]]:
    log_dir = tmp_path_factory.mktemp("completion-race")
    with chat_instances(database_url, redis_url, log_dir, count=1) as ([url], chat):
        yield url, chat


async def _streamed(http: httpx.AsyncClient, path: str, text: str) -> tuple[int, bytes]:
    headers = {"accept": "text/event-stream"}
    async with http.stream("POST", path, json={"content": text}, headers=headers) as response:
        return response.status_code, await response.aread()


async def _model_asked(chat: FakeChatService, before: int) -> None:
    deadline = time.monotonic() + 30
    while len(chat.requests) == before:
        assert time.monotonic() < deadline, "the model was never asked"
        await asyncio.sleep(0.05)


async def _scored(http: httpx.AsyncClient, conversation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        response = await http.get(f"/v1/conversations/{conversation_id}/scorecard")
        assert response.status_code == 200, response.text
        card: dict[str, Any] = response.json()
        if card["status"] != "pending":
            return card
        assert time.monotonic() < deadline, f"still pending: {card}"
        await asyncio.sleep(0.2)


async def _roleplay(http: httpx.AsyncClient) -> str:
    started = await http.post(
        "/v1/conversations", json={"mode": "roleplay", "scenario_id": "already_covered"}
    )
    assert started.status_code == 201, started.text
    conversation_id = str(started.json()["id"])
    path = f"/v1/conversations/{conversation_id}/messages"
    said = await http.post(path, json={"content": BEFORE})
    assert said.status_code == 201, said.text
    return conversation_id


async def test_a_reply_in_flight_at_completion_is_not_stored_and_the_stream_says_so(
    tenant: Tenant,
    instance: tuple[str, FakeChatService],
    worker: object,
    pg_pool: asyncpg.Pool,
) -> None:
    url, chat = instance
    trainee: Account = tenant.user
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=trainee.headers) as http:
        conversation_id = await _roleplay(http)
        path = f"/v1/conversations/{conversation_id}/messages"
        asked = len(chat.requests)
        chat.delay_s = MODEL_DELAY_S
        try:
            reply = asyncio.create_task(_streamed(http, path, IN_FLIGHT))
            await _model_asked(chat, asked)
            completed = await http.post(f"/v1/conversations/{conversation_id}/complete")
            assert not reply.done(), "the reply ended before the completion: no race"
            status, body = await reply
        finally:
            chat.delay_s = 0.0
        assert completed.status_code == 202, completed.text

        assert status == 200
        events = sse_events(body)
        assert [name for name, _ in events[-2:]] == ["sources", "error"], events
        assert {name for name, _ in events[:-2]} <= {"delta"}
        error = events[-1][1]
        assert error["code"] == "conversation_completed"
        assert error["type"].endswith("/conversation-completed")

        card = await _scored(http, conversation_id)
        detail = await http.get(f"/v1/conversations/{conversation_id}")
        late = await http.post(path, json={"content": "One more thing."})

    assert card["status"] == "scored", card
    messages = detail.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == BEFORE
    quoted = {e["message_id"] for c in card["criteria"] for k in c["checks"] for e in k["evidence"]}
    assert quoted, "the exchange stored before completion was scored"
    assert quoted <= {m["id"] for m in messages if m["role"] == "user"}
    rows = await pg_pool.fetch(
        "SELECT m.content, m.created_at, c.completed_at FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id WHERE c.id = $1",
        uuid.UUID(conversation_id),
    )
    assert len(rows) == 2
    assert all(row["created_at"] <= row["completed_at"] for row in rows)
    assert IN_FLIGHT not in {row["content"] for row in rows}
    assert late.status_code == 409
    assert problem(late)["code"] == "conversation_completed"

"""Conversations over the HTTP API on real PostgreSQL and Redis (extractive model)."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from structlog.testing import capture_logs

from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import Settings
from tests.integration.conftest import Account, Tenant, problem
from tests.support.asgi import asgi_transport

GAP_GUIDE = (
    "Handling GAP objections at {name} Motors.\n\n"
    'Customer: "My insurance already covers the car if it is totalled."\n'
    "GAP covers the difference between what the insurer pays and what is still owed on the "
    "loan. Explain negative equity with the customer's own numbers at {name} Motors. "
    "Never tell a customer that GAP is required to get the loan approved.\n\n"
    "Why would I pay for GAP if my down payment is large?\n"
)


async def seed_document(
    client: httpx.AsyncClient,
    container: Container,
    admin: Account,
    text: str,
    *,
    topic: str = "objection_handling",
) -> str:
    """Uploads a document through the API and ingests it in this process (no worker)."""
    response = await client.post(
        "/v1/documents",
        files={"file": (f"guide-{uuid.uuid4().hex[:6]}.txt", text.encode(), "text/plain")},
        data={"topic": topic},
        headers=admin.headers,
    )
    assert response.status_code == 202, response.text
    document_id = response.json()["id"]
    await container.ingest_document(uuid.UUID(document_id))
    # A worker process of the session, when one runs, may hold the document's lease
    # instead (the in-process run is then skipped): either way it becomes ready.
    deadline = time.monotonic() + 60
    while True:
        ready = await client.get(f"/v1/documents/{document_id}", headers=admin.headers)
        if ready.json()["status"] == "ready" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert ready.json()["status"] == "ready", ready.text
    return str(document_id)


async def start(client: httpx.AsyncClient, account: Account, **body: object) -> dict[str, object]:
    response = await client.post("/v1/conversations", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def say(
    client: httpx.AsyncClient, account: Account, conversation_id: object, content: str
) -> httpx.Response:
    return await client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": content},
        headers=account.headers,
    )


async def test_training_answer_cites_own_dealership_passages_only(
    client: httpx.AsyncClient, container: Container, tenant: Tenant, other_tenant: Tenant
) -> None:
    own = await seed_document(client, container, tenant.admin, GAP_GUIDE.format(name="Alpha"))
    other = await seed_document(
        client, container, other_tenant.admin, GAP_GUIDE.format(name="Bravo")
    )
    conversation = await start(client, tenant.user, mode="training")

    with capture_logs() as logs:
        response = await say(client, tenant.user, conversation["id"], "Is GAP required by law?")

    assert response.status_code == 201, response.text
    reply = response.json()
    assert reply["role"] == "assistant"
    assert reply["sources"], reply
    assert {s["document_id"] for s in reply["sources"]} == {own}
    assert other not in response.text
    assert "Bravo" not in reply["content"]
    assert "[1]" in reply["content"]
    assert reply["model"]["generative"] is False
    assert "Extractive" in reply["model"]["notice"]
    assert set(reply["sources"][0]) >= {"chunk_id", "document_id", "filename", "topic", "index"}
    chat_events = [e for e in logs if e["event"] == "chat_request"]
    assert len(chat_events) == 1
    assert chat_events[0]["results_count"] == len(reply["sources"])
    assert chat_events[0]["latency_ms"] > 0
    assert "GAP" not in str(chat_events[0])  # no message or document text in logs


async def test_conversation_history_is_kept_on_the_server_in_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    conversation = await start(client, tenant.user, mode="roleplay", scenario="skeptical")
    assert conversation["scenario"] == "skeptical"
    first = (await say(client, tenant.user, conversation["id"], "Hello, I'm Pat.")).json()
    second = (await say(client, tenant.user, conversation["id"], "Let me show you GAP.")).json()

    detail = await client.get(
        f"/v1/conversations/{conversation['id']}", headers=tenant.user.headers
    )

    assert detail.status_code == 200
    messages = detail.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert [m["id"] for m in messages[1::2]] == [first["id"], second["id"]]
    assert messages[0]["content"] == "Hello, I'm Pat."
    # The customer never repeats a line while unused ones remain.
    assert first["content"] != second["content"]


async def test_listing_pages_through_own_conversations_only(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = [(await start(client, tenant.user, mode="training"))["id"] for _ in range(3)]
    await start(client, tenant.admin, mode="training")
    await start(client, other_tenant.user, mode="training")

    async def walk(**order: str) -> list[object]:
        """Every page of 2; `order` on the first request only: the cursor keeps it."""
        seen: list[object] = []
        cursor = None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else order)
            page = await client.get("/v1/conversations", params=params, headers=tenant.user.headers)
            assert page.status_code == 200, page.text
            seen.extend(item["id"] for item in page.json()["items"])
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return seen

    assert await walk() == mine
    assert await walk(order="oldest") == mine
    assert await walk(order="newest") == mine[::-1]


async def test_another_users_or_dealerships_conversation_answers_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    conversation = await start(client, tenant.user, mode="training")
    for intruder in (tenant.admin, other_tenant.user):
        read = await client.get(f"/v1/conversations/{conversation['id']}", headers=intruder.headers)
        write = await say(client, intruder, conversation["id"], "hello")
        assert read.status_code == write.status_code == 404
        assert problem(write)["code"] == "not_found"


async def test_bad_requests_are_refused_with_problem_details(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    unknown = await client.post(
        "/v1/conversations",
        json={"mode": "roleplay", "scenario": "friendly"},
        headers=tenant.user.headers,
    )
    assert unknown.status_code == 422
    assert problem(unknown)["code"] == "invalid_input"
    conversation = await start(client, tenant.user, mode="training")
    blank = await say(client, tenant.user, conversation["id"], "   ")
    assert blank.status_code in {400, 422}
    anonymous = await client.get("/v1/conversations")
    assert anonymous.status_code == 401


async def test_conversation_survives_an_api_restart(
    client: httpx.AsyncClient, settings: Settings, tenant: Tenant
) -> None:
    conversation = await start(client, tenant.user, mode="training", scenario="GAP")
    reply = (await say(client, tenant.user, conversation["id"], "How do I present GAP?")).json()

    restarted = build_container(settings)
    await restarted.start()
    try:
        transport = asgi_transport(create_app(restarted))
        async with httpx.AsyncClient(transport=transport, base_url="http://second") as second:
            detail = await second.get(
                f"/v1/conversations/{conversation['id']}", headers=tenant.user.headers
            )
            follow_up = await say(second, tenant.user, conversation["id"], "And for leases?")
    finally:
        await restarted.close()

    assert detail.status_code == 200
    assert [m["content"] for m in detail.json()["messages"]] == [
        "How do I present GAP?",
        reply["content"],
    ]
    assert detail.json()["scenario"] == "GAP"
    assert follow_up.status_code == 201


async def test_feedback_is_stored_with_context_for_admins(
    client: httpx.AsyncClient, container: Container, tenant: Tenant, other_tenant: Tenant
) -> None:
    await seed_document(client, container, tenant.admin, GAP_GUIDE.format(name="Alpha"))
    conversation = await start(client, tenant.user, mode="training")
    reply = (await say(client, tenant.user, conversation["id"], "Is GAP required?")).json()
    detail = await client.get(
        f"/v1/conversations/{conversation['id']}", headers=tenant.user.headers
    )
    question_id = detail.json()["messages"][0]["id"]

    rated = await client.post(
        f"/v1/messages/{reply['id']}/feedback",
        json={"rating": "down", "reason": "cites the wrong page"},
        headers=tenant.user.headers,
    )
    on_question = await client.post(
        f"/v1/messages/{question_id}/feedback", json={"rating": "up"}, headers=tenant.user.headers
    )
    by_stranger = await client.post(
        f"/v1/messages/{reply['id']}/feedback",
        json={"rating": "up"},
        headers=other_tenant.user.headers,
    )
    as_user = await client.get("/v1/feedback", headers=tenant.user.headers)
    as_admin = await client.get("/v1/feedback", headers=tenant.admin.headers)
    as_other_admin = await client.get("/v1/feedback", headers=other_tenant.admin.headers)

    assert rated.status_code == 201, rated.text
    assert rated.json()["rating"] == "down"
    assert on_question.status_code == 422
    assert by_stranger.status_code == 404
    assert as_user.status_code == 403
    assert as_admin.status_code == 200
    [report] = as_admin.json()["items"]
    assert report["message_id"] == reply["id"]
    assert report["reason"] == "cites the wrong page"
    assert report["question"] == "Is GAP required?"
    assert report["answer"] == reply["content"]
    assert report["sources"] == reply["sources"]
    assert as_other_admin.json()["items"] == []


async def test_chat_model_calls_are_measured(client: httpx.AsyncClient, tenant: Tenant) -> None:
    conversation = await start(client, tenant.user, mode="training")
    await say(client, tenant.user, conversation["id"], "What is a VSC?")

    metrics = (await client.get("/metrics")).text

    assert (
        'avataradam_external_call_duration_seconds_count{operation="stream",service="chat_model"}'
        in metrics
    )


@pytest.mark.parametrize("scenario", ["price_focused", None])
async def test_roleplay_customer_opens_in_character(
    client: httpx.AsyncClient, tenant: Tenant, scenario: str | None
) -> None:
    scenarios = await client.get("/v1/conversations/scenarios", headers=tenant.user.headers)
    keys = {s["scenario"] for s in scenarios.json()}
    body = {"mode": "roleplay"} | ({"scenario": scenario} if scenario else {})
    conversation = await start(client, tenant.user, **body)

    reply = (await say(client, tenant.user, conversation["id"], "Welcome to F&I!")).json()

    assert conversation["scenario"] in keys
    assert reply["content"]
    assert "Adam" not in reply["content"]

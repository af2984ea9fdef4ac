"""Usage and monthly token budgets across two API processes sharing PostgreSQL, Redis and
one fake chat model (which reports 21 prompt and 5 completion tokens per reply): every
reply is recorded once, `GET /v1/usage` reports it as JSON and CSV, and a budget set by
a super admin admits exactly the replies it can hold, whichever instance they reach."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import psycopg
import pytest

from tests.fixtures.openai_chat import FakeChatService
from tests.integration.conftest import Account, Tenant, chat_instances, problem
from tests.support.processes import ServiceProcess

TOKENS_PER_REPLY = 21 + 5
LINE = "Can I tell you about GAP coverage for your loan?"


@pytest.fixture(scope="module")
def instances(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[str], FakeChatService]]:
    """Two API server processes sharing PostgreSQL, Redis and one fake chat model."""
    log_dir = tmp_path_factory.mktemp("usage-budgets")
    with chat_instances(database_url, redis_url, log_dir) as served:
        yield served


async def _conversation(url: str, account: Account) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=account.headers) as http:
        started = await http.post(
            "/v1/conversations", json={"mode": "roleplay", "scenario": "already_covered"}
        )
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


async def _say(url: str, account: Account, conversation: str) -> httpx.Response:
    """The same first line in a fresh roleplay conversation: the same prompt, the same hold."""
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=account.headers) as http:
        return await http.post(f"/v1/conversations/{conversation}/messages", json={"content": LINE})


async def set_budget(
    client: httpx.AsyncClient, super_admin: Account, tenant: Tenant, budget: int | None
) -> None:
    response = await client.patch(
        f"/v1/dealerships/{tenant.dealership_id}",
        json={"monthly_token_budget": budget},
        headers=super_admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["monthly_token_budget"] == budget


def _rows(database_url: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, args).fetchall()


async def test_every_reply_is_recorded_once_and_reported_per_day_as_json_and_csv(
    tenant: Tenant, instances: tuple[list[str], FakeChatService], database_url: str
) -> None:
    (first_api, second_api), _ = instances
    replies = []
    for url in (first_api, second_api):
        conversation = await _conversation(url, tenant.user)
        reply = await _say(url, tenant.user, conversation)
        assert reply.status_code == 201, reply.text
        replies.append(reply.json())

    recorded = await asyncio.to_thread(
        _rows,
        database_url,
        "SELECT u.message_id, u.model, u.prompt_tokens, u.completion_tokens, u.cached, m.role"
        " FROM usage_records u JOIN messages m ON m.id = u.message_id"
        " WHERE u.dealership_id = %s ORDER BY u.created_at",
        uuid.UUID(tenant.dealership_id),
    )
    assert [(str(r[0]), *r[1:]) for r in recorded] == [
        (str(reply["id"]), "fake-chat", 21, 5, False, "assistant") for reply in replies
    ]

    today = datetime.now(UTC).date().isoformat()
    async with httpx.AsyncClient(
        base_url=first_api, timeout=30, headers=tenant.admin.headers
    ) as http:
        report = await http.get("/v1/usage", params={"from": today, "to": today})
        as_csv = await http.get(
            "/v1/usage", params={"from": today, "to": today}, headers={"accept": "text/csv"}
        )
        by_user = await http.get("/v1/usage", headers=tenant.user.headers)
        backwards = await http.get("/v1/usage", params={"from": today, "to": "2000-01-01"})
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["from"], body["to"], body["dealership_id"]) == (
        today,
        today,
        tenant.dealership_id,
    )
    assert body["days"] == [
        {
            "day": today,
            "model_calls": 2,
            "cached_answers": 0,
            "prompt_tokens": 42,
            "completion_tokens": 10,
            "speech_seconds": 0.0,
            "speech_tokens": 0,
        }
    ]
    assert body["budget"]["monthly_token_budget"] is None
    assert (body["budget"]["used_tokens"], body["budget"]["remaining_tokens"]) == (52, None)
    assert as_csv.status_code == 200, as_csv.text
    # RFC 4180's header parameter, and the charset once (RFC 6838 §4.3: a parameter only once)
    assert as_csv.headers["content-type"] == "text/csv; header=present; charset=utf-8"
    assert list(csv.reader(io.StringIO(as_csv.text))) == [
        [
            "day",
            "model_calls",
            "cached_answers",
            "prompt_tokens",
            "completion_tokens",
            "speech_seconds",
            "speech_tokens",
        ],
        [today, "2", "0", "42", "10", "0.0", "0"],
    ]
    assert by_user.status_code == 403
    assert backwards.status_code == 422
    assert problem(backwards)["code"] == "invalid_input"


async def test_a_budget_admits_exactly_the_replies_it_can_hold_across_two_instances(
    client: httpx.AsyncClient,
    super_admin: Account,
    tenant: Tenant,
    instances: tuple[list[str], FakeChatService],
    database_url: str,
) -> None:
    """Given a budget of N holds, when N + 1 identical replies are asked for at once on
    two instances (each held while the model takes two seconds), then exactly N are
    answered and one is refused; and with the spent tokens settled, the budget admits a
    reply at exactly `spent + hold` and refuses it one token below."""
    apis, chat = instances
    # A 1-token budget refuses, and says what one reply holds.
    await set_budget(client, super_admin, tenant, 1)
    probe = await _conversation(apis[0], tenant.user)
    refused = await _say(apis[0], tenant.user, probe)
    assert refused.status_code == 429, refused.text
    details = problem(refused)
    assert details["code"] == "budget_exhausted"
    hold = int(details["details"]["required"])  # type: ignore[index]
    now = datetime.now(UTC)
    first_of_next = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    retry_after = int(refused.headers["retry-after"])
    assert abs(retry_after - (first_of_next - now).total_seconds()) < 60
    async with httpx.AsyncClient(base_url=apis[0], headers=tenant.user.headers) as http:
        stored = await http.get(f"/v1/conversations/{probe}")
    assert stored.json()["messages"] == [], "a refused message is not stored"

    n = 4
    await set_budget(client, super_admin, tenant, n * hold)
    conversations = [await _conversation(apis[i % 2], tenant.user) for i in range(n + 1)]
    chat.delay_s = 2.0
    try:
        answers = await asyncio.gather(
            *(_say(apis[i % 2], tenant.user, c) for i, c in enumerate(conversations))
        )
    finally:
        chat.delay_s = 0.0
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * n + [429], [a.text for a in answers]
    assert {problem(a)["code"] for a in answers if a.status_code == 429} == {"budget_exhausted"}

    spent = n * TOKENS_PER_REPLY
    await set_budget(client, super_admin, tenant, spent + hold - 1)
    short = await _say(apis[1], tenant.user, await _conversation(apis[1], tenant.user))
    assert short.status_code == 429, short.text
    await set_budget(client, super_admin, tenant, spent + hold)
    exact = await _say(apis[0], tenant.user, await _conversation(apis[0], tenant.user))
    assert exact.status_code == 201, exact.text

    alerts = await asyncio.to_thread(
        _rows,
        database_url,
        "SELECT threshold FROM usage_alerts WHERE dealership_id = %s ORDER BY threshold",
        uuid.UUID(tenant.dealership_id),
    )
    assert alerts == [(100,)], "refused on both instances, alerted once"
    async with httpx.AsyncClient(base_url=apis[1], headers=tenant.admin.headers) as http:
        usage = (await http.get("/v1/usage")).json()
    assert usage["budget"]["used_tokens"] == spent + TOKENS_PER_REPLY
    assert usage["budget"]["monthly_token_budget"] == spent + hold
    await set_budget(client, super_admin, tenant, None)


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A webhook receiver answering 200; yields its URL and the bodies received."""
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", received
    server.shutdown()
    server.server_close()


async def test_an_exhausted_budget_is_announced_once_to_webhook_subscribers(
    client: httpx.AsyncClient,
    super_admin: Account,
    tenant: Tenant,
    instances: tuple[list[str], FakeChatService],
    receiver: tuple[str, list[dict[str, object]]],
    worker: ServiceProcess,
) -> None:
    url, received = receiver
    subscribed = await client.post(
        "/v1/webhooks",
        json={"url": url, "events": ["usage.budget_threshold"]},
        headers=tenant.admin.headers,
    )
    assert subscribed.status_code == 201, subscribed.text
    await set_budget(client, super_admin, tenant, 1)
    for api in instances[0]:
        refused = await _say(api, tenant.user, await _conversation(api, tenant.user))
        assert refused.status_code == 429, refused.text

    # Once, not fast, is what this asserts: the session's shared worker may still be
    # working through deliveries earlier tests left (seen taking over 30 s in a full run).
    deadline = time.monotonic() + 90
    while not received and time.monotonic() < deadline:  # noqa: ASYNC110 -- another thread
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # a second event would be relayed by now

    assert len(received) == 1, received
    [event] = received
    assert event["type"] == "usage.budget_threshold"
    data = event["data"]
    assert isinstance(data, dict)
    assert data["dealership_id"] == tenant.dealership_id
    assert (data["threshold"], data["monthly_token_budget"], data["used_tokens"]) == (
        "100",
        "1",
        "0",
    )
    assert data["period"] == datetime.now(UTC).strftime("%Y-%m")
    await set_budget(client, super_admin, tenant, None)

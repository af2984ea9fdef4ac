"""The answer cache across two API processes whose chat model is the local fake OpenAI
server (it counts model calls): a first training question asked again in the dealership
is served without a model call, on either instance, until the knowledge base changes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.openai_chat import FakeChatService
from tests.integration.conftest import Account, Tenant, chat_instances
from tests.integration.test_ingestion import upload, wait_for_status

QUESTION = "Can I tell a customer GAP is required?"
RULE = b"Never tell a customer that GAP is required to get the loan approved.\n"


@pytest.fixture(scope="module")
def instances(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[str], FakeChatService]]:
    """Two API server processes sharing PostgreSQL, Redis and one fake chat model."""
    log_dir = tmp_path_factory.mktemp("answer-cache")
    with chat_instances(database_url, redis_url, log_dir) as served:
        yield served


async def _ask(url: str, account: Account, question: str = QUESTION) -> dict[str, object]:
    """A first question in a new training conversation on the instance at `url`."""
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=account.headers) as http:
        started = await http.post("/v1/conversations", json={"mode": "training"})
        assert started.status_code == 201, started.text
        path = f"/v1/conversations/{started.json()['id']}/messages"
        reply = await http.post(path, json={"content": question})
    assert reply.status_code == 201, reply.text
    body: dict[str, object] = reply.json()
    return body


async def _ready(client: httpx.AsyncClient, tenant: Tenant, content: bytes, name: str) -> str:
    response = await upload(client, tenant.admin, content, name, topic="compliance")
    document_id = str(response.json()["id"])
    await wait_for_status(client, tenant.admin, document_id, {"ready"})
    return document_id


async def test_a_first_question_is_answered_once_per_knowledge_base_across_instances(
    client: httpx.AsyncClient,
    tenant: Tenant,
    instances: tuple[list[str], FakeChatService],
    worker: object,
) -> None:
    (first_api, second_api), chat = instances
    rule = await _ready(client, tenant, RULE * 3, "rules.txt")
    calls = len(chat.requests)

    generated = await _ask(first_api, tenant.user)
    served = await _ask(second_api, tenant.admin, f"  {QUESTION.upper()} ")

    assert len(chat.requests) == calls + 1, "the second instance asked no model"
    assert (generated["cached"], served["cached"]) == (False, True)
    assert served["content"] == generated["content"]
    assert served["sources"] == generated["sources"]
    assert served["usage"] is None

    # A document becoming ready changes the knowledge base: the model is asked again.
    await _ready(client, tenant, b"Dealer reserve is the markup on the buy rate.\n" * 3, "r.txt")
    after_ready = await _ask(second_api, tenant.user)
    assert after_ready["cached"] is False
    assert len(chat.requests) == calls + 2

    # So does a delete, from the moment it is accepted.
    deleted = await client.delete(f"/v1/documents/{rule}", headers=tenant.admin.headers)
    assert deleted.status_code == 202
    after_delete = await _ask(first_api, tenant.user)
    assert after_delete["cached"] is False
    assert len(chat.requests) == calls + 3
    await wait_for_status(client, tenant.admin, rule, {"gone"})


async def test_concurrent_first_questions_on_two_instances_cost_one_model_call(
    client: httpx.AsyncClient, tenant: Tenant, instances: tuple[list[str], FakeChatService]
) -> None:
    (first_api, second_api), chat = instances
    await _ready(client, tenant, RULE * 3, "rules.txt")
    calls = len(chat.requests)

    replies = await asyncio.gather(
        *(_ask((first_api, second_api)[i % 2], tenant.user) for i in range(8))
    )

    assert len(chat.requests) == calls + 1
    assert sorted(bool(r["cached"]) for r in replies) == [False] + [True] * 7
    assert len({str(r["content"]) for r in replies}) == 1

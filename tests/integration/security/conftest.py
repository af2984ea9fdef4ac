"""A victim dealership holding one object of every kind an id can name."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest

from avataradam.domain.model.knowledge_gaps import GapQuestion, GapReason
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings import load_settings
from tests.integration.conftest import Account, Tenant, new_tenant, service_environment
from tests.support.asgi import api_client


@asynccontextmanager
async def deployment(
    database_url: str, redis_url: str, overrides: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """The API of another deployment on the test database, configured by `overrides`."""
    settings = load_settings(
        service_environment(database_url, redis_url) | overrides, env_file=None
    )
    async with api_client(build_container(settings)) as http:
        yield http


@dataclass(frozen=True)
class Holdings:
    """A tenant and the ids of its objects, by the path parameter that names them."""

    tenant: Tenant
    ids: dict[str, str]


async def _created(response: httpx.Response) -> dict[str, object]:
    assert response.status_code in {201, 202}, response.text
    body: dict[str, object] = response.json()
    return body


async def _knowledge_gap(
    client: httpx.AsyncClient, container: Container, tenant: Tenant, reply: dict[str, object]
) -> str:
    """The tenant's knowledge gap of the reply's question. Recorded here too (no-op if
    the chat recorded it): the reply is a gap only if the worker had not ingested the
    document yet; grouped in this process (a worker may not run)."""
    message_id, dealership_id = uuid.UUID(str(reply["id"])), uuid.UUID(tenant.dealership_id)
    async with container.uow() as uow:
        await uow.knowledge_gaps.add_question(
            GapQuestion(
                message_id=message_id,
                dealership_id=dealership_id,
                conversation_id=uuid.UUID(str(reply["conversation_id"])),
                user_id=uuid.UUID(tenant.user.id),
                question="How do I present GAP?",
                language="en",
                reason=GapReason.NO_MATERIAL,
                top_score=None,
                asked_at=datetime.fromisoformat(str(reply["created_at"])),
            )
        )
        await uow.commit()
    await container.knowledge_gaps.group(dealership_id)
    listed = await client.get("/v1/analytics/knowledge-gaps", headers=tenant.admin.headers)
    assert listed.status_code == 200, listed.text
    [gap] = listed.json()["items"]
    return str(gap["id"])


async def holdings_of(client: httpx.AsyncClient, tenant: Tenant, container: Container) -> Holdings:
    admin, user = tenant.admin.headers, tenant.user.headers
    document = await _created(
        await client.post(
            "/v1/documents",
            files={"file": ("secret.txt", b"Our confidential GAP pricing playbook.\n" * 4)},
            data={"topic": "playbooks"},
            headers=admin,
        )
    )
    webhook = await _created(
        await client.post(
            "/v1/webhooks",
            json={"url": "https://hooks.example.com/victim", "events": ["document.ready"]},
            headers=admin,
        )
    )
    scenario = await _created(
        await client.post(
            "/v1/scenarios",
            json={
                "slug": "victims_own_customer",
                "title": "Our confidential objection drill",
                "product": "gap",
                "difficulty": 2,
                "persona": {
                    "name": "Vic",
                    "description": "a customer only this dealership trains on",
                    "opening_lines": ["Tell me why GAP matters for me."],
                    "script": ["Is it optional?"],
                },
                "objectives": ["Say that GAP is optional."],
            },
            headers=admin,
        )
    )
    assignment = await _created(
        await client.post(
            "/v1/assignments",
            json={
                "scenario_id": str(scenario["id"]),
                "assignee_ids": [tenant.user.id],
                "due_at": "2999-01-01T00:00:00Z",
                "min_score": 80,
                "note": "Our confidential drill for one trainee",
            },
            headers=admin,
        )
    )
    rubric = await _created(
        await client.post(
            "/v1/rubrics",
            json={
                "id": "victims-rubric",
                "title": "Our confidential rubric",
                "criteria": [
                    {
                        "id": "discovery",
                        "title": "Discovery",
                        "weight": 1,
                        "checks": [{"uses": "fi-office/asked_budget"}],
                    }
                ],
            },
            headers=admin,
        )
    )
    conversation = await _created(
        await client.post("/v1/conversations", json={"mode": "training"}, headers=user)
    )
    reply = await _created(
        await client.post(
            f"/v1/conversations/{conversation['id']}/messages",
            json={"content": "How do I present GAP?"},
            headers=user,
        )
    )
    return Holdings(
        tenant=tenant,
        ids={
            "dealership_id": tenant.dealership_id,
            "user_id": tenant.user.id,
            "document_id": str(document["id"]),
            "webhook_id": str(webhook["id"]),
            "scenario_id": str(scenario["id"]),
            "assignment_id": str(assignment["id"]),
            "rubric": str(rubric["id"]),  # an own rubric's id is unique per dealership only
            "conversation_id": str(conversation["id"]),
            "message_id": str(reply["id"]),
            "gap_id": await _knowledge_gap(client, container, tenant, reply),
        },
    )


@pytest.fixture(scope="module")
async def victim(client: httpx.AsyncClient, super_admin: Account, container: Container) -> Holdings:
    return await holdings_of(client, await new_tenant(client, super_admin), container)


@pytest.fixture(scope="module")
async def attacker(client: httpx.AsyncClient, super_admin: Account) -> Tenant:
    return await new_tenant(client, super_admin)

"""A victim dealership holding one object of every kind an id can name."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.integration.conftest import Account, Tenant, new_tenant


@dataclass(frozen=True)
class Holdings:
    """A tenant and the ids of its objects, by the path parameter that names them."""

    tenant: Tenant
    ids: dict[str, str]


async def _created(response: httpx.Response) -> dict[str, object]:
    assert response.status_code in {201, 202}, response.text
    body: dict[str, object] = response.json()
    return body


async def holdings_of(client: httpx.AsyncClient, tenant: Tenant) -> Holdings:
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
            "conversation_id": str(conversation["id"]),
            "message_id": str(reply["id"]),
        },
    )


@pytest.fixture(scope="module")
async def victim(client: httpx.AsyncClient, super_admin: Account) -> Holdings:
    return await holdings_of(client, await new_tenant(client, super_admin))


@pytest.fixture(scope="module")
async def attacker(client: httpx.AsyncClient, super_admin: Account) -> Tenant:
    return await new_tenant(client, super_admin)

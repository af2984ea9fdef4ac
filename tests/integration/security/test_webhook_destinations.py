"""Webhook URLs that point into the deployment's own network are refused at subscription.

The `guarded` deployment runs with `AVATARADAM_WEBHOOKS_ALLOW_PRIVATE=false`, the
production default; the shared test deployment (`client`) allows private addresses for
its local receivers, and still refuses link-local and cloud metadata addresses.
Addresses that only DNS reveals are re-checked by the sender on every delivery
(tests/unit/test_ssrf_guard.py, tests/integration/test_webhook_sender.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.integration.conftest import Tenant, problem
from tests.integration.security.conftest import deployment


@pytest.fixture(scope="module")
async def guarded(database_url: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with deployment(
        database_url, redis_url, {"AVATARADAM_WEBHOOKS_ALLOW_PRIVATE": "false"}
    ) as http:
        yield http


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.1/hook",
        "http://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://2130706433/hook",
        "http://0x7f.0.0.1/hook",
    ],
)
async def test_webhook_url_pointing_at_a_private_address_is_refused(
    guarded: httpx.AsyncClient, tenant: Tenant, url: str
) -> None:
    response = await guarded.post(
        "/v1/webhooks",
        json={"url": url, "events": ["document.ready"]},
        headers=tenant.admin.headers,
    )

    assert response.status_code == 422, response.text
    assert problem(response)["code"] == "webhook_destination_refused"
    listed = await guarded.get("/v1/webhooks", headers=tenant.admin.headers)
    assert listed.json()["items"] == []


async def test_webhook_url_with_a_public_address_is_accepted(
    guarded: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await guarded.post(
        "/v1/webhooks",
        json={"url": "https://93.184.215.14/hook", "events": ["document.ready"]},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://2852039166/latest/meta-data/",
        "http://0xa9fea9fe/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]/hook",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_metadata_and_link_local_urls_are_refused_even_where_private_ones_are_allowed(
    client: httpx.AsyncClient, tenant: Tenant, url: str
) -> None:
    response = await client.post(
        "/v1/webhooks",
        json={"url": url, "events": ["document.ready"]},
        headers=tenant.admin.headers,
    )

    assert response.status_code == 422, response.text
    assert problem(response)["code"] == "webhook_destination_refused"
    listed = await client.get("/v1/webhooks", headers=tenant.admin.headers)
    assert listed.json()["items"] == []


async def test_an_on_premises_receiver_is_accepted_where_private_ones_are_allowed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/webhooks",
        json={"url": "http://10.0.0.7:8080/hook", "events": ["document.ready"]},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 201, response.text

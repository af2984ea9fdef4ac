"""Re-embedding a dealership's knowledge base over the HTTP API: start (202 + Location),
follow, and every refusal, then one run to completion by the real worker.

Real PostgreSQL throughout. The refusal tests need a re-embedding to stay `running`,
which no worker may then take (the session's worker may be running for other tests):
their app (`api`, `queue`) is wired to the same database with a queue that records
what is enqueued instead of sending it to Redis, so they also check what was queued.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from avataradam.adapters.memory.queue import InMemoryTaskQueue
from avataradam.domain.tasks import REEMBED_KNOWLEDGE_BASE
from avataradam.entrypoints.bootstrap import Overrides, build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import Settings
from tests.integration.conftest import Account, Tenant, problem
from tests.integration.test_ingestion import upload, wait_for_status
from tests.support.asgi import asgi_transport
from tests.support.processes import ServiceProcess


@pytest.fixture(scope="module")
def queue() -> InMemoryTaskQueue:
    return InMemoryTaskQueue()


@pytest.fixture(scope="module")
async def api(settings: Settings, queue: InMemoryTaskQueue) -> AsyncIterator[httpx.AsyncClient]:
    built = build_container(settings, Overrides(queue=queue))
    await built.start()
    transport = asgi_transport(create_app(built))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await built.close()


def reembeddings(dealership_id: str) -> str:
    return f"/v1/admin/dealerships/{dealership_id}/reembeddings"


def other_profile(container: Container) -> str:
    """A valid profile other than the configured one (the one a new dealership reads)."""
    embedder, _, context = container.knowledge.profiles.configured.partition(":")
    return f"{embedder}:{'none' if context != 'none' else 'title_section'}"


async def test_start_answers_202_with_the_running_reembedding_and_where_to_follow_it(
    api: httpx.AsyncClient, queue: InMemoryTaskQueue, container: Container, tenant: Tenant
) -> None:
    target = other_profile(container)
    started = await api.post(
        reembeddings(tenant.dealership_id), json={"profile": target}, headers=tenant.admin.headers
    )

    assert started.status_code == 202, started.text
    body = started.json()
    assert body["status"] == "running"
    assert body["target_profile"] == target
    assert body["source_profile"] == container.knowledge.profiles.configured
    assert body["generation"] == 1
    assert (body["documents_done"], body["chunks_done"], body["progress"]) == (0, 0, 0.0)
    assert body["finished_at"] is None
    assert body["error_message"] is None
    location = started.headers["location"]
    assert location == f"{reembeddings(tenant.dealership_id)}/1"

    followed = await api.get(location, headers=tenant.admin.headers)
    assert followed.status_code == 200
    assert followed.json() == body
    queued = [t.payload for t in queue.sent if t.task == REEMBED_KNOWLEDGE_BASE]
    assert {"dealership_id": tenant.dealership_id, "generation": "1"} in queued


async def test_a_second_start_while_one_runs_is_409_naming_the_running_generation(
    api: httpx.AsyncClient, container: Container, super_admin: Account, tenant: Tenant
) -> None:
    url = reembeddings(tenant.dealership_id)
    target = other_profile(container)
    first = await api.post(url, json={"profile": target}, headers=super_admin.headers)
    assert first.status_code == 202, first.text

    second = await api.post(url, json={"profile": target}, headers=tenant.admin.headers)

    assert second.status_code == 409
    body = problem(second)
    assert body["code"] == "reembedding_running"
    assert body["details"] == {"generation": first.json()["generation"]}


async def test_an_unknown_profile_is_422_naming_the_valid_ones(
    api: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    response = await api.post(
        reembeddings(tenant.dealership_id),
        json={"profile": "word2vec:title_section"},
        headers=tenant.admin.headers,
    )

    assert response.status_code == 422
    body = problem(response)
    assert body["errors"][0]["field"] == "profile"  # type: ignore[index]
    assert "word2vec:title_section" in str(body["detail"])
    for valid in ("local:title_section", "e5:none", other_profile(container)):
        assert valid in str(body["detail"])
    listed = await api.get(reembeddings(tenant.dealership_id), headers=tenant.admin.headers)
    assert listed.json()["items"] == []


async def test_the_profile_search_reads_already_is_422_and_so_is_the_default_then(
    api: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    configured = container.knowledge.profiles.configured
    url = reembeddings(tenant.dealership_id)
    named = await api.post(url, json={"profile": configured}, headers=tenant.admin.headers)
    default = await api.post(url, json={}, headers=tenant.admin.headers)

    for response in (named, default):
        assert response.status_code == 422, response.text
        body = problem(response)
        assert configured in str(body["detail"])
        assert body["errors"][0]["field"] == "profile"  # type: ignore[index]


async def test_an_unknown_dealership_is_404_everywhere(
    api: httpx.AsyncClient, super_admin: Account
) -> None:
    url = reembeddings(str(uuid.uuid4()))
    responses = [
        await api.post(url, json={"profile": "hashing:none"}, headers=super_admin.headers),
        await api.get(url, headers=super_admin.headers),
        await api.get(f"{url}/1", headers=super_admin.headers),
    ]
    for response in responses:
        assert response.status_code == 404, response.text
        assert problem(response)["code"] == "not_found"


async def test_a_plain_user_is_403_and_another_dealerships_admin_404(
    api: httpx.AsyncClient, container: Container, tenant: Tenant, other_tenant: Tenant
) -> None:
    url = reembeddings(tenant.dealership_id)
    body = {"profile": other_profile(container)}
    for account, status in ((tenant.user, 403), (other_tenant.admin, 404)):
        started = await api.post(url, json=body, headers=account.headers)
        listed = await api.get(url, headers=account.headers)
        for response in (started, listed):
            assert response.status_code == status, response.text
            assert problem(response)["code"] == (
                "permission_denied" if status == 403 else "not_found"
            )
    listed = await api.get(url, headers=tenant.admin.headers)
    assert listed.json()["items"] == []


async def test_list_shows_the_active_vectors_and_the_reembeddings_then_get_one(
    api: httpx.AsyncClient, container: Container, super_admin: Account, tenant: Tenant
) -> None:
    url = reembeddings(tenant.dealership_id)
    before = await api.get(url, headers=super_admin.headers)
    assert before.status_code == 200
    configured = container.knowledge.profiles.configured
    assert before.json() == {"active": {"generation": 0, "profile": configured}, "items": []}

    started = await api.post(
        url, json={"profile": other_profile(container)}, headers=super_admin.headers
    )
    assert started.status_code == 202

    after = await api.get(url, headers=tenant.admin.headers)
    assert after.json() == {
        "active": {"generation": 0, "profile": configured},
        "items": [started.json()],
    }
    one = await api.get(f"{url}/{started.json()['generation']}", headers=super_admin.headers)
    assert one.json() == started.json()
    for generation in ("7", "-1", "0", str(2**31), str(2**70)):
        missing = await api.get(f"{url}/{generation}", headers=super_admin.headers)
        assert missing.status_code == 404, (generation, missing.text)
        assert problem(missing)["code"] == "not_found"


async def test_unknown_fields_of_the_body_are_refused(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await api.post(
        reembeddings(tenant.dealership_id),
        json={"profile": "hashing:none", "model": "x"},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 400
    assert problem(response)["code"] == "invalid_request"


async def wait_for_reembedding(
    client: httpx.AsyncClient, account: Account, url: str, timeout_s: float = 90
) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        body = (await client.get(url, headers=account.headers)).json()
        if body["status"] != "running":
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"re-embedding {url} still running: {body}")


async def test_the_worker_completes_it_and_search_reads_the_new_generation(
    client: httpx.AsyncClient, container: Container, tenant: Tenant, worker: ServiceProcess
) -> None:
    text = b"GAP covers the difference between the loan balance and the car's value.\n" * 20
    uploaded = await upload(client, tenant.admin, text, "gap.txt")
    assert uploaded.status_code == 202, uploaded.text
    ready = await wait_for_status(client, tenant.admin, uploaded.json()["id"], {"ready"})
    target = other_profile(container)

    started = await client.post(
        reembeddings(tenant.dealership_id), json={"profile": target}, headers=tenant.admin.headers
    )
    assert started.status_code == 202, started.text
    assert started.json()["documents_total"] == 1
    done = await wait_for_reembedding(client, tenant.admin, started.headers["location"])

    assert done["status"] == "completed", (done, worker.output()[-3000:])
    assert (done["documents_done"], done["progress"]) == (1, 1.0)
    assert done["chunks_done"] == ready["chunk_count"]
    assert done["finished_at"] is not None
    listed = await client.get(reembeddings(tenant.dealership_id), headers=tenant.admin.headers)
    assert listed.json()["active"] == {"generation": 1, "profile": target}
    found = await client.post(
        "/v1/search", json={"query": "what does GAP cover"}, headers=tenant.user.headers
    )
    assert found.status_code == 200, found.text
    assert found.json()["results"], found.text

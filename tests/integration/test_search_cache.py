"""The shared retrieval cache across two API processes: hits, invalidation, single flight,
and searches that never starve while a well-matching document is not ready."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from ops.harness.processes import free_port, wait_until_healthy
from tests.integration.conftest import Tenant, service_environment
from tests.integration.test_ingestion import upload, wait_for_status
from tests.support.processes import ServiceProcess


@pytest.fixture(scope="module")
def instances(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    """Two API server processes sharing PostgreSQL and Redis."""
    log_dir: Path = tmp_path_factory.mktemp("apis")
    processes: list[ServiceProcess] = []
    urls: list[str] = []
    try:
        for index in range(2):
            port = free_port()
            env = service_environment(database_url, redis_url) | {"AVATARADAM_HTTP_PORT": str(port)}
            processes.append(ServiceProcess(["serve"], env, log_dir / f"api-{index}.log").start())
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            wait_until_healthy(url, process, timeout_s=60)
        yield urls
    finally:
        for process in processes:
            process.stop()


async def _search(url: str, tenant: Tenant, query: str, top_k: int = 5) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.post(
            "/v1/search", json={"query": query, "top_k": top_k}, headers=tenant.user.headers
        )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _counter(metrics: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _calls(urls: list[str]) -> tuple[float, float]:
    """Embedder calls and vector queries summed over every instance."""
    embeds = queries = 0.0
    async with httpx.AsyncClient(timeout=30) as http:
        for url in urls:
            text = (await http.get(f"{url}/metrics")).text
            name = "avataradam_external_call_duration_seconds_count"
            embeds += _counter(text, name, service="embedder", operation="embed")
            queries += _counter(text, name, service="vector_store", operation="query")
    return embeds, queries


async def test_second_instance_serves_the_first_instances_result_from_cache(
    client: httpx.AsyncClient, tenant: Tenant, instances: list[str], worker: object
) -> None:
    document = await upload(
        client, tenant.admin, b"Paint protection film keeps the finish new.\n" * 6, "ppf.txt"
    )
    await wait_for_status(client, tenant.admin, document.json()["id"], {"ready"})
    query = "paint protection film finish"
    first = await _search(instances[0], tenant, query)
    second = await _search(instances[1], tenant, query)
    assert first["cached"] is False
    assert second["cached"] is True
    assert second["results"] == first["results"]


async def test_a_changed_knowledge_base_is_never_served_stale(
    client: httpx.AsyncClient, tenant: Tenant, instances: list[str], worker: object
) -> None:
    query = "theft deterrent etching discount"
    old = await upload(
        client, tenant.admin, b"Theft deterrent etching earns an insurance discount.\n" * 6, "e.txt"
    )
    await wait_for_status(client, tenant.admin, old.json()["id"], {"ready"})
    assert (await _search(instances[0], tenant, query))["cached"] is False
    assert (await _search(instances[1], tenant, query))["cached"] is True

    new = await upload(
        client, tenant.admin, b"Etching discounts vary by theft deterrent insurer.\n" * 6, "f.txt"
    )
    await wait_for_status(client, tenant.admin, new.json()["id"], {"ready"})
    after_ready = await _search(instances[1], tenant, query)
    assert after_ready["cached"] is False
    assert new.json()["id"] in {r["document_id"] for r in after_ready["results"]}  # type: ignore[attr-defined]

    deleted = await client.delete(f"/v1/documents/{old.json()['id']}", headers=tenant.admin.headers)
    assert deleted.status_code == 202
    # Even before the worker purges it, the deleting document is never served.
    for url in instances:
        result = await _search(url, tenant, query)
        ids = {r["document_id"] for r in result["results"]}  # type: ignore[attr-defined]
        assert old.json()["id"] not in ids
    await wait_for_status(client, tenant.admin, old.json()["id"], {"gone"})
    final = await _search(instances[0], tenant, query)
    assert old.json()["id"] not in {r["document_id"] for r in final["results"]}  # type: ignore[attr-defined]


async def test_twenty_concurrent_identical_misses_cost_one_embed_and_one_query(
    tenant: Tenant, instances: list[str]
) -> None:
    query = f"single flight {uuid.uuid4().hex}"
    embeds_before, queries_before = await _calls(instances)
    results = await asyncio.gather(*(_search(instances[i % 2], tenant, query) for i in range(20)))
    embeds_after, queries_after = await _calls(instances)
    assert embeds_after - embeds_before == 1
    assert queries_after - queries_before == 1
    assert sum(1 for r in results if r["cached"] is False) == 1


async def test_search_never_crosses_dealerships(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    instances: list[str],
    worker: object,
) -> None:
    secret = f"zebra{uuid.uuid4().hex[:6]} warranty upsell script"
    created = await upload(client, other_tenant.admin, (secret + "\n").encode() * 5, "z.txt")
    await wait_for_status(client, other_tenant.admin, created.json()["id"], {"ready"})
    theirs = await _search(instances[0], other_tenant, secret)
    assert theirs["results"]
    mine = await _search(instances[0], tenant, secret)
    assert all(
        not re.search(secret.split(maxsplit=1)[0], str(r["text"]))
        for r in mine["results"]  # type: ignore[attr-defined]
    )


# --- search never starves -----------------------------------------------------------

BEST_MATCH = b"Tire and wheel protection covers pothole damage to rims and tires.\n"
SOME_MATCH = b"Tire and wheel protection is sold with a deductible.\nGAP covers the loan gap.\n"


def _document_ids(result: dict[str, object]) -> set[str]:
    return {str(r["document_id"]) for r in result["results"]}  # type: ignore[attr-defined]


@asynccontextmanager
async def _vectors_locked(pool: asyncpg.Pool, document_id: str) -> AsyncIterator[None]:
    """Holds the document's vector rows locked: the worker's purge waits on them."""
    async with pool.acquire() as conn, conn.transaction():
        locked = await conn.fetch(
            "SELECT id FROM chunk_vectors WHERE document_id = $1 FOR UPDATE",
            uuid.UUID(document_id),
        )
        assert locked, "the document has no vectors to hold"
        yield


@asynccontextmanager
async def _chunks_locked(pool: asyncpg.Pool) -> AsyncIterator[None]:
    """Holds back every chunk write: ingestion stops after its vectors, before `ready`."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE chunks IN SHARE MODE")
        yield


async def _wait_for_stage(
    client: httpx.AsyncClient, tenant: Tenant, document_id: str, stage: str
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = (
            await client.get(f"/v1/documents/{document_id}", headers=tenant.admin.headers)
        ).json()
        if body["stage"] == stage:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"document {document_id} never reached {stage}: {body}")


async def _ready(client: httpx.AsyncClient, tenant: Tenant, content: bytes, name: str) -> str:
    created = await upload(client, tenant.admin, content, name)
    assert created.status_code == 202, created.text
    document_id = str(created.json()["id"])
    await wait_for_status(client, tenant.admin, document_id, {"ready"})
    return document_id


async def test_search_serves_ready_documents_while_the_best_match_is_deleting(
    client: httpx.AsyncClient,
    tenant: Tenant,
    instances: list[str],
    worker: object,
    pg_pool: asyncpg.Pool,
) -> None:
    kept = await _ready(client, tenant, SOME_MATCH * 3, "kept.txt")
    doomed = await _ready(client, tenant, BEST_MATCH * 40, "doomed.txt")
    query = "tire and wheel protection pothole damage"
    assert _document_ids(await _search(instances[0], tenant, query, top_k=2)) == {doomed}

    async with _vectors_locked(pg_pool, doomed):
        deleted = await client.delete(f"/v1/documents/{doomed}", headers=tenant.admin.headers)
        assert deleted.status_code == 202
        during = await _search(instances[0], tenant, query, top_k=2)
        cached = await _search(instances[1], tenant, query, top_k=2)
        still = await client.get(f"/v1/documents/{doomed}", headers=tenant.admin.headers)

    assert still.json()["status"] == "deleting", "the window under test was not held"
    assert during["cached"] is False
    assert _document_ids(during) == {kept}
    assert cached["cached"] is True
    assert cached["results"] == during["results"]
    await wait_for_status(client, tenant.admin, doomed, {"gone"})
    assert _document_ids(await _search(instances[1], tenant, query, top_k=2)) == {kept}


async def test_search_serves_ready_documents_while_the_best_match_is_not_yet_ready(
    client: httpx.AsyncClient,
    tenant: Tenant,
    instances: list[str],
    worker: object,
    pg_pool: asyncpg.Pool,
) -> None:
    kept = await _ready(client, tenant, SOME_MATCH * 3, "kept.txt")
    query = "tire and wheel pothole rims damage protection"

    async with _chunks_locked(pg_pool):
        created = await upload(client, tenant.admin, BEST_MATCH * 40, "arriving.txt")
        arriving = str(created.json()["id"])
        await _wait_for_stage(client, tenant, arriving, "storing")
        during = await _search(instances[0], tenant, query, top_k=2)
        cached = await _search(instances[1], tenant, query, top_k=2)

    assert _document_ids(during) == {kept}
    assert cached["cached"] is True
    assert cached["results"] == during["results"]
    await wait_for_status(client, tenant.admin, arriving, {"ready"})
    assert _document_ids(await _search(instances[1], tenant, query, top_k=2)) == {arriving}

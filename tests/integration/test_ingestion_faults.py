"""Nothing acknowledged is lost: worker SIGKILL and a Redis flush mid-ingestion.

Each scenario ends with every document `ready` and exactly one set of chunks and
vectors, re-driven from PostgreSQL by the worker's reconciler.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from avataradam.entrypoints.container import Container
from ops.harness.environment import FAST_RECONCILE
from tests.integration.conftest import Tenant, service_environment
from tests.integration.test_ingestion import (
    corpus_file,
    stored_counts,
    upload,
    wait_for_status,
)
from tests.support.processes import ServiceProcess


class Workers:
    """Starts, kills and restarts worker processes sharing one log directory."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.running: list[ServiceProcess] = []

    def start(self) -> ServiceProcess:
        log = self.log_dir / f"worker-{len(self.running)}.log"
        process = ServiceProcess(["worker", "--processes", "1", "--threads", "2"], self.env, log)
        self.running.append(process.start())
        return process

    def stop_all(self) -> None:
        for process in self.running:
            process.stop()


@pytest.fixture
def workers(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(service_environment(database_url, redis_url) | FAST_RECONCILE, tmp_path)
    yield pool
    pool.stop_all()


async def _wait_for_stage(
    client: httpx.AsyncClient, tenant: Tenant, document_id: str, timeout_s: float = 60
) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = (
            await client.get(f"/v1/documents/{document_id}", headers=tenant.admin.headers)
        ).json()
        if body["status"] == "processing":
            return dict(body)
        assert body["status"] == "queued", body
        await asyncio.sleep(0.05)
    raise AssertionError("ingestion never started")


async def _assert_exactly_one_set(
    container: Container, tenant: Tenant, body: dict[str, object]
) -> None:
    assert body["status"] == "ready", body
    chunks, vectors = await stored_counts(container, tenant, str(body["id"]))
    assert chunks == vectors == body["chunk_count"]
    assert int(body["chunk_count"]) > 0


async def test_worker_killed_mid_ingestion_document_still_becomes_ready_once(
    client: httpx.AsyncClient, tenant: Tenant, container: Container, workers: Workers
) -> None:
    victim = workers.start()
    large = await upload(
        client, tenant.admin, corpus_file("GeoTopo-komprimiert.pdf"), "lecture.pdf", "books"
    )
    small = await upload(
        client,
        tenant.admin,
        b"Credit life insurance pays the loan if the borrower dies.\n" * 30,
        "credit-life.txt",
        "product_knowledge",
    )
    assert large.status_code == small.status_code == 202
    await _wait_for_stage(client, tenant, large.json()["id"])
    victim.kill()
    workers.start()
    for response in (large, small):
        body = await wait_for_status(
            client, tenant.admin, response.json()["id"], {"ready", "failed"}, timeout_s=120
        )
        await _assert_exactly_one_set(container, tenant, body)


async def test_redis_flushed_mid_ingestion_every_document_becomes_ready_once(
    client: httpx.AsyncClient,
    tenant: Tenant,
    container: Container,
    workers: Workers,
    redis_url: str,
) -> None:
    workers.start()
    large = await upload(
        client, tenant.admin, corpus_file("GeoTopo-komprimiert.pdf"), "topo.pdf", "books"
    )
    uploads = [large] + [
        await upload(
            client,
            tenant.admin,
            f"Vehicle service contract, plan {n}: covers powertrain repairs.\n".encode() * 40
            + uuid.uuid4().hex.encode(),
            f"vsc-{n}.txt",
            "product_knowledge",
        )
        for n in range(6)
    ]
    assert all(r.status_code == 202 for r in uploads)
    await _wait_for_stage(client, tenant, large.json()["id"])
    # One document is being processed, the others wait in Redis: the flush loses them.
    redis = aioredis.Redis.from_url(redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()
    for response in uploads:
        body = await wait_for_status(
            client, tenant.admin, response.json()["id"], {"ready", "failed"}, timeout_s=90
        )
        await _assert_exactly_one_set(container, tenant, body)

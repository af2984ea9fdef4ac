"""Replica stopped during read traffic: reads move to the primary, they do not fail.

The app's replica URL names the standby alone (no multi-host fallback in libpq), so
what keeps reads working is the app's own routing. At most the requests in flight at
the moment of the kill may fail.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ops.drills.app import AppProcess, start_app
from ops.drills.pgcluster import ReplicatedPair

from avataradam.adapters.postgres.migrate import apply_migrations
from tests.drills.clusters import require_cluster_tools

READERS = 4


@pytest.fixture
def pair() -> Iterator[ReplicatedPair]:
    require_cluster_tools()
    created = ReplicatedPair.create(synchronous=False)
    try:
        apply_migrations(created.primary.dsn(created.database))
        yield created
    finally:
        created.drop()


@pytest.fixture
def app(pair: ReplicatedPair, redis_url: str, tmp_path: Path) -> Iterator[AppProcess]:
    started = start_app(
        pair, redis_url=redis_url, workdir=tmp_path, replica_dsn=pair.standby.dsn(pair.database)
    )
    try:
        yield started
    finally:
        started.stop()


def fallbacks(metrics_text: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith("avataradam_db_replica_fallbacks_total "):
            return float(line.split()[1])
    return 0.0


async def read_until(
    client: httpx.AsyncClient, headers: dict[str, str], dealership_id: str, stop: asyncio.Event
) -> list[tuple[float, int]]:
    """(completion time, worst status of the pair of reads; 0 for no answer)."""
    outcomes: list[tuple[float, int]] = []
    while not stop.is_set():
        try:
            listed = await client.get("/v1/dealerships", params={"limit": 5}, headers=headers)
            one = await client.get(f"/v1/dealerships/{dealership_id}", headers=headers)
        except httpx.HTTPError:
            outcomes.append((time.monotonic(), 0))
        else:
            outcomes.append((time.monotonic(), max(listed.status_code, one.status_code)))
        await asyncio.sleep(0.01)
    return outcomes


async def exercise(pair: ReplicatedPair, app: AppProcess) -> None:
    headers = await asyncio.to_thread(app.sign_in_super_admin)
    async with httpx.AsyncClient(base_url=app.base_url, timeout=10) as client:
        created = await client.post("/v1/dealerships", json={"name": "Replica"}, headers=headers)
        assert created.status_code == 201, created.text
        dealership_id = created.json()["id"]

        ready = await client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ok"
        assert ready.json()["replication"]["reads_on"] == "replica"
        assert ready.json()["checks"]["postgres_replica"]["status"] == "ok"

        stop = asyncio.Event()
        readers = [
            asyncio.create_task(read_until(client, headers, dealership_id, stop))
            for _ in range(READERS)
        ]
        await asyncio.sleep(1.0)
        before = fallbacks((await client.get("/metrics")).text)
        stopped_at = time.monotonic()
        await asyncio.to_thread(pair.standby.kill_all)
        await asyncio.sleep(2.0)
        stop.set()
        outcomes = [o for reader in await asyncio.gather(*readers) for o in reader]

        ready = await client.get("/health/ready")
        after = fallbacks((await client.get("/metrics")).text)

    before_stop = [status for done, status in outcomes if done < stopped_at]
    after_stop = [status for done, status in outcomes if done >= stopped_at]
    assert before_stop
    assert all(status == 200 for status in before_stop)
    assert before == 0, "reads ran on the replica while it was up"
    failed = [status for status in after_stop if status != 200]
    assert len(failed) <= READERS, f"only in-flight reads may fail: {failed}"
    assert len(after_stop) - len(failed) >= 10 * READERS, "reads went on after the stop"
    assert after > 0, "the fallback to the primary is counted"
    body = ready.json()
    assert ready.status_code == 200, "a lost replica degrades, it does not take the API out"
    assert body["status"] == "degraded"
    assert body["checks"]["postgres_replica"]["status"] == "failed"
    assert body["replication"]["status"] == "unavailable"
    assert body["replication"]["reads_on"] == "primary"


@pytest.mark.timeout(90)
def test_reads_keep_succeeding_when_the_replica_is_stopped(
    pair: ReplicatedPair, app: AppProcess
) -> None:
    asyncio.run(exercise(pair, app))

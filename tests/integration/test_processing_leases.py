"""A worker SIGKILLed mid-ingestion: its lease lapses, the document shows `stalled`,
and another worker takes it up and finishes it. Short lease settings make it take
seconds; `ops/drills/worker_kill.py` (`just drill-worker-kill`) is the same with the
default settings and many trials."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from avataradam.entrypoints.container import Container
from tests.integration.conftest import FAST_RECONCILE, Account, Tenant, service_environment
from tests.integration.test_ingestion import corpus_file, stored_counts, upload
from tests.integration.test_ingestion_faults import Workers

LEASE_S = 3.0
SHORT_LEASES = {
    "AVATARADAM_INGESTION_LEASE_S": str(LEASE_S),
    "AVATARADAM_INGESTION_LEASE_RENEW_INTERVAL_S": "0.5",
    "AVATARADAM_INGESTION_RECONCILE_INTERVAL_S": "0.5",
}
READY_WITHIN_S = 60.0
"""The drill's promise, kept here too on a busy test machine with a worker to start."""


@dataclass
class Timeline:
    """What a poller of `GET /v1/documents/{id}` saw: (seconds since the kill, status,
    stalled, attempts)."""

    observed: list[tuple[float, str, bool, int]] = field(default_factory=list)

    def first(self, *, stalled: bool | None = None, status: str | None = None) -> float | None:
        return next(
            (
                at
                for at, seen_status, seen_stalled, _ in self.observed
                if (stalled is None or seen_stalled is stalled)
                and (status is None or seen_status == status)
            ),
            None,
        )


@pytest.fixture
def workers(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(
        service_environment(database_url, redis_url) | FAST_RECONCILE | SHORT_LEASES, tmp_path
    )
    yield pool
    pool.stop_all()


async def _document(
    client: httpx.AsyncClient, account: Account, document_id: str
) -> dict[str, object]:
    response = await client.get(f"/v1/documents/{document_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def _poll_until_settled(
    client: httpx.AsyncClient, account: Account, document_id: str, since: float
) -> tuple[Timeline, dict[str, object]]:
    timeline = Timeline()
    body: dict[str, object] = {}
    while time.monotonic() - since < READY_WITHIN_S + 30:
        body = await _document(client, account, document_id)
        status, stalled, attempts = str(body["status"]), body["stalled"], body["attempts"]
        assert isinstance(stalled, bool)
        assert isinstance(attempts, int)
        timeline.observed.append((time.monotonic() - since, status, stalled, attempts))
        if status in {"ready", "failed"}:
            break
        await asyncio.sleep(0.1)
    return timeline, body


async def test_a_killed_workers_document_is_stalled_then_taken_up_and_ready(
    client: httpx.AsyncClient, tenant: Tenant, container: Container, workers: Workers
) -> None:
    victim = workers.start()
    response = await upload(
        client, tenant.admin, corpus_file("GeoTopo-komprimiert.pdf"), "lecture.pdf", "books"
    )
    assert response.status_code == 202, response.text
    document_id = response.json()["id"]
    deadline = time.monotonic() + 90
    body = await _document(client, tenant.admin, document_id)
    while body["status"] == "queued" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        body = await _document(client, tenant.admin, document_id)
    assert body["status"] == "processing", body
    assert body["stalled"] is False, "a live worker holds its lease"

    victim.kill()
    killed_at = time.monotonic()
    workers.start()
    timeline, settled = await _poll_until_settled(client, tenant.admin, document_id, killed_at)

    stalled_at = timeline.first(stalled=True)
    ready_at = timeline.first(status="ready")
    assert stalled_at is not None, f"never stalled: {timeline.observed}"
    assert ready_at is not None, f"never ready: {settled}"
    assert ready_at <= READY_WITHIN_S, timeline.observed
    assert stalled_at < ready_at
    assert int(settled["attempts"]) >= 2, "taken up again after the kill"  # type: ignore[call-overload]
    chunks, vectors = await stored_counts(container, tenant, document_id)
    assert chunks == vectors == settled["chunk_count"]
    assert chunks > 0

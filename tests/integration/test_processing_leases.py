"""A worker SIGKILLed mid-ingestion: its lease lapses, the document shows `stalled`,
and another worker takes it up and finishes it. Short lease settings make it take
seconds; `ops/drills/worker_kill.py` (`just drill-worker-kill`) is the same with the
default settings and many trials."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from ops.drills.stack import DealershipAdmin, Stack, large_pdf
from tests.conftest import IN_CI

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


@pytest.fixture(scope="module")
def stack(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A database, a Redis server and an API of its own: no worker of the test session
    (which shares the session's database and Redis) can take the document, so the one
    killed here is the one that held it. Asks for `database_url` and `redis_url` for
    their skip-or-fail when the services are absent."""
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is not installed, and CI=true forbids skipping")
        pytest.skip("needs redis-server")
    with Stack(tmp_path_factory.mktemp("leases"), extra_env=SHORT_LEASES) as built:
        built.start_api()
        yield built


def _poll_until_settled(
    stack: Stack, admin: DealershipAdmin, document_id: str, since: float
) -> tuple[Timeline, dict[str, object]]:
    timeline = Timeline()
    body: dict[str, object] = {}
    while time.monotonic() - since < READY_WITHIN_S + 30:
        body = stack.document(admin, document_id)
        status, stalled, attempts = str(body["status"]), body["stalled"], body["attempts"]
        assert isinstance(stalled, bool)
        assert isinstance(attempts, int)
        timeline.observed.append((time.monotonic() - since, status, stalled, attempts))
        if status in {"ready", "failed"}:
            break
        time.sleep(0.1)
    return timeline, body


def test_a_killed_workers_document_is_stalled_then_taken_up_and_ready(stack: Stack) -> None:
    admin = stack.new_dealership_admin()
    victim = stack.start_worker()
    content, filename = large_pdf()
    document_id = stack.upload(admin, content, filename)
    body = stack.wait_until_processing(admin, document_id, timeout_s=90)
    assert body["stalled"] is False, "a live worker holds its lease"

    victim.kill_group()
    killed_at = time.monotonic()
    stack.start_worker()
    timeline, settled = _poll_until_settled(stack, admin, document_id, killed_at)

    stalled_at = timeline.first(stalled=True)
    ready_at = timeline.first(status="ready")
    assert stalled_at is not None, f"never stalled: {timeline.observed}"
    assert ready_at is not None, f"never ready: {settled}"
    assert ready_at <= READY_WITHIN_S, timeline.observed
    assert stalled_at < ready_at
    assert int(settled["attempts"]) >= 2, "taken up again after the kill"  # type: ignore[call-overload]
    stored = stack.database.stored(document_id)
    assert stored.exactly_one_set, stored

"""A worker that boots while its database cannot be reached (a failover under way, the
whole stack restarting) waits for it, then takes up the work queued meanwhile.

Dramatiq logs a failing boot hook and starts its consumers anyway; a worker whose
container never started used to live on and fail every task for good (an upload
acknowledged with 202 ended `failed`).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ops.drills.stack import Stack, small_document
from ops.harness.processes import free_port
from ops.harness.services import PrivatePgBouncer
from tests.conftest import IN_CI

BOOT_TRIED = ("worker_start_waiting", "before_worker_boot")
"""What the worker logs once it has tried its database at boot: waiting (as it should),
or Dramatiq's "Unexpected failure in before_worker_boot"."""


@pytest.mark.timeout(180)
def test_worker_started_before_its_database_is_reachable_ingests_once_it_is(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    del database_url, redis_url  # asked for their skip-or-fail when the services are absent
    if shutil.which("redis-server") is None or not PrivatePgBouncer.installed():
        if IN_CI:
            pytest.fail("needs redis-server and pgbouncer, and CI=true forbids skipping")
        pytest.skip("needs redis-server and pgbouncer")
    with Stack(tmp_path) as stack:
        # The worker's database is reached through a pooler that is not running yet.
        gate_port = free_port()
        server = urlsplit(stack.database.url)
        worker = stack.start_worker(
            AVATARADAM_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{gate_port}/{stack.database.name}",
            AVATARADAM_DATABASE_STATEMENT_CACHE_SIZE="0",
            AVATARADAM_DATABASE_CONNECT_TIMEOUT_S="1",
        )
        # Seen in its log within 20 s: Dramatiq's main process forwarded no log line (and
        # answered no stop signal) for 30 s while a worker process was still booting.
        deadline = time.monotonic() + 20
        stack.start_api()  # while the worker boots
        while not any(mark in worker.output() for mark in BOOT_TRIED):
            assert worker.running(), worker.output()[-3000:]
            assert time.monotonic() < deadline, "the worker did not log that it tried its database"
            time.sleep(0.1)
        document_id = stack.upload(stack.new_dealership_admin(), *small_document("boot"))
        time.sleep(2)  # the worker keeps waiting: it takes nothing meanwhile
        assert "worker_started" not in worker.output()

        gate = PrivatePgBouncer(server.hostname or "127.0.0.1", server.port or 5432, gate_port)
        try:
            gate.start()
            worker.wait_started(60)
            outcome = stack.outcome([document_id], 60, since=time.monotonic())
        finally:
            gate.stop()

    assert outcome.lost == 0, f"the queued upload was not ingested: {outcome.counts}"

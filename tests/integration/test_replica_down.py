"""Replica stopped during read traffic: reads move to the primary, they do not fail.

One trial of `ops/drills/replica_down.py`: the app's replica URL names the standby
alone (no multi-host fallback in libpq), so what keeps reads working is the app's own
routing. At most the requests in flight at the moment of the kill may fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.drills.replica_down import run_trial
from tests.drills.clusters import require_cluster_tools

MIN_READS_AFTER_PER_READER = 10


@pytest.mark.slow  # a drill trial of its own cluster: `just test-slow`
@pytest.mark.timeout(90)
def test_reads_keep_succeeding_when_the_replica_is_stopped(redis_url: str, tmp_path: Path) -> None:
    require_cluster_tools()

    result = run_trial(1, redis_url=redis_url, workdir=tmp_path)

    assert result.ready_before["status"] == "ok"
    assert result.ready_before["replication"]["reads_on"] == "replica"
    assert result.reads_before > 0
    assert result.failed_before == 0
    assert result.fallbacks_before == 0, "reads ran on the replica while it was up"
    assert result.failed_after <= result.readers, f"only in-flight reads may fail: {result}"
    assert result.reads_after - result.failed_after >= MIN_READS_AFTER_PER_READER * result.readers
    assert result.fallbacks_after > 0, "the fallback to the primary is counted"
    assert result.ready_after_status == 200, "a lost replica degrades, it does not take the API out"
    assert result.ready_after["status"] == "degraded"
    assert result.ready_after["checks"]["postgres_replica"]["status"] == "failed"
    assert result.ready_after["replication"]["status"] == "unavailable"
    assert result.ready_after["replication"]["reads_on"] == "primary"

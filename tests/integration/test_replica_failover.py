"""One trial of the hand-promoted failover drill (`just drill-failover-manual` runs five).

A primary and a synchronous standby are made on spare ports; the API serves writers and
a reader against both; every process of the primary is SIGKILLed and the standby
promoted. No acknowledged write may be missing afterwards, and writes must succeed
again through the app within the RTO bound.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.drills.failover import RTO_LIMIT_S, run_trial
from tests.drills.clusters import require_cluster_tools


@pytest.mark.slow  # a drill trial of its own cluster: `just test-slow`
@pytest.mark.timeout(90)
def test_failover_loses_no_acknowledged_write_and_writes_resume_quickly(
    redis_url: str, tmp_path: Path
) -> None:
    require_cluster_tools()

    result = run_trial(1, redis_url=redis_url, workdir=tmp_path, warmup_s=1.5, settle_s=0.5)

    assert result.acknowledged > 0, "writes must have succeeded before the kill"
    assert result.processes_killed >= 2, "postmaster and its backends are all killed"
    assert result.lost == 0, f"acknowledged writes lost: {result}"
    assert result.rto_s is not None, f"writes never resumed: {result}"
    assert result.rto_s <= RTO_LIMIT_S
    assert result.reads > 0
    assert result.read_errors <= 2, f"reads go to the standby, which stays up: {result}"

"""One trial of the automatic failover drill (`just drill-failover` runs five).

A pg_auto_failover formation (monitor + two synchronous nodes, `ops/failover/
formation.sh`) serves a real API and worker through multi-host URLs; every process of
the primary node, PostgreSQL and its keeper, is SIGKILLed under write load, and nothing
else is done by hand. The monitor must detect it and promote the standby, the app must
write again within the goal, and no acknowledged write or upload may be missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.drills.auto_failover import GOAL_S, Options, run_drill
from tests.drills.clusters import require_failover_tools


@pytest.mark.timeout(240)
def test_primary_killed_is_replaced_by_the_monitor_and_the_app_loses_no_acknowledged_write(
    tmp_path: Path,
) -> None:
    require_failover_tools()

    report = run_drill(1, tmp_path, Options(warmup_s=1.5, settle_s=0.5, rejoin_last=False))

    result = report.results[0]
    assert result.synchronous, "the primary must commit through its standby before the kill"
    assert result.processes_killed >= 8, "keeper, its services, postmaster and its children"
    assert result.acknowledged > 0, f"no write before the kill: {result}"
    assert result.uploads > 0, f"no upload before the kill: {result}"
    assert result.failover_s is not None, f"the monitor never started a failover: {result}"
    assert result.write_s is not None, f"the app never wrote again: {result}"
    assert result.write_s >= result.failover_s, "a write succeeded before any failover"
    assert result.write_s <= GOAL_S, result
    assert (result.lost, result.uploads_lost) == (0, 0), f"acknowledged writes lost: {result}"
    assert result.uploads_not_ready == 0, f"the worker did not follow the new primary: {result}"

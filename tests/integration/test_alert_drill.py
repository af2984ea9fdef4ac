"""One fault of the alert drill (`just drill-alerts` runs them all, at scale 1).

A real stack (API and worker processes, fresh database, private Redis) scraped by
Debian's Prometheus with the shipped rules, shrunk twentyfold, and an Alertmanager
routing to the drill's webhook receiver. Every worker is SIGKILLed: both worker alerts
must reach the receiver within their `for:` plus an evaluation, a scrape interval and
the group wait of their condition holding, resolve once a worker runs again, and
nothing else may fire.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.drills.alerting import Timing
from ops.drills.alerts import BY_NAME, run_scenario
from tests.drills.clusters import require_alerting_tools


@pytest.mark.timeout(300)
def test_killed_workers_fire_both_worker_alerts_which_resolve_on_restart(
    tmp_path: Path,
) -> None:
    require_alerting_tools()
    scenario = BY_NAME["worker-killed"]

    result = run_scenario(scenario, Timing(0.05), tmp_path)

    assert result.error is None, result.error
    assert {a.alert for a in result.alerts} == {
        "AvatarAdamWorkerAbsent",
        "AvatarAdamWorkerHeartbeatStale",
    }
    for timed in result.alerts:
        assert timed.fired_s is not None, f"{timed.alert} never reached the receiver"
        assert timed.active_to_notified_s is not None, f"{timed.alert} had no activeAt"
        assert timed.active_to_notified_s <= timed.bound_s, timed
        assert timed.resolved_s is not None, f"{timed.alert} never resolved"
    assert result.unexpected == set(), "alerts the fault is not for"
    assert result.ok

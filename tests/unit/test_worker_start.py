"""A worker that boots while a dependency is down waits for it instead of running
its consumers without a database (which would fail every task it takes for good)."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from avataradam.domain.errors import DependencyUnavailable
from avataradam.entrypoints.worker.runtime import start_when_reachable


class FlakyStart:
    """A container start that fails `failures` times, then succeeds."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error


async def test_an_unavailable_database_at_boot_is_waited_for_with_growing_delays() -> None:
    start = FlakyStart(3, DependencyUnavailable("database is unavailable", dependency="postgres"))

    with capture_logs() as logs:
        await start_when_reachable(start, first_delay_s=0.01, max_delay_s=0.02)

    assert start.calls == 4
    waits = [entry for entry in logs if entry["event"] == "worker_start_waiting"]
    assert [entry["retry_in_s"] for entry in waits] == [0.01, 0.02, 0.02]
    assert all(entry["dependency"] == "postgres" for entry in waits)


async def test_an_error_that_is_not_an_outage_stops_the_start_at_once() -> None:
    start = FlakyStart(1, RuntimeError("bad configuration"))

    with pytest.raises(RuntimeError, match="bad configuration"):
        await start_when_reachable(start, first_delay_s=0.01)

    assert start.calls == 1

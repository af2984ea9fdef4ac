"""Task outcomes and durations as Dramatiq's worker and Retries middleware see them.

Runs real Dramatiq workers on its StubBroker (Dramatiq's own in-memory broker), so the
middleware order and the Retries decisions are Dramatiq's, not a re-enactment.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage
from prometheus_client import CollectorRegistry

from avataradam.adapters.observability.metrics import Metrics
from avataradam.entrypoints.worker.metrics import TaskMetrics


class Harness:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.metrics = Metrics(self.registry)
        self.broker = StubBroker()
        self.broker.add_middleware(CurrentMessage())
        self.task_metrics = TaskMetrics.install(self.broker, lambda: self.metrics)

    def run(self) -> None:
        worker = dramatiq.Worker(self.broker, worker_timeout=50)
        worker.start()
        try:
            self.broker.join("default", fail_fast=False, timeout=10_000)
            worker.join()
        finally:
            worker.stop()

    def outcomes(self, actor: str) -> dict[str, float]:
        return {
            outcome: self.registry.get_sample_value(
                "avataradam_task_outcomes_total", {"actor": actor, "outcome": outcome}
            )
            or 0.0
            for outcome in ("success", "retry", "failure", "dead_letter")
        }

    def durations_observed(self, actor: str) -> float:
        return (
            self.registry.get_sample_value(
                "avataradam_task_duration_seconds_count", {"actor": actor}
            )
            or 0.0
        )


@pytest.fixture
def harness() -> Iterator[Harness]:
    built = Harness()
    yield built
    built.broker.close()


def test_a_returning_task_counts_as_success_with_its_duration(harness: Harness) -> None:
    @dramatiq.actor(broker=harness.broker, actor_name="tidy")
    def tidy() -> None:
        time.sleep(0.02)

    tidy.send()
    tidy.send()
    harness.run()

    assert harness.outcomes("tidy") == {
        "success": 2,
        "retry": 0,
        "failure": 0,
        "dead_letter": 0,
    }
    assert harness.durations_observed("tidy") == 2
    duration_sum = harness.registry.get_sample_value(
        "avataradam_task_duration_seconds_sum", {"actor": "tidy"}
    )
    assert duration_sum is not None
    assert duration_sum >= 0.04


def test_a_raising_task_is_retried_until_its_retries_run_out_then_dead_lettered(
    harness: Harness,
) -> None:
    @dramatiq.actor(
        broker=harness.broker, actor_name="flaky", max_retries=2, min_backoff=1, max_backoff=5
    )
    def flaky() -> None:
        raise RuntimeError("receiver down")

    flaky.send()
    harness.run()

    assert harness.outcomes("flaky") == {
        "success": 0,
        "retry": 2,
        "failure": 0,
        "dead_letter": 1,
    }
    assert harness.durations_observed("flaky") == 3
    assert len(harness.broker.dead_letters) == 1


def test_an_exception_listed_in_throws_is_dead_lettered_without_retry(harness: Harness) -> None:
    @dramatiq.actor(broker=harness.broker, actor_name="picky", throws=(ValueError,))
    def picky() -> None:
        raise ValueError("bad input")

    picky.send()
    harness.run()

    assert harness.outcomes("picky")["dead_letter"] == 1
    assert harness.outcomes("picky")["retry"] == 0


def test_a_task_that_reports_its_work_failed_counts_as_failure_not_success(
    harness: Harness,
) -> None:
    task_metrics = harness.task_metrics

    @dramatiq.actor(broker=harness.broker, actor_name="ingest")
    def ingest(outcome: str) -> None:
        message = CurrentMessage.get_current_message()
        assert message is not None
        if outcome == "failed":
            task_metrics.report_failure(message.message_id)

    ingest.send("failed")
    ingest.send("ready")
    harness.run()

    assert harness.outcomes("ingest") == {
        "success": 1,
        "retry": 0,
        "failure": 1,
        "dead_letter": 0,
    }


def test_a_message_skipped_for_its_age_is_dead_lettered(harness: Harness) -> None:
    @dramatiq.actor(broker=harness.broker, actor_name="stale")
    def stale() -> None:
        pytest.fail("an expired message must not run")

    stale.send_with_options(max_age=1)
    time.sleep(0.01)
    harness.run()

    assert harness.outcomes("stale")["dead_letter"] == 1
    assert harness.outcomes("stale")["success"] == 0
    assert harness.durations_observed("stale") == 0


def test_outcomes_before_the_metrics_exist_are_dropped_without_breaking_the_task() -> None:
    broker = StubBroker()
    TaskMetrics.install(broker, lambda: None)
    ran: list[int] = []

    @dramatiq.actor(broker=broker, actor_name="early")
    def early() -> None:
        ran.append(1)

    early.send()
    worker = dramatiq.Worker(broker, worker_timeout=50)
    worker.start()
    try:
        broker.join("default", timeout=10_000)
        worker.join()
    finally:
        worker.stop()
        broker.close()

    assert ran == [1]


def test_the_middleware_sits_before_retries_so_it_sees_retry_decisions() -> None:
    broker = StubBroker()
    middleware = TaskMetrics.install(broker, lambda: None)

    names = [type(m).__name__ for m in broker.middleware]

    assert names.index("TaskMetrics") < names.index("Retries")
    assert middleware in broker.middleware
    broker.close()

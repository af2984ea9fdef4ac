"""Metric names are the dashboard/alert contract; multi-process values aggregate."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from avataradam.adapters.observability.metrics import HTTP_LATENCY_BUCKETS, Metrics, status_class
from avataradam.adapters.observability.multiprocess import (
    mark_process_dead,
    process_running,
    render_metrics,
)
from avataradam.adapters.observability.telemetry import StructlogTelemetry
from avataradam.domain.codes import DOCUMENT_ERRORS
from avataradam.domain.model import Stage


def scrape(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, content_type = render_metrics(registry)
    assert content_type.startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def defined_metric_names(registry: CollectorRegistry) -> set[str]:
    return {family.name for family in registry.collect()}


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_every_contract_metric_is_defined_with_the_avataradam_prefix(
    registry: CollectorRegistry,
) -> None:
    Metrics(registry)

    names = defined_metric_names(registry)

    # prometheus-client reports counters without their `_total` suffix
    assert names >= {
        "avataradam_http_requests",
        "avataradam_http_request_duration_seconds",
        "avataradam_http_requests_in_flight",
        "avataradam_http_errors",
        "avataradam_db_pool_size",
        "avataradam_db_pool_in_use",
        "avataradam_db_pool_idle",
        "avataradam_db_pool_acquire_seconds",
        "avataradam_db_replica_lag_seconds",
        "avataradam_db_replica_fallbacks",
        "avataradam_cache_requests",
        "avataradam_queue_depth",
        "avataradam_queue_oldest_message_age_seconds",
        "avataradam_task_outcomes",
        "avataradam_task_duration_seconds",
        "avataradam_documents",
        "avataradam_documents_failed",
        "avataradam_ingestion_stage_duration_seconds",
        "avataradam_external_call_duration_seconds",
        "avataradam_external_call_errors",
        "avataradam_llm_tokens",
        "avataradam_rate_limit_decisions",
        "avataradam_webhook_deliveries",
        "avataradam_worker_heartbeat_timestamp_seconds",
        "avataradam_build_info",
    }
    assert all(name.startswith("avataradam_") for name in names)


def test_two_instances_on_separate_registries_do_not_collide() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    Metrics(first).record_cache("retrieval", "hit")
    Metrics(second)

    assert (
        scrape(first)[
            (
                "avataradam_cache_requests_total",
                frozenset({("cache", "retrieval"), ("result", "hit")}),
            )
        ]
        == 1
    )
    assert (
        "avataradam_cache_requests_total",
        frozenset({("cache", "retrieval"), ("result", "hit")}),
    ) not in scrape(second)


def test_http_latency_buckets_are_fine_grained_at_the_low_end() -> None:
    assert HTTP_LATENCY_BUCKETS[0] == 0.001
    assert HTTP_LATENCY_BUCKETS[-1] == 10.0
    assert len([bucket for bucket in HTTP_LATENCY_BUCKETS if bucket <= 0.1]) >= 8
    assert 2.0 in HTTP_LATENCY_BUCKETS  # the chat p95 SLO is a bucket boundary


@pytest.mark.parametrize(
    ("code", "expected"), [(200, "2xx"), (302, "3xx"), (404, "4xx"), (503, "5xx")]
)
def test_status_codes_are_reduced_to_classes(code: int, expected: str) -> None:
    assert status_class(code) == expected


def test_pool_snapshot_keeps_idle_consistent(registry: CollectorRegistry) -> None:
    Metrics(registry).record_pool("replica", size=10, in_use=7)

    samples = scrape(registry)
    labels = frozenset({("pool", "replica")})
    assert samples[("avataradam_db_pool_size", labels)] == 10
    assert samples[("avataradam_db_pool_in_use", labels)] == 7
    assert samples[("avataradam_db_pool_idle", labels)] == 3


def test_external_call_counts_errors_and_times_every_call(registry: CollectorRegistry) -> None:
    metrics = Metrics(registry)
    with metrics.external_call("embedder", "embed"):
        pass
    with pytest.raises(TimeoutError), metrics.external_call("embedder", "embed"):
        raise TimeoutError

    samples = scrape(registry)
    labels = frozenset({("service", "embedder"), ("operation", "embed")})
    assert samples[("avataradam_external_call_duration_seconds_count", labels)] == 2
    assert samples[("avataradam_external_call_errors_total", labels)] == 1


def test_tokens_heartbeat_and_build_info_are_exposed(registry: CollectorRegistry) -> None:
    metrics = Metrics(registry)
    metrics.record_tokens("gpt-4o-mini", prompt=120, completion=30)
    metrics.heartbeat("worker-1", now=1_700_000_000.0)
    metrics.set_build_info("1.2.3")

    samples = scrape(registry)
    assert (
        samples[
            (
                "avataradam_llm_tokens_total",
                frozenset({("model", "gpt-4o-mini"), ("kind", "prompt")}),
            )
        ]
        == 120
    )
    assert (
        samples[
            (
                "avataradam_llm_tokens_total",
                frozenset({("model", "gpt-4o-mini"), ("kind", "completion")}),
            )
        ]
        == 30
    )
    assert (
        samples[
            ("avataradam_worker_heartbeat_timestamp_seconds", frozenset({("worker", "worker-1")}))
        ]
        == 1_700_000_000.0
    )
    assert samples[("avataradam_build_info", frozenset({("version", "1.2.3")}))] == 1


# A process of the host: writes what an API or worker process would, then waits for a
# line on stdin ("exit" to leave normally; tests SIGKILL it instead).
_CHILD = textwrap.dedent(
    """
    import sys
    from avataradam.adapters.observability.metrics import Metrics
    metrics = Metrics(None)
    metrics.http_requests.labels(method="GET", route="/v1/me", status_class="2xx").inc()
    metrics.http_requests_in_flight.labels(method="GET", route="/v1/me").inc()
    metrics.record_pool("primary", size=int(sys.argv[1]), in_use=1)
    metrics.queue_depth.labels(queue="ingest").set(float(sys.argv[1]))
    metrics.heartbeat("worker-1", now=float(sys.argv[1]))
    print("ready", flush=True)
    sys.stdin.readline()
    """
)

_RENDER = textwrap.dedent(
    """
    from avataradam.adapters.observability.multiprocess import render_metrics
    body, _ = render_metrics(None)
    print(body.decode())
    """
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
REQUESTS = (
    "avataradam_http_requests_total",
    frozenset({("method", "GET"), ("route", "/v1/me"), ("status_class", "2xx")}),
)
IN_FLIGHT = (
    "avataradam_http_requests_in_flight",
    frozenset({("method", "GET"), ("route", "/v1/me")}),
)
POOL_SIZE = ("avataradam_db_pool_size", frozenset({("pool", "primary")}))
QUEUE_DEPTH = ("avataradam_queue_depth", frozenset({("queue", "ingest")}))
HEARTBEAT = ("avataradam_worker_heartbeat_timestamp_seconds", frozenset({("worker", "worker-1")}))


class Host:
    """Processes sharing one PROMETHEUS_MULTIPROC_DIR, as on a host."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
        self.children: list[subprocess.Popen[str]] = []
        self.last_ready_words: list[str] = []

    def start(self, value: int, script: str = _CHILD) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", script, str(value)],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.children.append(child)
        assert child.stdout is not None
        ready, *self.last_ready_words = child.stdout.readline().split()
        assert ready == "ready"
        return child

    def render(self) -> Samples:
        """What a scrape shows, rendered by yet another process of the host."""
        rendered = subprocess.run(
            [sys.executable, "-c", _RENDER],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(rendered)
            for sample in family.samples
        }

    def live_gauge_files(self, pid: int) -> list[str]:
        return sorted(path.name for path in self.directory.glob(f"gauge_live*_{pid}.db"))

    def close(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
            child.communicate()


def leave(child: subprocess.Popen[str]) -> None:
    """The process exits normally."""
    child.communicate("exit\n", timeout=30)
    assert child.returncode == 0


def kill(child: subprocess.Popen[str]) -> None:
    """SIGKILL: the process cannot clean up after itself."""
    child.kill()
    child.communicate(timeout=30)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    built = Host(tmp_path)
    yield built
    built.close()


def test_live_processes_values_are_aggregated_by_each_gauges_mode(host: Host) -> None:
    """Given two live processes, counters and pools are summed, the latest queue
    measurement wins and the heartbeat is the latest beat."""
    host.start(5)
    host.start(7)

    samples = host.render()

    assert samples[REQUESTS] == 2
    assert samples[IN_FLIGHT] == 2
    assert samples[POOL_SIZE] == 12
    assert samples[QUEUE_DEPTH] == 7
    assert samples[HEARTBEAT] == 7


@pytest.mark.parametrize("death", [leave, kill], ids=["exit", "sigkill"])
def test_a_dead_process_leaves_the_gauges_and_stays_in_the_counters(
    host: Host, death: Callable[[subprocess.Popen[str]], None]
) -> None:
    """Given two processes, when one exits or is killed, then the next scrape shows the
    survivor's gauges only, the dead one's requests still counted and its last
    heartbeat kept (the staleness alert needs it)."""
    host.start(5)
    dead = host.start(7)

    death(dead)
    samples = host.render()

    assert samples[REQUESTS] == 2
    assert samples[IN_FLIGHT] == 1
    assert samples[POOL_SIZE] == 5
    assert samples[QUEUE_DEPTH] == 5
    assert samples[HEARTBEAT] == 7
    assert host.live_gauge_files(dead.pid) == []


def test_a_normal_exit_marks_the_process_dead_before_any_scrape(host: Host) -> None:
    child = host.start(5)
    assert f"gauge_livesum_{child.pid}.db" in host.live_gauge_files(child.pid)

    leave(child)

    assert host.live_gauge_files(child.pid) == []
    assert (host.directory / f"counter_{child.pid}.db").exists()


def test_a_killed_process_is_marked_dead_when_the_next_one_starts(host: Host) -> None:
    killed = host.start(5)
    kill(killed)
    assert host.live_gauge_files(killed.pid) != []

    host.start(7)

    assert host.live_gauge_files(killed.pid) == []


_FORKING_PARENT = textwrap.dedent(
    """
    import multiprocessing, sys
    from avataradam.adapters.observability.metrics import Metrics

    def work(size):
        Metrics(None).record_pool("primary", size=size, in_use=0)

    if __name__ == "__main__":
        child = multiprocessing.get_context("fork").Process(target=work, args=(int(sys.argv[1]),))
        child.start()
        child.join()
        print("ready", child.pid, child.exitcode, flush=True)
        sys.stdin.readline()
    """
)


def test_a_forked_worker_process_marks_itself_dead_when_it_returns(host: Host) -> None:
    """Granian's and Dramatiq's worker processes are forked by multiprocessing and
    leave through `os._exit`, which skips atexit handlers."""
    host.start(3, _FORKING_PARENT)
    [forked_pid, exitcode] = host.last_ready_words

    assert exitcode == "0"
    assert (host.directory / f"counter_{forked_pid}.db").exists()  # it did write
    assert host.live_gauge_files(int(forked_pid)) == []
    assert POOL_SIZE not in host.render()


_REUSED_PID = textwrap.dedent(
    """
    import os, shutil, sys
    # The file a killed process with this pid left behind, as after a container restart.
    shutil.copy(sys.argv[2], os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"],
                f"gauge_livesum_{os.getpid()}.db"))
    from avataradam.adapters.observability.metrics import Metrics
    Metrics(None).record_pool("primary", size=int(sys.argv[1]), in_use=0)
    print("ready", flush=True)
    sys.stdin.readline()
    """
)


def test_a_process_with_a_reused_pid_does_not_carry_on_its_predecessors_gauges(
    host: Host, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Given the live-gauge file of a killed process that had a replica pool, when a
    new process with the same pid starts and opens a primary pool only, then no
    replica pool is shown."""
    predecessor = host.start(4, _CHILD.replace('record_pool("primary"', 'record_pool("replica"'))
    kill(predecessor)
    leftover = tmp_path_factory.mktemp("leftover") / "gauge_livesum.db"
    shutil.move(host.directory / f"gauge_livesum_{predecessor.pid}.db", leftover)

    host.start(2, _REUSED_PID.replace("sys.argv[2]", repr(str(leftover))))
    samples = host.render()

    assert samples[POOL_SIZE] == 2
    assert ("avataradam_db_pool_size", frozenset({("pool", "replica")})) not in samples
    assert IN_FLIGHT not in samples


OUTLIVE_THEIR_PROCESS = {
    # A dead worker's last beat stays true; AvatarAdamWorkerHeartbeatStale fires on it.
    "avataradam_worker_heartbeat_timestamp_seconds",
}
"""Gauges whose value stays true after the process that set it died. Every other gauge
must leave with its process: adding one here needs the reason beside it."""

_EVERY_GAUGE = textwrap.dedent(
    """
    from prometheus_client import Gauge
    from avataradam.adapters.observability.metrics import Metrics
    metrics = Metrics(None)
    for gauge in vars(metrics).values():
        if isinstance(gauge, Gauge):
            names = gauge._labelnames
            (gauge.labels(*["x"] * len(names)) if names else gauge).set(1)
    print("ready", flush=True)
    """
)


def test_only_values_that_stay_true_outlive_the_process_that_set_them(host: Host) -> None:
    """Given a process that set every gauge of `Metrics` and exited, a scrape shows
    only the gauges whose multiprocess mode deliberately keeps a dead process's value
    (a new gauge with prometheus-client's default mode `all` fails here)."""
    leave(host.start(0, _EVERY_GAUGE))

    rendered = subprocess.run(
        [sys.executable, "-c", _RENDER], env=host.env, check=True, capture_output=True, text=True
    ).stdout
    gauges = {
        family.name
        for family in text_string_to_metric_families(rendered)
        if family.type == "gauge" and any(sample.value == 1 for sample in family.samples)
    }

    assert gauges == OUTLIVE_THEIR_PROCESS


def test_a_running_process_is_running_and_a_reaped_or_zombie_one_is_not() -> None:
    reaped = subprocess.Popen([sys.executable, "-c", "pass"])
    reaped.wait()
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while process_running(zombie.pid) and time.monotonic() < deadline:
            time.sleep(0.01)  # exits, and stays a zombie until waited for

        assert process_running(os.getpid())
        assert not process_running(reaped.pid)
        assert not process_running(zombie.pid)
        assert Path(f"/proc/{zombie.pid}").exists()  # not yet reaped: a zombie
        assert not process_running(0)
    finally:
        zombie.wait()


def test_an_ingestion_stage_time_is_one_observation_of_its_stage(
    registry: CollectorRegistry,
) -> None:
    telemetry = StructlogTelemetry(Metrics(registry))

    telemetry.ingestion_stage_time(Stage.EMBEDDING, 2.5)
    telemetry.ingestion_stage_time(Stage.EXTRACTING, 0.25)

    count = "avataradam_ingestion_stage_duration_seconds_count"
    total = "avataradam_ingestion_stage_duration_seconds_sum"
    assert registry.get_sample_value(count, {"stage": "embedding"}) == 1
    assert registry.get_sample_value(total, {"stage": "embedding"}) == 2.5
    assert registry.get_sample_value(count, {"stage": "extracting"}) == 1
    assert registry.get_sample_value(count, {"stage": "chunking"}) is None


def test_build_info_names_the_installed_version_from_the_start(
    registry: CollectorRegistry,
) -> None:
    Metrics(registry)

    version = importlib.metadata.version("avataradam")
    assert registry.get_sample_value("avataradam_build_info", {"version": version}) == 1


def test_marking_a_process_dead_drops_its_live_gauges_only_and_may_be_repeated(
    tmp_path: Path,
) -> None:
    """Two scrapes may mark the same killed process dead at once: the second finds its
    files gone, which is no error. Other processes' files and the dead process's
    counters, histograms and non-live gauges stay."""
    names = [
        "gauge_livesum_41.db",
        "gauge_livemostrecent_41.db",
        "gauge_max_41.db",
        "counter_41.db",
        "histogram_41.db",
        "gauge_livesum_410.db",
        "gauge_livesum_42.db",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")

    mark_process_dead(41, str(tmp_path))
    mark_process_dead(41, str(tmp_path))

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        set(names) - {"gauge_livesum_41.db", "gauge_livemostrecent_41.db"}
    )


def test_counters_an_alert_watches_with_increase_start_at_zero() -> None:
    """`increase()` sees nothing of a series that first appears at 1: the first
    failures of a code, or a dealership's first 80 %, would never fire their alert."""
    registry = CollectorRegistry()
    Metrics(registry)
    exposed = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
    }

    for code in DOCUMENT_ERRORS:
        assert exposed[("avataradam_documents_failed_total", (("code", code),))] == 0
    for threshold in ("80", "100"):
        key = ("avataradam_usage_budget_alerts_total", (("threshold", threshold),))
        assert exposed[key] == 0
    assert (
        exposed[
            (
                "avataradam_task_outcomes_total",
                (("actor", "ingest_document"), ("outcome", "success")),
            )
        ]
        == 0
    )

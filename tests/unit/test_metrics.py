"""Metric names are the dashboard/alert contract; multi-process values aggregate."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from avataradam.entrypoints.observability.metrics import (
    HTTP_LATENCY_BUCKETS,
    Metrics,
    render_metrics,
    status_class,
)


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


_CHILD = textwrap.dedent(
    """
    import sys
    from avataradam.entrypoints.observability.metrics import Metrics
    metrics = Metrics(None)
    metrics.http_requests.labels(method="GET", route="/v1/me", status_class="2xx").inc()
    metrics.http_requests_in_flight.labels(method="GET", route="/v1/me").inc()
    metrics.queue_depth.labels(queue="ingest").set(float(sys.argv[1]))
    """
)

_PARENT = textwrap.dedent(
    """
    from avataradam.entrypoints.observability.metrics import render_metrics
    body, _ = render_metrics(None)
    print(body.decode())
    """
)


def test_multiprocess_mode_aggregates_values_written_by_several_processes(
    tmp_path: Path,
) -> None:
    """Given two processes sharing PROMETHEUS_MULTIPROC_DIR, when a third renders, then
    counters are summed across processes and every gauge has a multiprocess mode."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for depth in ("5", "7"):
        subprocess.run([sys.executable, "-c", _CHILD, depth], env=env, check=True)

    rendered = subprocess.run(
        [sys.executable, "-c", _PARENT], env=env, check=True, capture_output=True, text=True
    ).stdout

    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(rendered)
        for sample in family.samples
    }
    requests = (
        "avataradam_http_requests_total",
        frozenset({("method", "GET"), ("route", "/v1/me"), ("status_class", "2xx")}),
    )
    assert samples[requests] == 2
    assert samples[("avataradam_queue_depth", frozenset({("queue", "ingest")}))] == 7

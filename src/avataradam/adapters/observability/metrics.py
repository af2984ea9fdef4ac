"""Every Prometheus metric of AvatarAdam, owned by one `Metrics` instance per process.

Names and labels are the contract that `deploy/prometheus/alerts.yml` and the Grafana
dashboard rely on. Label values are bounded by construction: HTTP routes are templates
(never raw paths), status codes are reduced to classes, the other labels take values
from small fixed sets named in each metric's help text. How processes share values
(multi-process mode) is in `multiprocess.py`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from avataradam import __version__
from avataradam.adapters.observability.multiprocess import (
    join_multiprocess_directory,
    multiprocess_dir,
)
from avataradam.adapters.observability.speech_metrics import SpeechMetrics
from avataradam.adapters.observability.training_metrics import TrainingMetrics
from avataradam.domain.codes import DOCUMENT_ERRORS
from avataradam.domain.tasks import INGEST_DOCUMENT
from avataradam.domain.usecases.usage import THRESHOLDS as BUDGET_THRESHOLDS

HTTP_LATENCY_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3,
    0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0,
)  # fmt: skip
"""Fine-grained below 100 ms (cached reads), with 1.5/2/3 s around the chat SLO."""

FAST_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip
"""Pool acquisition: healthy is sub-millisecond, seconds means exhaustion."""

EXTERNAL_CALL_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0,
)  # fmt: skip
"""Vector store and embedder calls are tens of ms; chat models take seconds."""

TASK_BUCKETS: Final = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
)  # fmt: skip
"""Ingesting a book takes minutes; webhooks and cleanups take milliseconds."""

UNMATCHED_ROUTE: Final = "unmatched"

Pool = Literal["primary", "replica"]
CacheName = Literal["embedding", "retrieval", "answer"]
CacheResult = Literal["hit", "miss", "bypass"]
TaskOutcome = Literal["success", "retry", "failure", "dead_letter"]
ExternalService = Literal["vector_store", "embedder", "chat_model"]
TokenKind = Literal["prompt", "completion"]
RateLimitDecision = Literal["allowed", "rejected", "fail_open", "fail_closed"]


def status_class(status_code: int) -> str:
    """`404 -> "4xx"`: bounded label values for HTTP statuses."""
    return f"{status_code // 100}xx"


class Metrics:
    """All metric objects. Create exactly one per process and per registry: the HTTP
    app and the worker each build theirs in the composition root.

    `registry=None` registers nothing, which is what multi-process mode wants (values
    are collected from the mmap files by `render_metrics`, not from a registry), and
    lets tests build several instances. `avataradam_build_info` names the installed
    version from the start. In multi-process mode the first instance of a process also
    takes its place in the directory (`join_multiprocess_directory`).

    Gauge modes: `live*` unless a value stays true after its process died (then the
    reason is given); every `live*` value of a dead process is dropped.
    """

    def __init__(self, registry: CollectorRegistry | None) -> None:
        directory = multiprocess_dir()
        if directory is not None:
            join_multiprocess_directory(os.getpid(), directory)
        r = registry

        # HTTP
        self.http_requests = Counter(
            "avataradam_http_requests_total",
            "HTTP requests by route template and status class (2xx..5xx).",
            ["method", "route", "status_class"],
            registry=r,
        )
        self.http_request_duration = Histogram(
            "avataradam_http_request_duration_seconds",
            "Time from request start to the last body byte sent.",
            ["method", "route"],
            buckets=HTTP_LATENCY_BUCKETS,
            registry=r,
        )
        self.http_requests_in_flight = Gauge(
            "avataradam_http_requests_in_flight",
            "Requests being served now.",
            ["method", "route"],
            # Each process counts its own; a dead process serves nothing.
            multiprocess_mode="livesum",
            registry=r,
        )
        self.http_errors = Counter(
            "avataradam_http_errors_total",
            "HTTP responses with a 4xx or 5xx status.",
            ["method", "route", "status_class"],
            registry=r,
        )

        # Database pools (pool = primary | replica)
        self.db_pool_size = Gauge(
            "avataradam_db_pool_size",
            "Connections open in the pool.",
            ["pool"],
            # Pools of all processes add up; a dead process's connections closed with it.
            multiprocess_mode="livesum",
            registry=r,
        )
        self.db_pool_in_use = Gauge(
            "avataradam_db_pool_in_use",
            "Connections checked out of the pool.",
            ["pool"],
            multiprocess_mode="livesum",  # as db_pool_size
            registry=r,
        )
        self.db_pool_idle = Gauge(
            "avataradam_db_pool_idle",
            "Open connections waiting in the pool.",
            ["pool"],
            multiprocess_mode="livesum",  # as db_pool_size
            registry=r,
        )
        self.db_pool_acquire = Histogram(
            "avataradam_db_pool_acquire_seconds",
            "Time spent waiting for a pool connection.",
            ["pool"],
            buckets=FAST_BUCKETS,
            registry=r,
        )
        self.db_replica_lag = Gauge(
            "avataradam_db_replica_lag_seconds",
            "Replay lag of the read replica as last measured.",
            # One fact about the replica, measured now and then by any process: the
            # latest measurement is the truth. `max` would keep an old spike alive in a
            # process that has not read (and measured) since.
            multiprocess_mode="livemostrecent",
            registry=r,
        )
        self.db_replica_fallbacks = Counter(
            "avataradam_db_replica_fallbacks_total",
            "Reads sent to the primary because the replica was down or lagging.",
            registry=r,
        )

        # Caches (cache = embedding | retrieval; result = hit | miss | bypass)
        self.cache_requests = Counter(
            "avataradam_cache_requests_total",
            "Cache lookups by outcome.",
            ["cache", "result"],
            registry=r,
        )

        # Queue, tasks and ingestion
        self.queue_depth = Gauge(
            "avataradam_queue_depth",
            "Messages waiting in a queue (a global value, measured by one process).",
            ["queue"],
            # Global, measured by every worker process in turn: the latest measurement
            # wins. `live`: a value nobody refreshes any more must not pass for current
            # (the worker heartbeat alerts say that no worker measures).
            multiprocess_mode="livemostrecent",
            registry=r,
        )
        self.queue_oldest_message_age = Gauge(
            "avataradam_queue_oldest_message_age_seconds",
            "Age of the oldest waiting message of a queue.",
            ["queue"],
            multiprocess_mode="livemostrecent",  # as queue_depth
            registry=r,
        )
        self.task_outcomes = Counter(
            "avataradam_task_outcomes_total",
            "Finished task attempts: success | retry | failure | dead_letter.",
            ["actor", "outcome"],
            registry=r,
        )
        self.task_duration = Histogram(
            "avataradam_task_duration_seconds",
            "Duration of one task attempt.",
            ["actor"],
            buckets=TASK_BUCKETS,
            registry=r,
        )
        self.documents = Gauge(
            "avataradam_documents",
            "Documents by status (queued, processing, ready, failed, deleting).",
            ["status"],
            multiprocess_mode="livemostrecent",  # as queue_depth
            registry=r,
        )
        self.documents_oldest_processing_age = Gauge(
            "avataradam_documents_oldest_processing_age_seconds",
            "Time since the longest-processing document left `queued` (re-drives"
            " included); 0 when none is processing.",
            multiprocess_mode="livemostrecent",  # as queue_depth
            registry=r,
        )
        self.documents_failed = Counter(
            "avataradam_documents_failed_total",
            "Documents that ended in `failed`, by error code.",
            ["code"],
            registry=r,
        )
        self.reembedded = Counter(
            "avataradam_reembedded_total",
            "Documents and passages re-embeddings wrote, by target vector profile.",
            ["profile", "unit"],
            registry=r,
        )
        self.ingestion_stage_duration = Histogram(
            "avataradam_ingestion_stage_duration_seconds",
            "Time one document's ingestion spent in a stage (extracting .. storing),"
            " summed over its batches.",
            ["stage"],
            buckets=TASK_BUCKETS,
            registry=r,
        )

        self.training = TrainingMetrics(r)  # scoring latency and outcomes
        self.speech = SpeechMetrics(r)  # time to first audio, seconds, errors

        # External services (service = vector_store | embedder | chat_model)
        self.external_call_duration = Histogram(
            "avataradam_external_call_duration_seconds",
            "Duration of calls to external services, errors included.",
            ["service", "operation"],
            buckets=EXTERNAL_CALL_BUCKETS,
            registry=r,
        )
        self.external_call_errors = Counter(
            "avataradam_external_call_errors_total",
            "Calls to external services that raised.",
            ["service", "operation"],
            registry=r,
        )
        self.llm_tokens = Counter(
            "avataradam_llm_tokens_total",
            "Tokens consumed by chat models (kind = prompt | completion).",
            ["model", "kind"],
            registry=r,
        )

        # Rate limiting, webhooks
        self.rate_limit_decisions = Counter(
            "avataradam_rate_limit_decisions_total",
            "Rate limiter decisions: allowed | rejected | fail_open | fail_closed.",
            ["policy", "decision"],
            registry=r,
        )
        self.budget_refusals = Counter(
            "avataradam_usage_budget_refusals_total",
            "Chat replies refused because the dealership's monthly token budget is exhausted.",
            registry=r,
        )
        self.budget_alerts = Counter(
            "avataradam_usage_budget_alerts_total",
            "Dealerships whose monthly token budget reached a threshold (percent), once "
            "per dealership and month.",
            ["threshold"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "avataradam_webhook_deliveries_total",
            "Webhook delivery attempts by outcome.",
            ["outcome"],
            registry=r,
        )

        # Liveness and build
        self.worker_heartbeat = Gauge(
            "avataradam_worker_heartbeat_timestamp_seconds",
            "Unix time of the last heartbeat of a worker.",
            ["worker"],
            # Not `live`, deliberately: when a worker died, its last beat is still
            # the truth, and that old value is what AvatarAdamWorkerHeartbeatStale
            # fires on. A restarted worker's newer beats win by `max`.
            multiprocess_mode="max",
            registry=r,
        )
        self.build_info = Gauge(
            "avataradam_build_info",
            "Always 1; the running version is the label.",
            ["version"],
            # Versions of running processes only: after an upgrade the old one goes.
            multiprocess_mode="livemax",
            registry=r,
        )
        self.set_build_info(__version__)
        self._start_alerted_counters_at_zero()
        # Labelled children of the per-request counters, looked up once (a `labels()`
        # call validates and locks); bounded, since every label takes few values.
        self._children: dict[tuple[Counter, str, str], Counter] = {}

    def _start_alerted_counters_at_zero(self) -> None:
        """Exposes at 0 every series of the labelled counters that an alert watches with
        `increase()`. A series that first appears at 1 shows Prometheus no increase (it
        needs two samples), so the first 11 failures of a new error code, or a
        dealership's first 80 % of budget, never fired their alert (found by the alert
        drill, `just drill-alerts`)."""
        for code in sorted(DOCUMENT_ERRORS):
            self.documents_failed.labels(code=code)
        for threshold in BUDGET_THRESHOLDS:
            self.budget_alerts.labels(threshold=str(threshold))
        for outcome in ("success", "retry", "failure", "dead_letter"):
            self.task_outcomes.labels(actor=INGEST_DOCUMENT, outcome=outcome)

    # Small helpers for call sites that would otherwise repeat label plumbing.

    def set_build_info(self, version: str) -> None:
        self.build_info.labels(version=version).set(1)

    def heartbeat(self, worker: str, now: float | None = None) -> None:
        self.worker_heartbeat.labels(worker=worker).set(time.time() if now is None else now)

    def record_pool(self, pool: Pool, *, size: int, in_use: int) -> None:
        """Pool gauges from one snapshot, so `idle` always equals `size - in_use`."""
        self.db_pool_size.labels(pool=pool).set(size)
        self.db_pool_in_use.labels(pool=pool).set(in_use)
        self.db_pool_idle.labels(pool=pool).set(size - in_use)

    def _child(self, counter: Counter, first: str, second: str) -> Counter:
        """`counter`'s child for its two label values (in declared order), kept."""
        child = self._children.get((counter, first, second))
        if child is None:
            child = counter.labels(first, second)
            self._children[counter, first, second] = child
        return child

    def record_cache(self, cache: CacheName, result: CacheResult) -> None:
        self._child(self.cache_requests, cache, result).inc()

    def record_rate_limit(self, policy: str, decision: str) -> None:
        """One decision of rate-limit `policy`: allowed, limited, fail_open, fail_closed."""
        self._child(self.rate_limit_decisions, policy, decision).inc()

    def record_tokens(self, model: str, *, prompt: int, completion: int) -> None:
        self.llm_tokens.labels(model=model, kind="prompt").inc(prompt)
        self.llm_tokens.labels(model=model, kind="completion").inc(completion)

    @contextmanager
    def external_call(self, service: ExternalService, operation: str) -> Iterator[None]:
        """Times the block; an exception also counts as an error and propagates."""
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            self.external_call_errors.labels(service=service, operation=operation).inc()
            raise
        finally:
            self.external_call_duration.labels(service=service, operation=operation).observe(
                time.perf_counter() - started
            )

"""`Telemetry` for use cases: events become log lines, cache results and rate-limit
decisions counters, ingestion stages a duration histogram, spans OpenTelemetry spans."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import cast

import structlog
from opentelemetry import trace

from avataradam.adapters.observability.metrics import CacheName, CacheResult, Metrics
from avataradam.adapters.observability.tracing import INSTRUMENTATION_NAME
from avataradam.domain.model import Stage

_log = structlog.get_logger("avataradam")


class StructlogTelemetry:
    def __init__(self, metrics: Metrics | None) -> None:
        self._metrics = metrics

    def event(self, name: str, **fields: object) -> None:
        _log.info(name, **fields)

    def span(self, name: str) -> AbstractContextManager[object]:
        return trace.get_tracer(INSTRUMENTATION_NAME).start_as_current_span(name)

    def ingestion_stage_time(self, stage: Stage, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.ingestion_stage_duration.labels(stage=stage.value).observe(seconds)

    def rate_limit(self, policy: str, decision: str) -> None:
        if self._metrics is not None:
            self._metrics.record_rate_limit(policy, decision)

    def budget_refused(self) -> None:
        if self._metrics is not None:
            self._metrics.budget_refusals.inc()

    def budget_alert(self, threshold: int) -> None:
        if self._metrics is not None:
            self._metrics.budget_alerts.labels(threshold=str(threshold)).inc()

    def reembedded(self, profile: str, *, documents: int, chunks: int) -> None:
        if self._metrics is not None:
            counter = self._metrics.reembedded
            counter.labels(profile=profile, unit="documents").inc(documents)
            counter.labels(profile=profile, unit="passages").inc(chunks)

    def scoring(self, outcome: str, seconds: float | None) -> None:
        if self._metrics is not None:
            self._metrics.training.record_scoring(outcome, seconds)

    def cache_result(self, cache: str, result: str) -> None:
        if self._metrics is not None:
            self._metrics.record_cache(cast("CacheName", cache), cast("CacheResult", result))

    def speech_first_audio(self, engine: str, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.speech.record_first_audio(engine, seconds)

    def speech_audio(self, engine: str, direction: str, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.speech.record_audio(engine, direction, seconds)

    def speech_failed(self, operation: str, code: str) -> None:
        if self._metrics is not None:
            self._metrics.speech.record_error(operation, code)

"""`Telemetry` for use cases: events become log lines, cache results become counters."""

from __future__ import annotations

from typing import cast

import structlog

from avataradam.entrypoints.observability.metrics import CacheName, CacheResult, Metrics

_log = structlog.get_logger("avataradam")


class StructlogTelemetry:
    def __init__(self, metrics: Metrics | None) -> None:
        self._metrics = metrics

    def event(self, name: str, **fields: object) -> None:
        _log.info(name, **fields)

    def cache_result(self, cache: str, result: str) -> None:
        if self._metrics is not None:
            self._metrics.record_cache(cast("CacheName", cache), cast("CacheResult", result))

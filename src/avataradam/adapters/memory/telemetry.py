"""In-memory twin of the `Telemetry` port: records what use cases report."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from avataradam.domain.model import Stage


class InMemoryTelemetry:
    """Exposes `events`, `cache_results`, `rate_limits`, `spans`, `stages` with
        `stage_seconds` (each stage's time as reported, failed runs included),
        `budget_refusals`, `budget_alerts`, and speech's `first_audio`, `speech_seconds` and
    `speech_failures` for assertions."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []
        self.cache_results: list[tuple[str, str]] = []
        self.rate_limits: list[tuple[str, str]] = []
        self.spans: list[str] = []
        self.stages: list[Stage] = []
        self.stage_seconds: list[float] = []
        self.budget_refusals = 0
        self.reembeddings: list[tuple[str, int, int]] = []
        self.budget_alerts: list[int] = []
        self.scorings: list[tuple[str, float | None]] = []
        self.first_audio: list[tuple[str, float]] = []
        self.speech_seconds: list[tuple[str, str, float]] = []
        self.speech_failures: list[tuple[str, str]] = []

    def event(self, name: str, **fields: object) -> None:
        self.events.append((name, fields))

    def cache_result(self, cache: str, result: str) -> None:
        self.cache_results.append((cache, result))

    def rate_limit(self, policy: str, decision: str) -> None:
        self.rate_limits.append((policy, decision))

    def budget_refused(self) -> None:
        self.budget_refusals += 1

    def budget_alert(self, threshold: int) -> None:
        self.budget_alerts.append(threshold)

    def span(self, name: str) -> AbstractContextManager[object]:
        return self._span(name)

    @contextmanager
    def _span(self, name: str) -> Iterator[object]:
        self.spans.append(name)
        yield name

    def reembedded(self, profile: str, *, documents: int, chunks: int) -> None:
        self.reembeddings.append((profile, documents, chunks))

    def scoring(self, outcome: str, seconds: float | None) -> None:
        self.scorings.append((outcome, seconds))

    def speech_first_audio(self, engine: str, seconds: float) -> None:
        self.first_audio.append((engine, seconds))

    def speech_audio(self, engine: str, direction: str, seconds: float) -> None:
        self.speech_seconds.append((engine, direction, seconds))

    def speech_failed(self, operation: str, code: str) -> None:
        self.speech_failures.append((operation, code))

    def ingestion_stage_time(self, stage: Stage, seconds: float) -> None:
        self.stages.append(stage)
        self.stage_seconds.append(seconds)

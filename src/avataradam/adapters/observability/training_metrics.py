"""Metrics of the training loop (issue 17), owned by `Metrics.training`.

- `avataradam_scoring_duration_seconds` (histogram): from a worker taking a session's
  scorecard lease to storing its scorecard, for scorings that ended `scored`;
- `avataradam_scorings_total{outcome}` (counter): scorings that ended, `outcome` =
  `scored` | `failed` (retries ran out).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

SCORING_BUCKETS: Final = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip
"""The `rules` scorer takes tens of ms to seconds (embedding the trainee's sentences);
an `llm` judge on a CPU takes tens of seconds."""
SCORING_OUTCOMES: Final = ("scored", "failed")


class TrainingMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.scoring_duration = Histogram(
            "avataradam_scoring_duration_seconds",
            "Time from taking a session's scorecard lease to storing its scorecard.",
            buckets=SCORING_BUCKETS,
            registry=registry,
        )
        self.scorings = Counter(
            "avataradam_scorings_total",
            "Scorings of completed roleplay sessions that ended: scored | failed.",
            ["outcome"],
            registry=registry,
        )

    def record_scoring(self, outcome: str, seconds: float | None) -> None:
        if outcome not in SCORING_OUTCOMES:
            raise ValueError(f"unknown scoring outcome {outcome!r}")
        self.scorings.labels(outcome=outcome).inc()
        if seconds is not None:
            self.scoring_duration.observe(seconds)

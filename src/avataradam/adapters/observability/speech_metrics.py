"""Metrics of speech (issue 20), owned by `Metrics.speech`.

- `avataradam_speech_first_audio_seconds{engine}` (histogram): from a request to speak
  (text, or a reply not spoken before) to its first sentence's audio being ready;
- `avataradam_speech_audio_seconds_total{engine, direction}` (counter): seconds of
  audio synthesised (`direction="synthesized"`) and transcribed (`"transcribed"`);
- `avataradam_speech_errors_total{operation, code}` (counter): speech requests that
  failed, by `operation` (`synthesize` | `transcribe` | `avatar_session`) and the
  problem `code` answered (`speech_unavailable`, `no_speech`, `unreadable_audio`, …).

`engine` takes the engines' names (`piper`, `espeak-ng`, `openai`, `elevenlabs`,
`faster-whisper`, `memory`), `code` the catalogue's codes: both small fixed sets.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

FIRST_AUDIO_BUCKETS: Final = (
    0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0,
)  # fmt: skip
"""A local engine's first sentence takes a few hundred ms; a cloud API's about a second."""
DIRECTIONS: Final = ("synthesized", "transcribed")
OPERATIONS: Final = ("synthesize", "transcribe", "avatar_session")


class SpeechMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.first_audio = Histogram(
            "avataradam_speech_first_audio_seconds",
            "Time from a request to speak to its first sentence's audio being ready.",
            ["engine"],
            buckets=FIRST_AUDIO_BUCKETS,
            registry=registry,
        )
        self.audio_seconds = Counter(
            "avataradam_speech_audio_seconds_total",
            "Seconds of audio synthesised or transcribed (direction).",
            ["engine", "direction"],
            registry=registry,
        )
        self.errors = Counter(
            "avataradam_speech_errors_total",
            "Failed speech requests by operation and problem code.",
            ["operation", "code"],
            registry=registry,
        )

    def record_first_audio(self, engine: str, seconds: float) -> None:
        self.first_audio.labels(engine=engine).observe(seconds)

    def record_audio(self, engine: str, direction: str, seconds: float) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown speech direction {direction!r}")
        self.audio_seconds.labels(engine=engine, direction=direction).inc(seconds)

    def record_error(self, operation: str, code: str) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"unknown speech operation {operation!r}")
        self.errors.labels(operation=operation, code=code).inc()

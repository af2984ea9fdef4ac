"""Fakes shared by the tests, each typed against the port it stands in for.

The real clock is `avataradam.adapters.system.SystemClock` and the recording telemetry
is `avataradam.adapters.memory.telemetry.InMemoryTelemetry`: tests use those directly.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from avataradam.domain.ports.speech import AvatarSession, SpeechUnavailable

if TYPE_CHECKING:
    from avataradam.domain.ports.speech import AvatarProvider
    from avataradam.domain.ports.system import Clock

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""Where a `ManualClock` starts unless told otherwise."""


class ManualClock:
    """`Clock` whose time moves only when the test moves it: `advance(seconds)`, or
    set `current`. Never advanced, it is a stopped clock. Only the wall clock is manual:
    `monotonic` is the system's, so throttles and timings run."""

    def __init__(self, start: datetime = EPOCH) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return time.monotonic()

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


if TYPE_CHECKING:
    _clock: Clock = ManualClock()


class FakeAvatarProvider:
    """`AvatarProvider` answering numbered sessions, or `SpeechUnavailable` while
    `down`; `created` lists the (avatar_id, voice) of each session."""

    name = "fake-avatar"

    def __init__(self) -> None:
        self.down = False
        self.created: list[tuple[str, str | None]] = []

    async def create_session(self, *, avatar_id: str, voice: str | None) -> AvatarSession:
        if self.down:
            raise SpeechUnavailable("the avatar provider answered 502")
        self.created.append((avatar_id, voice))
        return AvatarSession(
            provider=self.name,
            session_id=f"session-{len(self.created)}",
            token=f"short-lived-{len(self.created)}",
            expires_at="2999-01-01T00:00:00Z",
            url="wss://avatar.example.com/realtime",
        )


if TYPE_CHECKING:
    _avatar: AvatarProvider = FakeAvatarProvider()

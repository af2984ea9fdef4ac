"""In-memory twin of the `TaskQueue` port."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import msgspec

from avataradam.domain.errors import DependencyUnavailable


class SentTask(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    payload: dict[str, str]
    delay_ms: int
    options: dict[str, str]


class InMemoryTaskQueue:
    """Records what would be enqueued (`sent`); `available=False` simulates an outage."""

    def __init__(self, message_options: Callable[[], Mapping[str, str]] | None = None) -> None:
        self.sent: list[SentTask] = []
        self.available = True
        self._message_options = message_options

    async def enqueue(self, task: str, payload: Mapping[str, str], *, delay_ms: int = 0) -> None:
        if not self.available:
            raise DependencyUnavailable("in-memory queue switched off")
        options = dict(self._message_options()) if self._message_options else {}
        self.sent.append(
            SentTask(task=task, payload=dict(payload), delay_ms=delay_ms, options=options)
        )

    def take(self, task: str) -> list[SentTask]:
        """Removes and returns the recorded tasks of one kind, oldest first."""
        taken = [t for t in self.sent if t.task == task]
        self.sent = [t for t in self.sent if t.task != task]
        return taken

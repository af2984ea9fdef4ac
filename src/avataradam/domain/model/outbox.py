"""Work recorded with the change that causes it, and stored idempotent responses."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.domain.model.events import OutboxMessage


class OutboxEntry(msgspec.Struct, frozen=True, kw_only=True):
    """Work recorded in the same transaction as the change that causes it.

    A relay claims due entries, hands them on (task queue, webhook sender) and marks
    them done; an entry whose hand-off failed is rescheduled, never lost.
    """

    id: UUID
    message: OutboxMessage
    """A task for the queue or an event for webhook subscribers (`model/events.py`)."""
    created_at: datetime
    available_at: datetime

    @property
    def kind(self) -> str:
        """`task` or `event` (`domain/tasks.py`): which union `message` belongs to."""
        return self.message.kind


class StoredResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The response first given for an idempotency key, replayed for a retry."""

    scope: str
    key: str
    request_hash: str
    status_code: int
    body: bytes
    created_at: datetime

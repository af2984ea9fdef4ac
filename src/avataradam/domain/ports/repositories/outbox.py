"""Persistence ports of the transactional outbox and of idempotent responses."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from avataradam.domain.model import (
    OutboxEntry,
    StoredResponse,
)


class OutboxRepository(Protocol):
    """Transactional outbox.

    `claim_due` locks up to `limit` entries whose `available_at <= now`, oldest first,
    skipping entries another open unit of work has claimed (FOR UPDATE SKIP LOCKED).
    The claim lasts until that unit of work ends: `mark_done` (removal) or
    `reschedule` must be committed, or the entries become claimable again.
    """

    async def add(self, entry: OutboxEntry) -> None: ...
    async def claim_due(self, limit: int, now: datetime) -> list[OutboxEntry]: ...
    async def mark_done(self, entry_id: UUID) -> None: ...
    async def reschedule(self, entry_id: UUID, available_at: datetime) -> None: ...


class IdempotencyRepository(Protocol):
    """The first response per (scope, key) (see `domain/idempotency.py`)."""

    async def claim(
        self,
        scope: str,
        key: str,
        request_hash: str,
        status_code: int,
        body: bytes,
        created_at: datetime,
    ) -> StoredResponse | None:
        """Stores this response for the key and returns None if the key is new; else
        stores nothing and returns the response stored first. A claim of a key that
        another open unit of work claimed waits for that one to end (or, in the
        in-memory twin, makes this commit fail with ConcurrentUpdate)."""
        ...

    async def delete_before(self, created_before: datetime) -> int:
        """Forgets responses stored before `created_before`; returns how many."""
        ...

"""In-memory twins of the outbox and idempotency repositories.

See `adapters/postgres/outbox.py`.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.adapters.memory.rows import insert
from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.domain.model import OutboxEntry, StoredResponse, decode_message


class InMemoryOutboxRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, entry: OutboxEntry) -> None:
        """Stores the entry as PostgreSQL does, its message as `payload()` text read
        back by kind, so a message that would not survive the row fails here too."""
        message = decode_message(entry.kind, entry.message.payload())
        stored = msgspec.structs.replace(entry, message=message)
        self._tx.write(lambda t: insert(t.outbox, entry.id, stored))

    async def claim_due(self, limit: int, now: datetime) -> list[OutboxEntry]:
        self._tx.require_writable()
        due = sorted(
            (e for e in self._tx.tables.outbox.values() if e.available_at <= now),
            key=lambda e: (e.available_at, e.id),
        )
        claimed: list[OutboxEntry] = []
        for entry in due:
            if len(claimed) == limit:
                break
            if self._tx.claim(entry.id):
                claimed.append(entry)
        return claimed

    async def mark_done(self, entry_id: UUID) -> None:
        self._tx.write(lambda t: t.outbox.pop(entry_id, None))

    async def reschedule(self, entry_id: UUID, available_at: datetime) -> None:
        def op(t: Tables) -> None:
            entry = t.outbox.get(entry_id)
            if entry is not None:
                t.outbox[entry_id] = msgspec.structs.replace(entry, available_at=available_at)

        self._tx.write(op)


class InMemoryIdempotencyRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def claim(
        self,
        scope: str,
        key: str,
        request_hash: str,
        status_code: int,
        body: bytes,
        created_at: datetime,
    ) -> StoredResponse | None:
        response = StoredResponse(
            scope=scope,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            body=body,
            created_at=created_at,
        )

        def op(t: Tables) -> StoredResponse | None:
            stored = t.idempotency.get((scope, key))
            if stored is None:
                t.idempotency[(scope, key)] = response
            return stored

        return self._tx.write(op, replay_must_agree=True)

    async def delete_before(self, created_before: datetime) -> int:
        def op(t: Tables) -> int:
            old = [k for k, r in t.idempotency.items() if r.created_at < created_before]
            for k in old:
                del t.idempotency[k]
            return len(old)

        return self._tx.write(op)

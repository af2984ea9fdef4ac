"""The transactional outbox and stored idempotent responses in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from avataradam.adapters.postgres.errors import affected_rows, translate
from avataradam.adapters.postgres.rows import ConnectionRepository, from_row
from avataradam.domain.errors import ConcurrentUpdate
from avataradam.domain.model import OutboxEntry, StoredResponse, decode_message

_CLAIM_ATTEMPTS = 3


class PostgresOutboxRepository(ConnectionRepository):
    """Rows hold a message's flat text `payload()` in jsonb, read back by its `kind`."""

    @translate
    async def add(self, entry: OutboxEntry) -> None:
        await self._conn.execute(
            "INSERT INTO outbox (id, kind, payload, created_at, available_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            entry.id,
            entry.kind,
            entry.message.payload(),
            entry.created_at,
            entry.available_at,
        )

    @translate
    async def claim_due(self, limit: int, now: datetime) -> list[OutboxEntry]:
        """Row locks held until the transaction ends; concurrent relays skip them."""
        rows = await self._conn.fetch(
            "SELECT id, kind, payload, created_at, available_at FROM outbox"
            " WHERE available_at <= $1 ORDER BY available_at, id LIMIT $2"
            " FOR UPDATE SKIP LOCKED",
            now,
            limit,
        )
        return [
            OutboxEntry(
                id=row["id"],
                message=decode_message(row["kind"], row["payload"]),
                created_at=row["created_at"],
                available_at=row["available_at"],
            )
            for row in rows
        ]

    @translate
    async def mark_done(self, entry_id: UUID) -> None:
        await self._conn.execute("DELETE FROM outbox WHERE id = $1", entry_id)

    @translate
    async def reschedule(self, entry_id: UUID, available_at: datetime) -> None:
        await self._conn.execute(
            "UPDATE outbox SET available_at = $2 WHERE id = $1", entry_id, available_at
        )


class PostgresIdempotencyRepository(ConnectionRepository):
    @translate
    async def claim(
        self,
        scope: str,
        key: str,
        request_hash: str,
        status_code: int,
        body: bytes,
        created_at: datetime,
    ) -> StoredResponse | None:
        """INSERT ... ON CONFLICT DO NOTHING waits for a concurrent claim of the key to
        commit or roll back; the SELECT after it then sees the committed claim."""
        for _attempt in range(_CLAIM_ATTEMPTS):
            claimed = await self._conn.execute(
                "INSERT INTO idempotency_keys"
                " (scope, key, request_hash, status_code, body, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, key) DO NOTHING",
                scope,
                key,
                request_hash,
                status_code,
                body,
                created_at,
            )
            if affected_rows(claimed) == 1:
                return None
            row = await self._conn.fetchrow(
                "SELECT scope, key, request_hash, status_code, body, created_at"
                " FROM idempotency_keys WHERE scope = $1 AND key = $2",
                scope,
                key,
            )
            if row is not None:
                return from_row(StoredResponse, row)
        raise ConcurrentUpdate("the idempotency key is being purged; retry")

    @translate
    async def delete_before(self, created_before: datetime) -> int:
        status = await self._conn.execute(
            "DELETE FROM idempotency_keys WHERE created_at < $1", created_before
        )
        return affected_rows(status)

"""Re-embeddings (`domain/vectors.py`) in PostgreSQL (migration 0013)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from avataradam.adapters.postgres.errors import translate
from avataradam.adapters.postgres.rows import ConnectionRepository, columns, insert, params, select
from avataradam.domain.vectors import Reembedding, ReembeddingRunning

_COLUMNS = columns(
    "dealership_id, generation, source_generation, source_profile, target_profile, status,"
    " created_at, updated_at, documents_total, documents_done, chunks_done, lease_token,"
    " lease_expires_at, error_message, finished_at"
)
_SELECT = select("reembeddings", _COLUMNS)
_INSERT = insert("reembeddings", _COLUMNS)
_UPDATE = (
    "UPDATE reembeddings SET status = $3, updated_at = $4, documents_total = $5,"
    " documents_done = $6, chunks_done = $7, lease_token = $8, lease_expires_at = $9,"
    " error_message = $10, finished_at = $11 WHERE dealership_id = $1 AND generation = $2"
)
_PENDING = """
FROM documents d
WHERE d.dealership_id = $1 AND d.status = 'ready'
  AND NOT EXISTS (
    SELECT 1 FROM reembedding_documents r
    WHERE r.dealership_id = $1 AND r.generation = $2 AND r.document_id = d.id
  )
"""


class PostgresReembeddingRepository(ConnectionRepository):
    @translate
    async def add(self, reembedding: Reembedding) -> None:
        """Raises ReembeddingRunning (without the running one's generation: the
        transaction is aborted) when the dealership has one running; callers check
        `running` first under the dealership's lock, so only a race gets here."""
        try:
            await self._conn.execute(_INSERT, *params(reembedding, _COLUMNS))
        except asyncpg.exceptions.UniqueViolationError as exc:
            raise ReembeddingRunning(
                "a re-embedding of this dealership is already running", generation=None
            ) from exc

    @translate
    async def get(self, dealership_id: UUID, generation: int) -> Reembedding | None:
        return await self._one(
            Reembedding,
            f"{_SELECT} WHERE dealership_id = $1 AND generation = $2",
            dealership_id,
            generation,
        )

    @translate
    async def get_for_update(self, dealership_id: UUID, generation: int) -> Reembedding | None:
        return await self._one(
            Reembedding,
            f"{_SELECT} WHERE dealership_id = $1 AND generation = $2 FOR UPDATE",
            dealership_id,
            generation,
        )

    @translate
    async def running(self, dealership_id: UUID) -> Reembedding | None:
        return await self._one(
            Reembedding,
            f"{_SELECT} WHERE dealership_id = $1 AND status = 'running'",
            dealership_id,
        )

    @translate
    async def latest_generation(self, dealership_id: UUID) -> int:
        value = await self._conn.fetchval(
            "SELECT coalesce(max(generation), 0) FROM reembeddings WHERE dealership_id = $1",
            dealership_id,
        )
        return int(value)

    @translate
    async def list_for(self, dealership_id: UUID) -> list[Reembedding]:
        return await self._all(
            Reembedding,
            f"{_SELECT} WHERE dealership_id = $1 ORDER BY generation DESC",
            dealership_id,
        )

    @translate
    async def update(self, reembedding: Reembedding) -> None:
        r = reembedding
        await self._update_one(
            _UPDATE,
            [
                r.dealership_id,
                r.generation,
                r.status.value,
                r.updated_at,
                r.documents_total,
                r.documents_done,
                r.chunks_done,
                r.lease_token,
                r.lease_expires_at,
                r.error_message,
                r.finished_at,
            ],
            "re-embedding",
        )

    @translate
    async def redrivable(self, now: datetime, *, limit: int) -> list[Reembedding]:
        return await self._all(
            Reembedding,
            f"{_SELECT} WHERE status = 'running' AND (lease_expires_at IS NULL"
            " OR lease_expires_at <= $1) ORDER BY created_at LIMIT $2",
            now,
            limit,
        )

    @translate
    async def mark_documents(
        self, dealership_id: UUID, generation: int, document_ids: Sequence[UUID]
    ) -> None:
        await self._conn.execute(
            "INSERT INTO reembedding_documents (dealership_id, generation, document_id)"
            " SELECT $1, $2, d FROM unnest($3::uuid[]) AS d"
            " WHERE EXISTS (SELECT 1 FROM documents WHERE id = d)"
            " ON CONFLICT DO NOTHING",
            dealership_id,
            generation,
            list(document_ids),
        )

    @translate
    async def pending_documents(
        self, dealership_id: UUID, generation: int, *, limit: int
    ) -> list[UUID]:
        rows = await self._conn.fetch(
            f"SELECT d.id {_PENDING} ORDER BY d.created_at, d.id LIMIT $3",
            dealership_id,
            generation,
            limit,
        )
        return [row[0] for row in rows]

    @translate
    async def count_pending(self, dealership_id: UUID, generation: int) -> int:
        value = await self._conn.fetchval(f"SELECT count(*) {_PENDING}", dealership_id, generation)
        return int(value)

"""Uploaded files' bytes, and replies' audio, in PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

from avataradam.adapters.postgres.database import PooledConnection
from avataradam.adapters.postgres.errors import translate, translated_errors
from avataradam.adapters.postgres.rows import ConnectionRepository

BLOB_PART_BYTES = 1024 * 1024
DOCUMENT_BLOBS = ("document_blobs", "document_id")
AUDIO_BLOBS = ("message_audio_blobs", "blob_id")
"""A blob table and its id column: documents' files, replies' audio (migration 0024)."""


class PostgresBlobRepository(ConnectionRepository):
    """Blobs as rows of at most BLOB_PART_BYTES in `table` (`DOCUMENT_BLOBS` or
    `AUDIO_BLOBS`; constants, never input)."""

    def __init__(
        self, connection: PooledConnection, table: tuple[str, str] = DOCUMENT_BLOBS
    ) -> None:
        super().__init__(connection)
        self._table, self._id = table

    async def _insert(self, blob_id: UUID, seq: int, data: bytes) -> None:
        await self._conn.execute(
            f"INSERT INTO {self._table} ({self._id}, seq, data) VALUES ($1, $2, $3)",  # noqa: S608 -- constants
            blob_id,
            seq,
            data,
        )

    @translate
    async def write(self, blob_id: UUID, parts: AsyncIterator[bytes]) -> int:
        await self._conn.execute(f"DELETE FROM {self._table} WHERE {self._id} = $1", blob_id)  # noqa: S608 -- constants
        total = 0
        seq = 0
        pending = bytearray()
        async for part in parts:
            total += len(part)
            pending += part
            while len(pending) >= BLOB_PART_BYTES:
                await self._insert(blob_id, seq, bytes(pending[:BLOB_PART_BYTES]))
                del pending[:BLOB_PART_BYTES]
                seq += 1
        if pending:
            await self._insert(blob_id, seq, bytes(pending))
        return total

    async def read(self, blob_id: UUID) -> AsyncIterator[bytes]:
        """Streams one row at a time through a server-side cursor."""
        with translated_errors():
            async for row in self._conn.cursor(
                f"SELECT data FROM {self._table} WHERE {self._id} = $1 ORDER BY seq",  # noqa: S608 -- constants
                blob_id,
                prefetch=1,
            ):
                yield row["data"]

    @translate
    async def delete(self, blob_id: UUID) -> None:
        await self._conn.execute(f"DELETE FROM {self._table} WHERE {self._id} = $1", blob_id)  # noqa: S608 -- constants

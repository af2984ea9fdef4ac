"""Uploaded files' bytes in PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

from avataradam.adapters.postgres.errors import translate, translated_errors
from avataradam.adapters.postgres.rows import ConnectionRepository

BLOB_PART_BYTES = 1024 * 1024


class PostgresBlobRepository(ConnectionRepository):
    """Blobs as rows of at most BLOB_PART_BYTES in `document_blobs`."""

    async def _insert(self, blob_id: UUID, seq: int, data: bytes) -> None:
        await self._conn.execute(
            "INSERT INTO document_blobs (document_id, seq, data) VALUES ($1, $2, $3)",
            blob_id,
            seq,
            data,
        )

    @translate
    async def write(self, blob_id: UUID, parts: AsyncIterator[bytes]) -> int:
        await self._conn.execute("DELETE FROM document_blobs WHERE document_id = $1", blob_id)
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
                "SELECT data FROM document_blobs WHERE document_id = $1 ORDER BY seq",
                blob_id,
                prefetch=1,
            ):
                yield row["data"]

    @translate
    async def delete(self, blob_id: UUID) -> None:
        await self._conn.execute("DELETE FROM document_blobs WHERE document_id = $1", blob_id)

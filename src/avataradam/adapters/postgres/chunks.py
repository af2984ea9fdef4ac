"""Chunks (a document's passages) in PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from avataradam.adapters.postgres.errors import (
    translate,
)
from avataradam.adapters.postgres.rows import ConnectionRepository, from_row
from avataradam.domain.errors import Conflict
from avataradam.domain.model import (
    Chunk,
)

_SELECT_CHUNK = (
    "SELECT id, document_id, dealership_id, index, text, topic, filename, page, section,"
    " section_path FROM chunks"
)


class PostgresChunkRepository(ConnectionRepository):
    @translate
    async def replace(self, document_id: UUID, chunks: Sequence[Chunk]) -> None:
        """Deletes the document's chunks and inserts these (`put`): a round trip each."""
        await self._conn.execute("DELETE FROM chunks WHERE document_id = $1", document_id)
        await self.put(document_id, chunks)

    @translate
    async def put(self, document_id: UUID, chunks: Sequence[Chunk]) -> None:
        """Inserts the chunks in one round trip, overwriting those at the same index.
        Raises Conflict for two chunks sharing an index (one statement cannot write a
        row twice)."""
        if not chunks:
            return
        if len({c.index for c in chunks}) != len(chunks):
            raise Conflict("two chunks of a document share an index")
        await self._conn.execute(
            "INSERT INTO chunks (id, document_id, dealership_id, index, text, topic, filename, "
            "page, section, section_path)"
            " SELECT u.id, u.document_id, u.dealership_id, u.index, u.text, u.topic,"
            " u.filename, u.page, u.section,"
            " CASE WHEN u.path IS NULL THEN NULL ELSE"
            " ARRAY(SELECT jsonb_array_elements_text(u.path -> 'p')) END"
            " FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::int[], $5::text[],"
            " $6::text[], $7::text[], $8::int[], $9::text[], $10::jsonb[])"
            " AS u(id, document_id, dealership_id, index, text, topic, filename, page, section,"
            " path)"
            " ON CONFLICT (document_id, index) DO UPDATE SET id = excluded.id,"
            " dealership_id = excluded.dealership_id, text = excluded.text,"
            " topic = excluded.topic, filename = excluded.filename, page = excluded.page,"
            " section = excluded.section, section_path = excluded.section_path",
            [c.id for c in chunks],
            [document_id] * len(chunks),
            [c.dealership_id for c in chunks],
            [c.index for c in chunks],
            [c.text for c in chunks],
            [c.topic.value for c in chunks],
            [c.filename for c in chunks],
            [c.page for c in chunks],
            [c.section for c in chunks],
            # Each as a jsonb object (the pool's codec encodes it): unnest() cannot take
            # an array of arrays, and asyncpg reads a list of lists as a 2-D array.
            [None if c.section_path is None else {"p": list(c.section_path)} for c in chunks],
        )

    @translate
    async def delete_from(self, document_id: UUID, first_index: int) -> int:
        status: str = await self._conn.execute(
            "DELETE FROM chunks WHERE document_id = $1 AND index >= $2", document_id, first_index
        )
        return int(status.rsplit(" ", 1)[1])

    @translate
    async def get_many(self, chunk_ids: Sequence[str], *, dealership_id: UUID) -> list[Chunk]:
        """Only chunks of `ready` documents: a document being deleted is never served."""
        rows = await self._conn.fetch(
            "SELECT c.id, c.document_id, c.dealership_id, c.index, c.text, c.topic, c.filename,"
            " c.page, c.section FROM chunks c JOIN documents d ON d.id = c.document_id"
            " WHERE c.id = ANY($1::text[]) AND c.dealership_id = $2 AND d.status = 'ready'",
            list(chunk_ids),
            dealership_id,
        )
        by_id = {row["id"]: from_row(Chunk, row) for row in rows}
        return [by_id[chunk_id] for chunk_id in dict.fromkeys(chunk_ids) if chunk_id in by_id]

    @translate
    async def of_document(self, document_id: UUID) -> list[Chunk]:
        return await self._all(
            Chunk, f"{_SELECT_CHUNK} WHERE document_id = $1 ORDER BY index", document_id
        )

    @translate
    async def count(self, document_id: UUID) -> int:
        counted: int = await self._conn.fetchval(
            "SELECT count(*) FROM chunks WHERE document_id = $1", document_id
        )
        return counted

    @translate
    async def delete_document(self, document_id: UUID) -> None:
        await self._conn.execute("DELETE FROM chunks WHERE document_id = $1", document_id)

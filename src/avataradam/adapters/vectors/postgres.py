"""VectorIndex in PostgreSQL: exact cosine search over `chunk_vectors` (migration 0003),
and exact dot-product search over their sparse vectors (`SparseSearch`, migration 0016).

Vectors travel as plain `real[]` parameters (asyncpg encodes a list of floats
natively), so no codec has to be registered on the pool: the adapter works with any
pool the composition root creates. Similarity is `avataradam_cosine_similarity`, a
C function from the project's extension (see ops/install-pgvector.sh); a scan of
100k 384-dimension vectors takes well under 100 ms, so no approximate index is
needed at this size and results are exact. Sparse vectors are two columns,
`sparse_indices int4[]` and `sparse_values float4[]` (both NULL when a record has none),
scored by `avataradam_sparse_dot` from the same extension (version 1.1), also by an
exact scan. A row with ~256 sparse terms is about twice as wide, which a dense scan
pays too (20k rows of 384 dimensions on 2 cores: 27 ms without sparse terms, 37 ms
with, 53 ms for the sparse scan; migration 0016 keeps such rows out of TOAST).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg

from avataradam.adapters.postgres.errors import UNAVAILABLE
from avataradam.adapters.vectors.errors import (
    VectorDimensionMismatch,
    check_dimension,
    check_sparse,
)
from avataradam.domain.model import Topic
from avataradam.domain.ports.knowledge import (
    SparseVector,
    VectorIndexUnavailable,
    VectorMatch,
    VectorRecord,
)

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    *UNAVAILABLE,
    asyncpg.exceptions.UndefinedTableError,
    asyncpg.exceptions.UndefinedFunctionError,
)

_UPSERT = """
INSERT INTO chunk_vectors
    (namespace, id, document_id, topic, embedding, sparse_indices, sparse_values)
VALUES ($1, $2, $3, $4, $5::real[], $6::int4[], $7::float4[])
ON CONFLICT (namespace, id) DO UPDATE
SET document_id = EXCLUDED.document_id, topic = EXCLUDED.topic, embedding = EXCLUDED.embedding,
    sparse_indices = EXCLUDED.sparse_indices, sparse_values = EXCLUDED.sparse_values
"""

_QUERY = """
SELECT id, document_id, topic, avataradam_cosine_similarity(embedding, $2::real[]) AS score
FROM chunk_vectors
WHERE namespace = $1 AND ($4::text[] IS NULL OR topic = ANY($4::text[]))
  AND document_id <> ALL($5::uuid[])
ORDER BY score DESC, id
LIMIT $3
"""

_QUERY_SPARSE = """
SELECT id, document_id, topic, score
FROM (
    SELECT id, document_id, topic,
           avataradam_sparse_dot(sparse_indices, sparse_values, $2::int4[], $3::float4[])
               AS score
    FROM chunk_vectors
    WHERE namespace = $1 AND sparse_indices IS NOT NULL
      AND ($5::text[] IS NULL OR topic = ANY($5::text[]))
      AND document_id <> ALL($6::uuid[])
    OFFSET 0  -- not flattened: each dot product is computed once, not again for the filter
) AS scored
WHERE score > 0
ORDER BY score DESC, id
LIMIT $4
"""

_UPSERT_BATCH = 500


class PostgresVectorIndex:
    """Vectors of all dealerships in one table, keyed by (namespace, id).

    The database remembers the dimension it was first written with
    (`vector_index_settings`); an adapter configured with another dimension raises
    `VectorDimensionMismatch` on first use instead of mixing incomparable vectors.
    `topics=None` or empty means every topic. Implements `SparseSearch`: an upsert
    stores each record's sparse vector (None clears the one stored before).
    """

    def __init__(self, pool: asyncpg.Pool | Callable[[], asyncpg.Pool], dimension: int) -> None:
        """`pool` may be a provider, for pools that only exist once the app has started."""
        if dimension <= 0:
            raise ValueError("dimension must be positive")
        self._pool_source = pool
        self.dimension = dimension
        self._dimension_checked = False

    @property
    def _pool(self) -> asyncpg.Pool:
        source = self._pool_source
        return source if isinstance(source, asyncpg.Pool) else source()

    async def ensure_dimension(self) -> None:
        """Records the dimension on first use; raises if the stored one differs."""
        async with self._unavailable_on_failure():
            stored = await self._pool.fetchval(
                "INSERT INTO vector_index_settings (dimension) VALUES ($1) "
                "ON CONFLICT (singleton) DO UPDATE SET dimension = "
                "vector_index_settings.dimension RETURNING dimension",
                self.dimension,
            )
        if stored != self.dimension:
            raise VectorDimensionMismatch(
                expected=stored, actual=self.dimension, where="the database's stored"
            )
        self._dimension_checked = True

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        for record in records:
            check_dimension(len(record.values), self.dimension)
            if record.sparse is not None:
                check_sparse(record.sparse)
        if not records:
            return
        await self._check_dimension_once()
        rows = [
            (
                namespace,
                record.id,
                record.document_id,
                str(record.topic),
                record.values,
                None if record.sparse is None else record.sparse.indices,
                None if record.sparse is None else record.sparse.values,
            )
            for record in records
        ]
        async with (
            self._unavailable_on_failure(),
            self._pool.acquire() as conn,
            conn.transaction(),
        ):
            for start in range(0, len(rows), _UPSERT_BATCH):
                await conn.executemany(_UPSERT, rows[start : start + _UPSERT_BATCH])

    async def query(
        self,
        namespace: str,
        vector: Sequence[float],
        *,
        top_k: int,
        topics: Sequence[Topic] | None = None,
        exclude_documents: Collection[UUID] = (),
    ) -> list[VectorMatch]:
        check_dimension(len(vector), self.dimension)
        if top_k <= 0:
            return []
        await self._check_dimension_once()
        topic_filter = [str(topic) for topic in topics] if topics else None
        async with self._unavailable_on_failure():
            rows = await self._pool.fetch(
                _QUERY, namespace, list(vector), top_k, topic_filter, list(exclude_documents)
            )
        return _matches(rows)

    async def query_sparse(
        self,
        namespace: str,
        vector: SparseVector,
        *,
        top_k: int,
        topics: Sequence[Topic] | None = None,
        exclude_documents: Collection[UUID] = (),
    ) -> list[VectorMatch]:
        """`SparseSearch.query_sparse`: an exact scan of the namespace's records that have
        a sparse vector. ValueError for a malformed `vector` (`check_sparse`)."""
        check_sparse(vector)
        if top_k <= 0 or not vector.indices:
            return []
        await self._check_dimension_once()
        topic_filter = [str(topic) for topic in topics] if topics else None
        async with self._unavailable_on_failure():
            rows = await self._pool.fetch(
                _QUERY_SPARSE,
                namespace,
                vector.indices,
                vector.values,
                top_k,
                topic_filter,
                list(exclude_documents),
            )
        return _matches(rows)

    async def delete_namespace(self, namespace: str) -> None:
        async with self._unavailable_on_failure():
            await self._pool.execute("DELETE FROM chunk_vectors WHERE namespace = $1", namespace)

    async def delete_document(
        self, namespace: str, document_id: UUID, *, from_index: int = 0
    ) -> None:
        async with self._unavailable_on_failure():
            if from_index <= 0:
                await self._pool.execute(
                    "DELETE FROM chunk_vectors WHERE namespace = $1 AND document_id = $2",
                    namespace,
                    document_id,
                )
                return
            await self._pool.execute(
                "DELETE FROM chunk_vectors WHERE namespace = $1 AND document_id = $2"
                " AND split_part(id, ':', 2)::int >= $3",
                namespace,
                document_id,
                from_index,
            )

    async def count(self, namespace: str, *, document_id: UUID | None = None) -> int:
        async with self._unavailable_on_failure():
            if document_id is None:
                total = await self._pool.fetchval(
                    "SELECT count(*) FROM chunk_vectors WHERE namespace = $1", namespace
                )
            else:
                total = await self._pool.fetchval(
                    "SELECT count(*) FROM chunk_vectors WHERE namespace = $1 AND document_id = $2",
                    namespace,
                    document_id,
                )
        return int(total)

    async def _check_dimension_once(self) -> None:
        if not self._dimension_checked:
            await self.ensure_dimension()

    @asynccontextmanager
    async def _unavailable_on_failure(self) -> AsyncIterator[None]:
        try:
            yield
        except _UNAVAILABLE as exc:
            raise VectorIndexUnavailable(f"PostgreSQL vector store failed: {exc}") from exc


def _matches(rows: Sequence[asyncpg.Record]) -> list[VectorMatch]:
    return [
        VectorMatch(
            id=row["id"],
            score=float(row["score"]),
            document_id=row["document_id"],
            topic=Topic(row["topic"]),
        )
        for row in rows
    ]

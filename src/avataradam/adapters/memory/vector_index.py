"""In-memory VectorIndex: exact cosine search, and exact dot-product search over sparse
vectors (`SparseSearch`); the reference semantics for the others."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from uuid import UUID

from avataradam.adapters.vectors.errors import check_dimension, check_sparse
from avataradam.domain.model import Topic
from avataradam.domain.ports.knowledge import (
    SparseVector,
    VectorMatch,
    VectorRecord,
    chunk_index,
)


def cosine_similarity(left: Sequence[float], right: Sequence[float]) -> float:
    """In [-1, 1]; 0 when either vector has zero length (it has no direction)."""
    dot = math.fsum(x * y for x, y in zip(left, right, strict=True))
    norms = math.sqrt(math.fsum(x * x for x in left) * math.fsum(y * y for y in right))
    if norms == 0.0:
        return 0.0
    return max(-1.0, min(1.0, dot / norms))


def sparse_dot(left: SparseVector, right: SparseVector) -> float:
    """The sum of the products of the weights at the dimensions both have; 0 when none."""
    weights = dict(zip(left.indices, left.values, strict=True))
    return math.fsum(
        weights[index] * value
        for index, value in zip(right.indices, right.values, strict=True)
        if index in weights
    )


class InMemoryVectorIndex:
    """Exact cosine search over dicts; ties rank by id so results are deterministic.

    `topics=None` or empty means every topic, as in the other adapters. Keeps each
    record's sparse vector as given (None: it has none) and searches them.
    """

    def __init__(self, dimension: int) -> None:
        if dimension <= 0:
            raise ValueError("dimension must be positive")
        self.dimension = dimension
        self._namespaces: dict[str, dict[str, VectorRecord]] = {}

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        for record in records:
            check_dimension(len(record.values), self.dimension)
            if record.sparse is not None:
                check_sparse(record.sparse)
        stored = self._namespaces.setdefault(namespace, {})
        for record in records:
            stored[record.id] = record

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
        wanted = set(topics) if topics else None
        excluded = set(exclude_documents)
        matches = [
            VectorMatch(
                id=record.id,
                score=cosine_similarity(record.values, vector),
                document_id=record.document_id,
                topic=record.topic,
            )
            for record in self._namespaces.get(namespace, {}).values()
            if (wanted is None or record.topic in wanted) and record.document_id not in excluded
        ]
        matches.sort(key=lambda match: (-match.score, match.id))
        return matches[:top_k]

    async def query_sparse(
        self,
        namespace: str,
        vector: SparseVector,
        *,
        top_k: int,
        topics: Sequence[Topic] | None = None,
        exclude_documents: Collection[UUID] = (),
    ) -> list[VectorMatch]:
        """`SparseSearch.query_sparse`. ValueError for a malformed `vector`."""
        check_sparse(vector)
        if top_k <= 0:
            return []
        wanted = set(topics) if topics else None
        excluded = set(exclude_documents)
        scored = (
            (record, sparse_dot(record.sparse, vector))
            for record in self._namespaces.get(namespace, {}).values()
            if record.sparse is not None
            and (wanted is None or record.topic in wanted)
            and record.document_id not in excluded
        )
        matches = [
            VectorMatch(
                id=record.id, score=score, document_id=record.document_id, topic=record.topic
            )
            for record, score in scored
            if score > 0
        ]
        matches.sort(key=lambda match: (-match.score, match.id))
        return matches[:top_k]

    async def delete_namespace(self, namespace: str) -> None:
        self._namespaces.pop(namespace, None)

    async def delete_document(
        self, namespace: str, document_id: UUID, *, from_index: int = 0
    ) -> None:
        stored = self._namespaces.get(namespace, {})
        for record_id in [
            key
            for key, record in stored.items()
            if record.document_id == document_id and chunk_index(key) >= from_index
        ]:
            del stored[record_id]

    async def count(self, namespace: str, *, document_id: UUID | None = None) -> int:
        stored = self._namespaces.get(namespace, {}).values()
        if document_id is None:
            return len(stored)
        return sum(1 for record in stored if record.document_id == document_id)

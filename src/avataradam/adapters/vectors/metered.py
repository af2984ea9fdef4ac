"""Measures any `VectorIndex`: every call timed by operation."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from uuid import UUID

from avataradam.domain.model import Topic
from avataradam.domain.ports.knowledge import VectorIndex, VectorMatch, VectorRecord

CallTimer = Callable[[str], AbstractContextManager[None]]


class MeteredVectorIndex:
    """Implements `VectorIndex` around another; `queries` counts searches sent."""

    def __init__(self, inner: VectorIndex, *, time_call: CallTimer) -> None:
        self.inner = inner
        self.dimension = inner.dimension
        self._time_call = time_call
        self.queries = 0

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        with self._time_call("upsert"):
            await self.inner.upsert(namespace, records)

    async def query(
        self,
        namespace: str,
        vector: Sequence[float],
        *,
        top_k: int,
        topics: Sequence[Topic] | None = None,
        exclude_documents: Collection[UUID] = (),
    ) -> list[VectorMatch]:
        self.queries += 1
        with self._time_call("query"):
            return await self.inner.query(
                namespace,
                vector,
                top_k=top_k,
                topics=topics,
                exclude_documents=exclude_documents,
            )

    async def delete_namespace(self, namespace: str) -> None:
        with self._time_call("delete"):
            await self.inner.delete_namespace(namespace)

    async def delete_document(
        self, namespace: str, document_id: UUID, *, from_index: int = 0
    ) -> None:
        with self._time_call("delete"):
            await self.inner.delete_document(namespace, document_id, from_index=from_index)

    async def count(self, namespace: str, *, document_id: UUID | None = None) -> int:
        with self._time_call("count"):
            return await self.inner.count(namespace, document_id=document_id)

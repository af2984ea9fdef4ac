"""Measures any `VectorIndex`: every call timed by operation.

A sparse search (`SparseSearch.query_sparse`) is timed as operation `query_sparse`, and
only exists where the wrapped index has it: `MeteredVectorIndex(inner, ...)` builds a
`MeteredSparseVectorIndex` when `inner` is a `SparseSearch`, so `isinstance(metered,
SparseSearch)` answers what the wrapped index can do and every sparse search sent
through the wrapper is measured (a wrapper that always had `query_sparse` would claim a
capability the index lacks; calling the index under it, `undecorated`, would go
unmeasured).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from typing import Self, cast
from uuid import UUID

from avataradam.domain.model import Topic
from avataradam.domain.ports.capabilities import SparseSearch
from avataradam.domain.ports.knowledge import (
    SparseVector,
    VectorIndex,
    VectorMatch,
    VectorRecord,
)

CallTimer = Callable[[str], AbstractContextManager[None]]


class MeteredVectorIndex:
    """Implements `VectorIndex` around another; `queries` counts dense searches sent.

    A `MeteredSparseVectorIndex` when `inner` is a `SparseSearch` (see the module)."""

    def __new__(cls, inner: VectorIndex, *, time_call: CallTimer) -> Self:  # noqa: ARG004
        if cls is MeteredVectorIndex and isinstance(inner, SparseSearch):
            return cast(Self, object.__new__(MeteredSparseVectorIndex))
        return object.__new__(cls)

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


class MeteredSparseVectorIndex(MeteredVectorIndex):
    """A `MeteredVectorIndex` around a `SparseSearch`, which it is too; `sparse_queries`
    counts sparse searches sent."""

    def __init__(self, inner: VectorIndex, *, time_call: CallTimer) -> None:
        if not isinstance(inner, SparseSearch):
            raise TypeError(f"{type(inner).__name__} cannot search sparse vectors")
        super().__init__(inner, time_call=time_call)
        self._sparse: SparseSearch = inner
        self.sparse_queries = 0

    async def query_sparse(
        self,
        namespace: str,
        vector: SparseVector,
        *,
        top_k: int,
        topics: Sequence[Topic] | None = None,
        exclude_documents: Collection[UUID] = (),
    ) -> list[VectorMatch]:
        self.sparse_queries += 1
        with self._time_call("query_sparse"):
            return await self._sparse.query_sparse(
                namespace,
                vector,
                top_k=top_k,
                topics=topics,
                exclude_documents=exclude_documents,
            )

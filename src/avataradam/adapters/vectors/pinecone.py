"""VectorIndex on a Pinecone index, through the `pinecone` SDK's asyncio data plane.

The adapter talks to one index by its host (no control-plane lookup at run time), with
namespace = dealership id and metadata `{document_id, topic}` per vector; a query's
topics and excluded documents become a metadata filter, applied by the service inside
the search (so `top_k` counts only vectors that pass it).

Request limits of the service are respected here rather than left to the SDK: an
upsert request carries at most 1,000 vectors and stays under 2 MB of JSON (measured
as encoded), a delete at most 1,000 ids. Deleting or counting one document uses the
id convention of `vector_id` (`<document_id>:<index>`): ids are listed by the prefix
`<document_id>:`, which serverless indexes support; pod-based indexes, which cannot
list, fall back to a metadata filter. Pinecone is eventually consistent: a count or
query right after a write may not see it yet.

Sparse vectors: not kept, not searched. The adapter is no `SparseSearch` and an upsert
sends only each record's dense values (`VectorRecord.sparse` is dropped): the index it
expects is dense with metric cosine, and Pinecone refuses sparse values on any index
but a dotproduct (or sparse) one. Retrieval over Pinecone therefore fuses no sparse
ranking.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
import msgspec
from pinecone import AsyncIndex
from pinecone.errors.exceptions import (
    ApiError,
    PineconeError,
    PineconeValueError,
)

from avataradam.adapters.vectors.errors import VectorDimensionMismatch, check_dimension
from avataradam.domain.model import Topic
from avataradam.domain.ports.knowledge import (
    VectorIndexUnavailable,
    VectorMatch,
    VectorRecord,
    chunk_index,
    vector_id,
)

MAX_UPSERT_VECTORS = 1000
# The service caps a request at 2 MB; keep a margin for encoder differences.
MAX_UPSERT_BYTES = 2_000_000
MAX_DELETE_IDS = 1000
MAX_TOP_K = 10_000
# Values one `$in`/`$nin` operator may list in a metadata filter.
MAX_FILTER_VALUES = 10_000
_LIST_PAGE = 100
_ENVELOPE_BYTES = 64
# Statuses that describe the service or its configuration, not the request: retrying
# later (or fixing the deployment) helps, so they surface as unavailability.
_UNAVAILABLE_STATUSES = frozenset({401, 403, 404, 408, 429})


class PineconeVectorIndex:
    """Vectors in one Pinecone index (metric: cosine), one namespace per dealership;
    dense only (a record's sparse vector is not sent; see the module).

    `topics=None` or empty means every topic. `close()` releases the HTTP pool.
    """

    def __init__(
        self,
        *,
        host: str,
        api_key: str,
        dimension: int,
        timeout_s: float = 30.0,
    ) -> None:
        if dimension <= 0:
            raise ValueError("dimension must be positive")
        self.dimension = dimension
        self._index = AsyncIndex(host=host, api_key=api_key, timeout=timeout_s)
        self._dimension_checked = False

    async def close(self) -> None:
        await self._index.close()

    async def ensure_dimension(self) -> None:
        """Raises `VectorDimensionMismatch` when the index has another dimension."""
        async with _unavailable_on_failure():
            stats = await self._index.describe_index_stats()
        if stats.dimension is not None and stats.dimension != self.dimension:
            raise VectorDimensionMismatch(
                expected=stats.dimension, actual=self.dimension, where="the Pinecone index"
            )
        self._dimension_checked = True

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        for record in records:
            check_dimension(len(record.values), self.dimension)
        if not records:
            return
        await self._check_dimension_once()
        vectors = [
            {
                "id": record.id,
                "values": list(record.values),
                "metadata": {"document_id": str(record.document_id), "topic": str(record.topic)},
            }
            for record in records
        ]
        for batch in upsert_batches(vectors, namespace):
            async with _unavailable_on_failure():
                await self._index.upsert(vectors=batch, namespace=namespace)

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
        async with _unavailable_on_failure():
            response = await self._index.query(
                top_k=min(top_k, MAX_TOP_K),
                vector=list(vector),
                namespace=namespace,
                filter=query_filter(topics, exclude_documents),
                include_metadata=True,
            )
        return [
            VectorMatch(
                id=match.id,
                score=max(-1.0, min(1.0, float(match.score))),
                document_id=UUID(match.metadata["document_id"]),
                topic=Topic(match.metadata["topic"]),
            )
            for match in response.matches
            # vectors written by anything but this adapter lack its metadata
            if match.metadata and {"document_id", "topic"} <= match.metadata.keys()
        ]

    async def delete_namespace(self, namespace: str) -> None:
        """`deleteAll` of the namespace; an unknown namespace (404) is already empty."""
        try:
            async with _unavailable_on_failure():
                await self._index.delete(delete_all=True, namespace=namespace)
        except VectorIndexUnavailable as exc:
            cause = exc.__cause__
            if not (isinstance(cause, ApiError) and cause.status_code == 404):
                raise

    async def delete_document(
        self, namespace: str, document_id: UUID, *, from_index: int = 0
    ) -> None:
        """Without listing (pod-based) and with `from_index`, the ids to delete are told
        by count: every ingestion run writes indexes 0, 1, 2, … in order, so a
        document's vectors are indexes 0 to its count less one."""
        try:
            async with _unavailable_on_failure():
                ids = [
                    listed
                    async for listed in self._ids_of(namespace, document_id)
                    if chunk_index(listed) >= from_index
                ]
        except _ListingUnsupported:
            if from_index <= 0:
                async with _unavailable_on_failure():
                    await self._index.delete(
                        filter=_document_filter(document_id), namespace=namespace
                    )
                return
            stored = await self.count(namespace, document_id=document_id)
            ids = [vector_id(document_id, index) for index in range(from_index, stored)]
        for start in range(0, len(ids), MAX_DELETE_IDS):
            async with _unavailable_on_failure():
                await self._index.delete(
                    ids=ids[start : start + MAX_DELETE_IDS], namespace=namespace
                )

    async def count(self, namespace: str, *, document_id: UUID | None = None) -> int:
        if document_id is None:
            async with _unavailable_on_failure():
                stats = await self._index.describe_index_stats()
            summary = stats.namespaces.get(namespace)
            return 0 if summary is None else int(summary.vector_count)
        try:
            async with _unavailable_on_failure():
                return sum([1 async for _ in self._ids_of(namespace, document_id)])
        except _ListingUnsupported:
            async with _unavailable_on_failure():
                stats = await self._index.describe_index_stats(filter=_document_filter(document_id))
            summary = stats.namespaces.get(namespace)
            return 0 if summary is None else int(summary.vector_count)

    async def _ids_of(self, namespace: str, document_id: UUID) -> AsyncIterator[str]:
        try:
            async for page in self._index.list(
                prefix=f"{document_id}:", namespace=namespace, limit=_LIST_PAGE
            ):
                for item in page.vectors:
                    if item.id is not None:
                        yield item.id
        except ApiError as exc:
            if exc.status_code == 400:
                raise _ListingUnsupported from exc
            raise

    async def _check_dimension_once(self) -> None:
        if not self._dimension_checked:
            await self.ensure_dimension()


class _ListingUnsupported(Exception):
    """The index cannot list ids by prefix (pod-based); use metadata filters instead."""


def query_filter(
    topics: Sequence[Topic] | None, exclude_documents: Collection[UUID]
) -> dict[str, Any] | None:
    """The metadata filter of a query: topics wanted, documents excluded.

    An exclusion longer than one operator may list is split into several `$nin`
    clauses joined by `$and`; no clause at all is no filter.
    """
    clauses: list[dict[str, Any]] = []
    if topics:
        clauses.append({"topic": {"$in": [str(topic) for topic in topics]}})
    excluded = sorted(str(document_id) for document_id in exclude_documents)
    clauses.extend(
        {"document_id": {"$nin": excluded[start : start + MAX_FILTER_VALUES]}}
        for start in range(0, len(excluded), MAX_FILTER_VALUES)
    )
    if len(clauses) > 1:
        return {"$and": clauses}
    return clauses[0] if clauses else None


def _document_filter(document_id: UUID) -> dict[str, Any]:
    return {"document_id": {"$eq": str(document_id)}}


def upsert_batches(
    vectors: Sequence[dict[str, Any]], namespace: str
) -> Iterator[list[dict[str, Any]]]:
    """Splits vectors into requests of ≤1,000 vectors and ≤2 MB of encoded JSON each."""
    envelope = _ENVELOPE_BYTES + len(namespace.encode())
    batch: list[dict[str, Any]] = []
    batch_bytes = envelope
    for vector in vectors:
        vector_bytes = len(msgspec.json.encode(vector)) + 1
        if batch and (
            len(batch) == MAX_UPSERT_VECTORS or batch_bytes + vector_bytes > MAX_UPSERT_BYTES
        ):
            yield batch
            batch, batch_bytes = [], envelope
        batch.append(vector)
        batch_bytes += vector_bytes
    if batch:
        yield batch


@asynccontextmanager
async def _unavailable_on_failure() -> AsyncIterator[None]:
    """Turns the SDK's errors into the port's: only request bugs stay programming errors."""
    try:
        yield
    except _ListingUnsupported:
        raise
    except ApiError as exc:
        if exc.status_code >= 500 or exc.status_code in _UNAVAILABLE_STATUSES:
            raise VectorIndexUnavailable(f"Pinecone failed: {exc}") from exc
        raise RuntimeError(f"Pinecone rejected the request: {exc}") from exc
    except PineconeValueError as exc:
        raise RuntimeError(f"invalid Pinecone request: {exc}") from exc
    except (PineconeError, httpx.HTTPError, OSError) as exc:
        raise VectorIndexUnavailable(f"Pinecone is unreachable: {exc}") from exc

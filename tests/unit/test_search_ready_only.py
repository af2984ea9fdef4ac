"""Search never starves: vectors of documents that are not ready (being written,
failed, deleting) or left without a chunk never take the places of ready passages.

The property over every state and every `VectorIndex` adapter is in
tests/contract/test_vector_index.py; these are the named cases and their cost.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from uuid import UUID

from avataradam.adapters.memory.identity import InMemoryGenerationReader
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex
from avataradam.adapters.system import SystemClock
from avataradam.domain.model import DocumentStatus, Topic
from avataradam.domain.ports.knowledge import VectorMatch
from avataradam.domain.retrieval import MAX_FETCH, KnowledgeBaseRetriever, SearchResult
from avataradam.domain.usecases.search import SearchKnowledgeBase
from tests.support.knowledge import PlannedDocument, ProbeEmbedder, plant

DIMENSION = 4
PROBE = [1.0, 0.0, 0.0, 0.0]


def near(closeness: float) -> list[float]:
    """A vector whose cosine similarity to PROBE is `closeness` (in [0, 1])."""
    return [closeness, math.sqrt(1 - closeness * closeness), 0.0, 0.0]


class RecordingVectorIndex(InMemoryVectorIndex):
    """Implements `VectorIndex`; `queries` records each query's `top_k` and exclusions."""

    def __init__(self) -> None:
        super().__init__(DIMENSION)
        self.queries: list[tuple[int, frozenset[UUID]]] = []

    async def query(
        self,
        namespace: str,
        vector: Sequence[float],
        *,
        top_k: int,
        topics: Sequence[Topic] | None = None,
        exclude_documents: Collection[UUID] = (),
    ) -> list[VectorMatch]:
        self.queries.append((top_k, frozenset(exclude_documents)))
        return await super().query(
            namespace, vector, top_k=top_k, topics=topics, exclude_documents=exclude_documents
        )


Queries = list[tuple[int, frozenset[UUID]]]


async def search(documents: list[PlannedDocument], top_k: int) -> tuple[SearchResult, Queries]:
    """Runs one uncached search over the documents; answers it and the index's queries."""
    store = InMemoryStore()
    uow = InMemoryUnitOfWorkFactory(store)
    index = RecordingVectorIndex()
    dealership_id, _ = await plant(uow, index, documents)
    use_case = SearchKnowledgeBase(
        InMemoryGenerationReader(store),
        KnowledgeBaseRetriever(uow, ProbeEmbedder(PROBE), index),
        InMemoryTelemetry(),
        SystemClock(),
    )
    result = await use_case.retrieve(
        dealership_id=dealership_id, generation=1, normalised="q", topics=None, top_k=top_k
    )
    return result, index.queries


def ready(*closeness: float) -> PlannedDocument:
    return PlannedDocument(
        status=DocumentStatus.READY, topic=Topic.BOOKS, vectors=[near(c) for c in closeness]
    )


async def test_a_deleting_document_with_the_best_matches_leaves_the_ready_ones_served() -> None:
    deleting = PlannedDocument(
        status=DocumentStatus.DELETING, topic=Topic.BOOKS, vectors=[near(0.99)] * 5
    )

    result, recorded = await search([deleting, ready(0.6, 0.5, 0.4)], top_k=2)

    assert [hit.score for hit in result.hits] == [0.6, 0.5]
    assert len({hit.document_id for hit in result.hits}) == 1
    assert len(recorded) == 2, "one query, then one that excludes the deleting document"
    assert len(recorded[1][1]) == 1


async def test_a_document_between_its_vectors_and_ready_takes_no_place_either() -> None:
    for status in (DocumentStatus.PROCESSING, DocumentStatus.FAILED, DocumentStatus.QUEUED):
        indexed = PlannedDocument(status=status, topic=Topic.BOOKS, vectors=[near(0.9)] * 3)

        result, _ = await search([indexed, ready(0.7, 0.3)], top_k=2)

        assert [hit.score for hit in result.hits] == [0.7, 0.3], status


async def test_a_search_with_nothing_unservable_in_the_way_costs_one_vector_query() -> None:
    behind = PlannedDocument(status=DocumentStatus.DELETING, topic=Topic.BOOKS, vectors=[near(0.1)])

    result, recorded = await search([ready(0.9, 0.8, 0.7), behind], top_k=2)

    assert [hit.score for hit in result.hits] == [0.9, 0.8]
    assert recorded == [(2, frozenset())]


async def test_vectors_left_without_a_chunk_are_fetched_past() -> None:
    leftovers = PlannedDocument(
        status=DocumentStatus.READY,
        topic=Topic.BOOKS,
        vectors=[near(0.5)] + [near(0.95)] * 30,
        chunked=1,
    )
    purged = PlannedDocument(status=None, topic=Topic.BOOKS, vectors=[near(0.97)] * 10)

    result, recorded = await search([leftovers, purged, ready(0.2)], top_k=2)

    assert [hit.score for hit in result.hits] == [0.5, 0.2]
    assert all(top_k <= MAX_FETCH for top_k, _ in recorded)


async def test_fetching_past_unservable_vectors_stops_at_the_bound() -> None:
    purged = PlannedDocument(status=None, topic=Topic.BOOKS, vectors=[near(0.9)] * (MAX_FETCH + 5))

    result, recorded = await search([purged, ready(0.1)], top_k=3)

    assert result.hits == []
    assert max(top_k for top_k, _ in recorded) == MAX_FETCH
    assert len(recorded) <= 2 + math.ceil(math.log(MAX_FETCH / 3, 4))

"""Retrieval results kept in the process: no shared-cache round trip for a hot question,
never a result of another knowledge-base generation."""

from __future__ import annotations

import time
import uuid

import pytest

from avataradam.adapters.caching.local import LocalResults
from avataradam.adapters.caching.retrieval import knowledge_base_retriever
from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.memory.cache import InMemoryCache
from avataradam.adapters.memory.identity import InMemoryGenerationReader
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex
from avataradam.adapters.system import SystemClock
from avataradam.domain.model import Topic
from avataradam.domain.retrieval import SearchHit, SearchResult
from avataradam.domain.usecases.search import SearchKnowledgeBase
from tests.support.world import cache_options


class CountingCache(InMemoryCache):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def get(self, key: str) -> bytes | None:
        self.reads += 1
        return await super().get(key)


def _search(cache: CountingCache, **options: int) -> tuple[SearchKnowledgeBase, InMemoryTelemetry]:
    store = InMemoryStore()
    telemetry = InMemoryTelemetry()
    retriever = knowledge_base_retriever(
        InMemoryUnitOfWorkFactory(store),
        HashingEmbedder(dimension=64),
        InMemoryVectorIndex(64),
        cache=cache,
        telemetry=telemetry,
        clock=SystemClock(),
        options=cache_options(**options),
    )
    search = SearchKnowledgeBase(
        InMemoryGenerationReader(store), retriever, telemetry, SystemClock()
    )
    return search, telemetry


async def _retrieve(search: SearchKnowledgeBase, dealership: uuid.UUID, generation: int) -> str:
    result: SearchResult = await search.retrieve(
        dealership_id=dealership,
        generation=generation,
        normalised="what is gap insurance",
        topics=None,
        top_k=5,
    )
    return result.cache


async def test_a_repeated_question_is_answered_without_a_shared_cache_round_trip() -> None:
    cache = CountingCache()
    search, telemetry = _search(cache)
    dealership = uuid.uuid4()

    assert await _retrieve(search, dealership, 1) == "miss"
    reads_after_miss = cache.reads
    assert await _retrieve(search, dealership, 1) == "hit"
    assert await _retrieve(search, dealership, 1) == "hit"

    assert cache.reads == reads_after_miss
    assert telemetry.cache_results.count(("retrieval", "hit")) == 2


async def test_a_new_generation_or_another_dealership_is_never_served_from_the_process() -> None:
    cache = CountingCache()
    search, _ = _search(cache)
    dealership = uuid.uuid4()
    await _retrieve(search, dealership, 1)

    assert await _retrieve(search, dealership, 2) == "miss"
    assert await _retrieve(search, uuid.uuid4(), 1) == "miss"


async def test_with_no_local_entries_every_hit_reads_the_shared_cache() -> None:
    cache = CountingCache()
    search, _ = _search(cache, local_entries=0)
    dealership = uuid.uuid4()
    await _retrieve(search, dealership, 1)
    reads_after_miss = cache.reads

    assert await _retrieve(search, dealership, 1) == "hit"
    assert cache.reads == reads_after_miss + 1


def _hits(n: int) -> list[SearchHit]:
    return [
        SearchHit(
            chunk_id=f"c{n}",
            document_id=uuid.UUID(int=n),
            filename="f.pdf",
            topic=Topic.BOOKS,
            text="t",
            score=1.0,
        )
    ]


def test_local_results_keep_the_most_recently_used_within_the_bound() -> None:
    local = LocalResults(max_entries=2, ttl_s=60, clock=SystemClock())
    local.put("a", _hits(1))
    local.put("b", _hits(2))
    assert local.get("a") == _hits(1)
    local.put("c", _hits(3))

    assert local.get("b") is None
    assert local.get("a") == _hits(1)
    assert local.get("c") == _hits(3)
    assert len(local) == 2


def test_local_results_expire_with_the_shared_cache_ttl() -> None:
    local = LocalResults(max_entries=4, ttl_s=0.05, clock=SystemClock())
    local.put("a", _hits(1))
    assert local.get("a") is not None

    time.sleep(0.06)

    assert local.get("a") is None
    assert len(local) == 0


@pytest.mark.parametrize("max_entries", [0, -1])
def test_a_bound_below_one_keeps_nothing(max_entries: int) -> None:
    local = LocalResults(max_entries=max_entries, ttl_s=60, clock=SystemClock())
    local.put("a", _hits(1))
    assert local.get("a") is None

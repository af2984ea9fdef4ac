"""Single flight across instances, for both shared caches (retrieval and answers): a
request that wins the lock just after the holder stored its value and let go serves that
value instead of computing it a second time."""

from __future__ import annotations

import uuid
from typing import TypedDict

import msgspec
import pytest

from avataradam.adapters.caching.answers import SharedAnswerCache
from avataradam.adapters.caching.retrieval import knowledge_base_retriever
from avataradam.adapters.caching.single_flight import single_flight
from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.memory.cache import InMemoryCache
from avataradam.adapters.memory.identity import InMemoryGenerationReader
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex
from avataradam.adapters.system import SystemClock
from avataradam.domain.answers import CachedAnswer
from avataradam.domain.model import Topic
from avataradam.domain.ports.system import Clock
from avataradam.domain.retrieval import SearchHit, retrieval_key
from avataradam.domain.usecases.search import SearchKnowledgeBase
from tests.support.world import answer_cache_options, cache_options


class PeerFinishesBeforeOurLock(InMemoryCache):
    """The other instance stores `value` under `key` and releases its lock between this
    request's read of the key and its attempt at the lock."""

    def __init__(self, key: str, value: bytes) -> None:
        super().__init__()
        self._key, self._value = key, value

    async def set_if_absent(self, key: str, value: bytes, *, ttl_s: float) -> bool:
        await self.set(self._key, self._value, ttl_s=60)
        return await super().set_if_absent(key, value, ttl_s=ttl_s)


ANSWER = CachedAnswer(content="GAP pays the gap [1].", sources=(), grounded=True, supported_share=1)


async def test_the_answer_cache_serves_a_peer_answer_stored_just_before_its_lock() -> None:
    cache = PeerFinishesBeforeOurLock("k", msgspec.msgpack.encode(ANSWER))
    answers = SharedAnswerCache(cache, InMemoryTelemetry(), SystemClock(), answer_cache_options())

    async def generate() -> CachedAnswer:
        raise AssertionError("the peer's answer was there: no model call")

    answer, outcome = await answers.answer("k", generate)

    assert (answer, outcome) == (ANSWER, "hit")
    assert await cache.get("k:lock") is None, "the lock taken by mistake is released"


async def test_the_retrieval_cache_serves_a_peer_result_stored_just_before_its_lock() -> None:
    hits = [
        SearchHit(
            chunk_id="c:0",
            document_id=uuid.uuid4(),
            filename="f",
            topic=Topic.COMPLIANCE,
            text="t",
            score=1,
        )
    ]
    dealership = uuid.uuid4()
    embedder = HashingEmbedder(dimension=8)
    key = retrieval_key(
        dealership_id=dealership,
        generation=1,
        normalised="is gap required",
        topics=None,
        top_k=5,
        model=f"{embedder.model_name}@0",  # the vectors' maker @ their generation
    )
    cache = PeerFinishesBeforeOurLock(key, msgspec.msgpack.encode(hits))
    store = InMemoryStore()
    telemetry = InMemoryTelemetry()
    retriever = knowledge_base_retriever(
        InMemoryUnitOfWorkFactory(store),
        embedder,
        InMemoryVectorIndex(8),
        cache=cache,
        telemetry=telemetry,
        clock=SystemClock(),
        options=cache_options(local_entries=0),
    )
    search = SearchKnowledgeBase(
        InMemoryGenerationReader(store), retriever, telemetry, SystemClock()
    )

    result = await search.retrieve(
        dealership_id=dealership,
        generation=1,
        normalised="is gap required",
        topics=None,
        top_k=5,
    )

    assert (result.hits, result.cache) == (hits, "hit"), "no second query"
    assert await cache.get(f"{key}:lock") is None


class Flight(TypedDict):
    clock: Clock
    ttl_s: int
    lock_ttl_s: float
    wait_for_peer_s: float
    poll_interval_s: float


FLIGHT: Flight = {
    "clock": SystemClock(),
    "ttl_s": 60,
    "lock_ttl_s": 30.0,
    "wait_for_peer_s": 30.0,
    "poll_interval_s": 0.01,
}


async def test_an_unreachable_cache_computes_once_and_says_bypass() -> None:
    cache = InMemoryCache()
    cache.available = False
    calls: list[int] = []

    async def compute() -> bytes:
        calls.append(1)
        return b"value"

    value, outcome = await single_flight(cache, "k", compute, encode=bytes, decode=bytes, **FLIGHT)

    assert (value, outcome, len(calls)) == (b"value", "bypass", 1)


async def test_a_holder_that_fails_lets_go_of_the_lock_at_once() -> None:
    cache = InMemoryCache()

    async def broken() -> bytes:
        raise ConnectionError("model unreachable")

    with pytest.raises(ConnectionError):
        await single_flight(cache, "k", broken, encode=bytes, decode=bytes, **FLIGHT)

    assert await cache.get("k:lock") is None, "a waiter takes over now, not at expiry"

"""Contract of the caching decorators (adapters/caching), run over every `Cache` adapter:
Redis and the in-memory twin. Each decorator instance stands for one API instance; the
cache is what they share."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence

import msgspec
import pytest

from avataradam.adapters.caching.answers import SharedAnswerCache
from avataradam.adapters.caching.embeddings import CachingEmbedder
from avataradam.adapters.caching.retrieval import CachingRetriever
from avataradam.adapters.embeddings.metered import MeteredEmbedder
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.system import SystemClock
from avataradam.domain.answers import CachedAnswer
from avataradam.domain.model import Topic
from avataradam.domain.ports.services import Cache
from avataradam.domain.retrieval import RetrievalRequest, SearchHit, SearchResult
from tests.support.world import answer_cache_options, cache_options

HITS = [
    SearchHit(
        chunk_id="c:0",
        document_id=uuid.UUID(int=7),
        filename="gap.pdf",
        topic=Topic.PRODUCT_KNOWLEDGE,
        text="GAP pays the loan gap.",
        score=0.9,
        page=2,
        section="GAP",
    )
]
ANSWER = CachedAnswer(content="GAP pays the gap [1].", sources=(), grounded=True, supported_share=1)


class CountingRetriever:
    """The uncached retrieval: counts computations, optionally slow or failing."""

    def __init__(self, *, delay_s: float = 0.0, fail: bool = False) -> None:
        self.calls, self._delay_s, self._fail = 0, delay_s, fail

    async def retrieve(self, request: RetrievalRequest) -> SearchResult:  # noqa: ARG002 -- port
        self.calls += 1
        await asyncio.sleep(self._delay_s)
        if self._fail:
            raise ConnectionError("vector index down")
        return SearchResult(hits=HITS, cache="bypass")


class CountingEmbedder:
    model_name = "counting"
    dimension = 2

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return [[float(len(text)), 1.0] for text in texts]


class AsymmetricEmbedder(CountingEmbedder):
    """Queries and passages embedded differently, as e5's `query: ` / `passage: `."""

    async def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(f"query: {text}" for text in texts)
        return [[float(len(text)), -1.0] for text in texts]


class CountingCache:
    """Forwards every call to a `Cache`, counting them."""

    def __init__(self, inner: Cache) -> None:
        self.inner, self.calls = inner, 0

    def __getattr__(self, name: str) -> object:
        self.calls += 1
        return getattr(self.inner, name)


def request() -> RetrievalRequest:
    """A request of a dealership of its own, so no two tests share a key."""
    return RetrievalRequest(
        dealership_id=uuid.uuid4(), generation=1, normalised="what is gap", topics=None, top_k=4
    )


def instance(
    inner: CountingRetriever, cache: Cache, telemetry: InMemoryTelemetry | None = None
) -> CachingRetriever:
    """One API instance's retriever: no in-process copy, so the shared cache answers."""
    return CachingRetriever(
        inner,
        cache,
        telemetry or InMemoryTelemetry(),
        SystemClock(),
        model="m",
        options=cache_options(local_entries=0, poll_interval_s=0.005),
    )


async def test_a_retrieval_is_computed_once_then_served_to_every_instance(cache: Cache) -> None:
    inner, asked = CountingRetriever(), request()
    telemetry = InMemoryTelemetry()

    first = await instance(inner, cache, telemetry).retrieve(asked)
    second = await instance(inner, cache, telemetry).retrieve(asked)

    assert (first.hits, first.cache) == (HITS, "miss")
    assert (second.hits, second.cache) == (HITS, "hit"), "decoded as stored"
    assert inner.calls == 1
    assert telemetry.cache_results == [("retrieval", "miss"), ("retrieval", "hit")]


async def test_another_generation_or_shape_is_another_key(cache: Cache) -> None:
    inner, asked = CountingRetriever(), request()
    retriever = instance(inner, cache)
    await retriever.retrieve(asked)

    for changed in (
        msgspec.structs.replace(asked, generation=2),
        msgspec.structs.replace(asked, top_k=5),
        msgspec.structs.replace(asked, topics=(Topic.COMPLIANCE,)),
    ):
        assert (await retriever.retrieve(changed)).cache == "miss"
    assert inner.calls == 4


async def test_the_process_copy_serves_an_equal_request_and_no_other(cache: Cache) -> None:
    """The in-process LRU is looked up by the request itself: an equal request is a hit
    that touches neither the shared cache nor the computation; a request differing in
    any part of its key misses it."""
    inner, asked = CountingRetriever(), request()
    shared = CountingCache(cache)
    retriever = CachingRetriever(
        inner,
        shared,  # type: ignore[arg-type]  # a counting proxy of the port
        InMemoryTelemetry(),
        SystemClock(),
        model="m",
        options=cache_options(local_entries=8, poll_interval_s=0.005),
    )
    assert (await retriever.retrieve(asked)).cache == "miss"
    shared_calls = shared.calls

    again = await retriever.retrieve(msgspec.structs.replace(asked))

    assert (again.hits, again.cache, inner.calls) == (HITS, "hit", 1)
    assert shared.calls == shared_calls, "served from the process, not the shared cache"
    for changed in (
        msgspec.structs.replace(asked, generation=2),
        msgspec.structs.replace(asked, top_k=5),
        msgspec.structs.replace(asked, topics=(Topic.COMPLIANCE,)),
        msgspec.structs.replace(asked, normalised="what is vsc"),
        msgspec.structs.replace(asked, dealership_id=uuid.uuid4()),
    ):
        assert (await retriever.retrieve(changed)).cache == "miss"
    assert inner.calls == 6


async def test_concurrent_instances_missing_one_key_compute_it_once(cache: Cache) -> None:
    inner, asked = CountingRetriever(delay_s=0.2), request()

    results = await asyncio.gather(*(instance(inner, cache).retrieve(asked) for _ in range(8)))

    assert inner.calls == 1
    assert sorted(r.cache for r in results) == ["hit"] * 7 + ["miss"]
    assert all(r.hits == HITS for r in results)


async def test_a_failing_computation_raises_and_leaves_no_lock(cache: Cache) -> None:
    asked = request()

    with pytest.raises(ConnectionError):
        await instance(CountingRetriever(fail=True), cache).retrieve(asked)

    inner = CountingRetriever()
    assert (await instance(inner, cache).retrieve(asked)).cache == "miss", "no wait for a lock"
    assert inner.calls == 1


async def test_an_unreachable_cache_costs_only_the_computation(unreachable_cache: Cache) -> None:
    inner, telemetry = CountingRetriever(), InMemoryTelemetry()

    result = await instance(inner, unreachable_cache, telemetry).retrieve(request())

    assert (result.hits, result.cache, inner.calls) == (HITS, "bypass", 1)
    assert telemetry.cache_results == [("retrieval", "bypass")]
    assert [name for name, _ in telemetry.events] == ["cache_unavailable"]


async def test_a_query_embedding_is_computed_once_then_shared(cache: Cache) -> None:
    inner, telemetry = CountingEmbedder(), InMemoryTelemetry()
    text = f"what is gap {uuid.uuid4()}"

    first = await CachingEmbedder(inner, cache, telemetry, ttl_s=60).embed_queries([text])
    second = await CachingEmbedder(inner, cache, telemetry, ttl_s=60).embed_queries([text])

    assert first == second == [[float(len(text)), 1.0]]
    assert inner.texts == [text]
    assert telemetry.cache_results == [("embedding", "miss"), ("embedding", "hit")]


async def test_queries_use_the_query_convention_and_passages_are_never_cached(
    cache: Cache,
) -> None:
    inner, telemetry = AsymmetricEmbedder(), InMemoryTelemetry()
    caching = CachingEmbedder(inner, cache, telemetry, ttl_s=60)
    metered = MeteredEmbedder(caching, time_call=lambda _operation: contextlib.nullcontext())
    text = f"what is gap {uuid.uuid4()}"

    queries = [await metered.embed_queries([text]) for _ in range(2)]
    passages = [await metered.embed([text]) for _ in range(2)]

    assert queries == [[[float(len(text)), -1.0]]] * 2
    assert passages == [[[float(len(text)), 1.0]]] * 2
    assert inner.texts == [f"query: {text}", text, text]
    assert telemetry.cache_results == [("embedding", "miss"), ("embedding", "hit")]
    assert metered.calls == 4


async def test_an_unreachable_cache_still_embeds(unreachable_cache: Cache) -> None:
    inner, telemetry = CountingEmbedder(), InMemoryTelemetry()

    vectors = await CachingEmbedder(inner, unreachable_cache, telemetry, ttl_s=60).embed_queries(
        ["q"]
    )

    assert vectors == [[1.0, 1.0]]
    assert telemetry.cache_results == [("embedding", "bypass"), ("embedding", "miss")]


async def test_an_answer_is_generated_once_across_instances(cache: Cache) -> None:
    key, calls = f"test:ans:{uuid.uuid4().hex}", []

    async def generate() -> CachedAnswer:
        calls.append(1)
        await asyncio.sleep(0.2)
        return ANSWER

    answers = [
        SharedAnswerCache(cache, InMemoryTelemetry(), SystemClock(), answer_cache_options())
        for _ in range(5)
    ]
    outcomes = await asyncio.gather(*(a.answer(key, generate) for a in answers))

    assert len(calls) == 1
    assert sorted(outcome for _, outcome in outcomes) == ["hit"] * 4 + ["miss"]
    assert all(answer == ANSWER for answer, _ in outcomes)


async def test_an_answer_that_fails_leaves_no_lock(cache: Cache) -> None:
    key = f"test:ans:{uuid.uuid4().hex}"
    answers = SharedAnswerCache(cache, InMemoryTelemetry(), SystemClock(), answer_cache_options())

    async def broken() -> CachedAnswer:
        raise ConnectionError("model down")

    with pytest.raises(ConnectionError):
        await answers.answer(key, broken)

    assert await cache.get(f"{key}:lock") is None


async def test_an_unreachable_cache_answers_uncached(unreachable_cache: Cache) -> None:
    telemetry = InMemoryTelemetry()
    answers = SharedAnswerCache(unreachable_cache, telemetry, SystemClock(), answer_cache_options())

    async def generate() -> CachedAnswer:
        return ANSWER

    assert await answers.answer("k", generate) == (ANSWER, "bypass")
    assert telemetry.cache_results == [("answer", "bypass")]

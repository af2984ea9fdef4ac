"""Keyword search fused with the vector ranking (`domain.fusion`): the RRF order, the
scores passages keep, and the retriever and its cache keys with fusion on and off.

The retriever cases run on the in-memory twins (`InMemoryKeywordSearch`): PostgreSQL's
full-text search itself is covered by tests/contract/test_keyword_search.py.
"""

from __future__ import annotations

import math
import random
import uuid
from uuid import UUID

import msgspec
import pytest

from avataradam.adapters.caching.retrieval import knowledge_base_retriever
from avataradam.adapters.memory.cache import InMemoryCache
from avataradam.adapters.memory.keywords import InMemoryKeywordSearch
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex
from avataradam.adapters.system import SystemClock
from avataradam.domain import fusion
from avataradam.domain.model import DocumentStatus, Topic
from avataradam.domain.ports.retrieval import Retriever
from avataradam.domain.retrieval import (
    KnowledgeBaseRetriever,
    RetrievalRequest,
    SearchHit,
    retrieval_key,
)
from bench.retrieval.keyword import rrf as bench_rrf
from tests.support.knowledge import PlannedDocument, ProbeEmbedder, plant
from tests.support.world import cache_options

PROBE = [1.0, 0.0, 0.0, 0.0]


def near(closeness: float) -> list[float]:
    """A vector whose cosine similarity to PROBE is `closeness` (in [0, 1])."""
    return [closeness, math.sqrt(1 - closeness * closeness), 0.0, 0.0]


def hit(chunk_id: str, score: float = 0.0) -> SearchHit:
    return SearchHit(
        chunk_id=chunk_id,
        document_id=uuid.UUID(int=0),
        filename="f.txt",
        topic=Topic.BOOKS,
        text=chunk_id,
        score=score,
    )


# ---- rrf ------------------------------------------------------------------------------


def test_rrf_sums_one_over_k_plus_rank_and_breaks_ties_by_the_better_rank() -> None:
    # v1: 1/61; k1: 1/61 (tie: the vector ranking first); both: 1/62 + 1/63 > 1/61.
    assert fusion.rrf([["v1", "both", "v3"], ["k1", "x", "both"]]) == [
        "both",
        "v1",
        "k1",
        "x",
        "v3",
    ]
    with pytest.raises(ValueError, match="k must be positive"):
        fusion.rrf([["a"]], k=0)


def test_rrf_ranks_as_the_bench_measured_it() -> None:
    rng = random.Random(16)  # noqa: S311 (repeatable rankings, no secret)
    for _ in range(200):
        pool = [f"c{i}" for i in range(40)]
        vector = rng.sample(pool, rng.randint(0, 30))
        keyword = rng.sample(pool, rng.randint(0, 30))
        assert fusion.rrf([vector, keyword]) == [i for i, _ in bench_rrf([vector, keyword])]


# ---- fuse ----------------------------------------------------------------------------


class Passages:
    """`fetch` of `fuse`: answers the servable ones of the ids asked, scored 0.0."""

    def __init__(self, servable: set[str]) -> None:
        self.servable, self.asked = servable, []  # type: ignore[var-annotated]

    async def __call__(self, ids: list[str]) -> list[SearchHit]:
        self.asked.append(ids)
        return [hit(i) for i in ids if i in self.servable]


async def test_fused_order_keeps_each_vector_passages_cosine() -> None:
    vector = [hit("a", 0.9), hit("b", 0.8), hit("c", 0.7)]
    passages = Passages({"k"})

    fused = await fusion.fuse(vector, [["c", "k"]], top_k=3, complete=True, fetch=passages)

    # c: 1/63 + 1/61 first; a 1/61, then k 1/62 (tie with b, the keyword rank loses).
    assert [(h.chunk_id, h.score) for h in fused] == [("c", 0.7), ("a", 0.9), ("b", 0.8)]
    assert passages.asked == []  # k never reached the top 3: no fetch


async def test_keyword_only_passages_carry_the_lowest_vector_cosine_or_zero() -> None:
    vector = [hit("a", 0.9), hit("b", 0.4)]

    complete = await fusion.fuse(
        vector, [["k", "gone", "j"]], top_k=4, complete=True, fetch=Passages({"k", "j"})
    )
    short = await fusion.fuse(vector, [["k"]], top_k=4, complete=False, fetch=Passages({"k"}))

    # a 1/61, k 1/61, b 1/62, gone (not servable) skipped, j 1/63.
    assert [(h.chunk_id, h.score) for h in complete] == [
        ("a", 0.9),
        ("k", 0.4),
        ("b", 0.4),
        ("j", 0.4),
    ]
    assert [(h.chunk_id, h.score) for h in short] == [("a", 0.9), ("k", 0.0), ("b", 0.4)]


async def test_a_floor_never_passes_a_keyword_only_passage_the_vectors_rank_below_it() -> None:
    vector = [hit(f"v{i}", round(0.9 - i * 0.01, 6)) for i in range(50)]
    fused = await fusion.fuse(vector, [["k"]], top_k=10, complete=True, fetch=Passages({"k"}))
    [keyword_only] = [h for h in fused if h.chunk_id == "k"]
    assert keyword_only.score == min(h.score for h in vector)


# ---- the retriever -------------------------------------------------------------------


async def _world(
    texts: dict[int, str],
) -> tuple[InMemoryUnitOfWorkFactory, InMemoryVectorIndex, UUID, list[str]]:
    """A dealership with one ready document of 60 passages, passage i's cosine to the
    probe falling with i; `texts` replaces passage texts by index. Answers the chunk ids."""
    store = InMemoryStore()
    uow = InMemoryUnitOfWorkFactory(store)
    index = InMemoryVectorIndex(len(PROBE))
    closeness = [0.95 - i * 0.01 for i in range(60)]
    dealership_id, servable = await plant(
        uow,
        index,
        [PlannedDocument(DocumentStatus.READY, Topic.BOOKS, [near(c) for c in closeness])],
    )
    ids = sorted(servable, key=lambda chunk_id: int(chunk_id.rsplit(":", 1)[1]))
    async with uow() as work:
        chunks = await work.chunks.get_many(ids, dealership_id=dealership_id)
        await work.chunks.put(
            chunks[0].document_id,
            [msgspec.structs.replace(c, text=texts.get(c.index, c.text)) for c in chunks],
        )
        await work.commit()
    return uow, index, dealership_id, ids


def _request(dealership_id: UUID, query: str, top_k: int = 5) -> RetrievalRequest:
    return RetrievalRequest(
        dealership_id=dealership_id, generation=1, normalised=query, topics=None, top_k=top_k
    )


async def test_a_form_number_far_down_the_vector_ranking_is_found_by_its_words() -> None:
    uow, index, dealership_id, ids = await _world({55: "Report cash over $10,000 on Form 8300."})
    plain = KnowledgeBaseRetriever(uow, ProbeEmbedder(PROBE), index)
    fused = KnowledgeBaseRetriever(
        uow, ProbeEmbedder(PROBE), index, InMemoryKeywordSearch(uow.store)
    )

    without = await plain.retrieve(_request(dealership_id, "form 8300"))
    found = await fused.retrieve(_request(dealership_id, "form 8300"))

    assert [h.chunk_id for h in without.hits] == ids[:5]
    # Keyword rank 1 ties the vector rank 1 (1/61): right behind it.
    assert [h.chunk_id for h in found.hits] == [ids[0], ids[55], ids[1], ids[2], ids[3]]
    assert found.hits[1].score == pytest.approx(0.95 - 49 * 0.01)  # the 50th cosine
    assert [h.score for h in found.hits if h.chunk_id != ids[55]] == [
        h.score for h in without.hits[:4]
    ]
    assert (plain.ranking, fused.ranking) == ("vector", fusion.NAME)


async def test_a_passage_both_rankings_hold_moves_up() -> None:
    uow, index, dealership_id, ids = await _world({3: "GAP pays the balance after a total loss."})
    fused = KnowledgeBaseRetriever(
        uow, ProbeEmbedder(PROBE), index, InMemoryKeywordSearch(uow.store)
    )

    result = await fused.retrieve(_request(dealership_id, "gap total loss", top_k=3))

    assert [h.chunk_id for h in result.hits] == [ids[3], ids[0], ids[1]]
    assert result.hits[0].score == pytest.approx(0.95 - 3 * 0.01)


async def test_fused_and_plain_results_never_share_a_cache_key() -> None:
    uow, index, dealership_id, ids = await _world({55: "Form 8300."})
    cache = InMemoryCache()

    def retriever(fused: bool) -> Retriever:
        return knowledge_base_retriever(
            uow,
            ProbeEmbedder(PROBE),
            index,
            cache=cache,
            telemetry=InMemoryTelemetry(),
            clock=SystemClock(),
            options=cache_options(local_entries=0),
            keywords=InMemoryKeywordSearch(uow.store) if fused else None,
        )

    plain = await retriever(fused=False).retrieve(_request(dealership_id, "form 8300"))
    fused = await retriever(fused=True).retrieve(_request(dealership_id, "form 8300"))

    assert (plain.cache, fused.cache) == ("miss", "miss")
    assert ids[55] in [h.chunk_id for h in fused.hits]
    assert ids[55] not in [h.chunk_id for h in plain.hits]

    def key(ranking: str) -> str:
        return retrieval_key(
            dealership_id=dealership_id,
            generation=1,
            normalised="q",
            topics=None,
            top_k=5,
            model="m",
            ranking=ranking,
        )

    assert key("vector") != key(fusion.NAME)

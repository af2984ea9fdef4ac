"""Sparse vectors written with each passage where the embedder makes them, and fused
into retrieval (`domain.fusion`, `KnowledgeBaseRetriever` with `sparse=True`): the
sparse ranking moves a passage the dense one buried, only where the embedder makes
sparse vectors (`EmbedsSparse`) and the index searches them (`SparseSearch`), never
serves an unservable passage, and is named in cache keys.

In-memory twins; the PostgreSQL index's sparse search is covered by
tests/contract/test_vector_index.py, the e5 model's sparse head by
tests/unit/test_e5_embedder.py.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from uuid import UUID

import pytest

from avataradam.adapters.memory.keywords import InMemoryKeywordSearch
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex
from avataradam.adapters.vectors.metered import MeteredVectorIndex
from avataradam.domain import fusion
from avataradam.domain.embedding_text import AS_IS
from avataradam.domain.model import DocumentStatus, Topic
from avataradam.domain.ports.knowledge import (
    ChunkDraft,
    SparseVector,
    VectorRecord,
    sparse_vector,
    vector_id,
)
from avataradam.domain.retrieval import KnowledgeBaseRetriever, RetrievalRequest
from avataradam.domain.usecases.vector_targets import VectorTarget, embed_for, records
from tests.support.knowledge import PlannedDocument, ProbeEmbedder, plant

PROBE = [1.0, 0.0, 0.0, 0.0]
QUERY_TERMS = sparse_vector([7, 42], [1.0, 2.0])


def near(closeness: float) -> list[float]:
    return [closeness, math.sqrt(1 - closeness * closeness), 0.0, 0.0]


class SparseProbeEmbedder(ProbeEmbedder):
    """`ProbeEmbedder` that also makes sparse vectors: `QUERY_TERMS` for every text."""

    async def embed_sparse(self, texts: Sequence[str]) -> list[SparseVector]:
        return [QUERY_TERMS for _ in texts]


async def _world(
    sparse: dict[int, SparseVector],
) -> tuple[InMemoryUnitOfWorkFactory, InMemoryVectorIndex, UUID, list[str]]:
    """One ready document of 60 passages, passage i's cosine to the probe falling with
    i; `sparse` gives passages their sparse vectors by index."""
    store = InMemoryStore()
    uow = InMemoryUnitOfWorkFactory(store)
    index = InMemoryVectorIndex(len(PROBE))
    dealership_id, servable = await plant(
        uow,
        index,
        [
            PlannedDocument(
                DocumentStatus.READY, Topic.BOOKS, [near(0.95 - i * 0.01) for i in range(60)]
            ),
        ],
    )
    ids = sorted(servable, key=lambda chunk_id: int(chunk_id.rsplit(":", 1)[1]))
    document_id = UUID(ids[0].rsplit(":", 1)[0])
    records = [
        VectorRecord(
            id=ids[i],
            values=near(0.95 - i * 0.01),
            document_id=document_id,
            topic=Topic.BOOKS,
            sparse=terms,
        )
        for i, terms in sparse.items()
    ]
    await index.upsert(str(dealership_id), records)
    return uow, index, dealership_id, ids


def _request(dealership_id: UUID, top_k: int = 5) -> RetrievalRequest:
    return RetrievalRequest(
        dealership_id=dealership_id, generation=1, normalised="gap", topics=None, top_k=top_k
    )


async def test_a_passage_the_sparse_terms_rank_first_moves_up() -> None:
    uow, index, dealership_id, ids = await _world(
        {
            40: sparse_vector([42], [3.0]),
            30: sparse_vector([7], [1.0]),
            2: sparse_vector([9], [5.0]),
        }
    )
    plain = KnowledgeBaseRetriever(uow, SparseProbeEmbedder(PROBE), index)
    fused = KnowledgeBaseRetriever(uow, SparseProbeEmbedder(PROBE), index, sparse=True)

    without = await plain.retrieve(_request(dealership_id))
    found = await fused.retrieve(_request(dealership_id))

    assert [h.chunk_id for h in without.hits] == ids[:5]
    # Sparse ranking: 40 (dot 6), 30 (dot 1); passage 2 shares no term and is absent.
    # RRF: 0 gets 1/61, 40 1/61 + 1/101 ... 40 is first among the sparse matches.
    # Sparse ranking: 40 (dot 6), then 30 (dot 1); 2 shares no query term. RRF over
    # the dense top 50 and it: 30 = 1/91 + 1/62, 40 = 1/101 + 1/61, then 0 = 1/61 ...
    assert [h.chunk_id for h in found.hits] == [ids[30], ids[40], ids[0], ids[1], ids[2]]
    assert found.hits[0].score == pytest.approx(0.95 - 0.30, abs=1e-5)  # its own cosine
    assert (plain.ranking, fused.ranking) == ("vector", "rrf60+sparse")


async def test_sparse_fusion_goes_with_the_keywords_and_is_named_in_keys() -> None:
    uow, index, _, _ = await _world({40: sparse_vector([42], [3.0])})
    both = KnowledgeBaseRetriever(
        uow, SparseProbeEmbedder(PROBE), index, InMemoryKeywordSearch(uow.store), sparse=True
    )

    assert both.ranking == fusion.name(keywords=True, sparse=True) == f"{fusion.NAME}+sparse"
    assert fusion.NAME.endswith("+es_terms")  # the keywords search the terms in English too
    assert fusion.name(keywords=True, sparse=False) == fusion.NAME
    assert fusion.name(keywords=False, sparse=False) == "vector"


async def test_an_embedder_without_sparse_vectors_ranks_by_the_dense_ones() -> None:
    uow, index, dealership_id, ids = await _world({40: sparse_vector([42], [3.0])})
    fused = KnowledgeBaseRetriever(uow, ProbeEmbedder(PROBE), index, sparse=True)

    result = await fused.retrieve(_request(dealership_id))

    assert [h.chunk_id for h in result.hits] == ids[:5]


async def test_the_sparse_search_is_reached_through_the_metered_index() -> None:
    uow, index, dealership_id, ids = await _world({40: sparse_vector([42], [3.0])})
    metered = MeteredVectorIndex(index, time_call=lambda _: _Null())
    fused = KnowledgeBaseRetriever(uow, SparseProbeEmbedder(PROBE), metered, sparse=True)

    result = await fused.retrieve(_request(dealership_id))

    assert fused.ranking == "rrf60+sparse"
    assert ids[40] in [h.chunk_id for h in result.hits]


async def test_a_sparse_match_without_a_servable_passage_is_never_served() -> None:
    uow, index, dealership_id, ids = await _world({})
    purged = uuid.uuid4()  # a document gone from the store, its vector still indexed
    await index.upsert(
        str(dealership_id),
        [
            VectorRecord(
                id=vector_id(purged, 0),
                values=near(0.1),
                document_id=purged,
                topic=Topic.BOOKS,
                sparse=sparse_vector([42], [9.0]),
            )
        ],
    )
    fused = KnowledgeBaseRetriever(uow, SparseProbeEmbedder(PROBE), index, sparse=True)

    result = await fused.retrieve(_request(dealership_id, top_k=10))

    assert [h.chunk_id for h in result.hits] == ids[:10]


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


# ---- writing: ingestion and re-embedding embed through `embed_for` -------------------


async def test_passages_are_written_with_the_sparse_vectors_of_their_embedder() -> None:
    drafts = [ChunkDraft(text=f"passage {n}") for n in range(5)]
    document_id = uuid.uuid4()
    ids = [vector_id(document_id, n) for n in range(5)]

    def target(embedder: ProbeEmbedder) -> VectorTarget:
        return VectorTarget(
            generation=0, profile="p", namespace="n", embedder=embedder, passage_text=AS_IS
        )

    async def unreported(share: float) -> None:
        del share

    with_sparse, dense_only = await embed_for(
        [target(SparseProbeEmbedder(PROBE)), target(ProbeEmbedder(PROBE))],
        drafts,
        "Title",
        2,
        unreported,
    )

    assert with_sparse.sparse == [QUERY_TERMS] * 5
    assert dense_only.sparse is None
    assert [r.sparse for r in records(document_id, Topic.BOOKS, ids, with_sparse)] == [
        QUERY_TERMS
    ] * 5
    assert [r.sparse for r in records(document_id, Topic.BOOKS, ids, dense_only)] == [None] * 5
    assert [r.id for r in records(document_id, Topic.BOOKS, ids, with_sparse)] == ids

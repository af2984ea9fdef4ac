"""Contract of the VectorIndex port, run against every adapter, and of search over it:
whatever state documents are in, a search answers exactly the top-k chunks of ready ones.

memory: the reference semantics. postgres: a database of its own (migrated like the
session one), because the database records one embedding dimension and this suite
uses a small one that must not clash with other suites' embedders. pinecone: the SDK
against the local emulator of Pinecone's data-plane API, which enforces the service's
request limits, so a batching bug fails here.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Protocol
from uuid import UUID

import asyncpg
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avataradam.adapters.memory.identity import InMemoryGenerationReader
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex, cosine_similarity
from avataradam.adapters.postgres.migrate import apply_migrations
from avataradam.adapters.system import SystemClock
from avataradam.adapters.vectors import VectorDimensionMismatch
from avataradam.adapters.vectors.metered import MeteredSparseVectorIndex, MeteredVectorIndex
from avataradam.adapters.vectors.pinecone import (
    MAX_FILTER_VALUES,
    MAX_UPSERT_VECTORS,
    PineconeVectorIndex,
)
from avataradam.adapters.vectors.postgres import PostgresVectorIndex
from avataradam.domain.model import DocumentStatus, Topic
from avataradam.domain.ports.capabilities import SparseSearch, undecorated
from avataradam.domain.ports.knowledge import (
    SparseVector,
    VectorIndex,
    VectorIndexUnavailable,
    VectorRecord,
    sparse_vector,
    vector_id,
)
from avataradam.domain.retrieval import KnowledgeBaseRetriever
from avataradam.domain.usecases.search import SearchKnowledgeBase
from tests.conftest import ADMIN_DSN, require_service
from tests.emulators.pinecone import (
    MAX_REQUEST_BYTES,
    PineconeEmulator,
    running_pinecone_emulator,
)
from tests.support.knowledge import PlannedDocument, ProbeEmbedder, plant

DIMENSION = 8


def axis(position: int, *, tilt: float = 0.0, dimension: int = DIMENSION) -> list[float]:
    """A unit vector along `position`, tilted towards the next axis by `tilt`."""
    values = [0.0] * dimension
    values[position % dimension] = 1.0
    values[(position + 1) % dimension] = tilt
    return values


def records_of(
    document_id: UUID,
    vectors: list[list[float]],
    topic: Topic = Topic.BOOKS,
) -> list[VectorRecord]:
    return [
        VectorRecord(id=vector_id(document_id, i), values=v, document_id=document_id, topic=topic)
        for i, v in enumerate(vectors)
    ]


def new_namespace() -> str:
    return str(uuid.uuid4())


@pytest.fixture(scope="module")
def vectors_database_url() -> Iterator[str]:
    require_service(ADMIN_DSN, 5432, "PostgreSQL")
    name = f"avataradam_test_vectors_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    apply_migrations(dsn)
    yield dsn
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def postgres_pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool per test: async fixtures cannot be requested lazily by a parametrised one."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture(scope="module")
def pinecone_emulator() -> Iterator[tuple[PineconeEmulator, str]]:
    emulator = PineconeEmulator(dimension=DIMENSION)
    with running_pinecone_emulator(emulator) as host:
        yield emulator, host


@pytest.fixture(params=["memory", "postgres", "pinecone"])
async def index(request: pytest.FixtureRequest) -> AsyncIterator[VectorIndex]:
    if request.param == "memory":
        yield InMemoryVectorIndex(DIMENSION)
    elif request.param == "postgres":
        async with postgres_pool(request.getfixturevalue("vectors_database_url")) as pool:
            yield PostgresVectorIndex(pool, DIMENSION)
    else:
        emulator, host = request.getfixturevalue("pinecone_emulator")
        pinecone = PineconeVectorIndex(host=host, api_key=emulator.api_key, dimension=DIMENSION)
        yield pinecone
        await pinecone.close()


async def test_query_ranks_nearest_vectors_first(index: VectorIndex) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()
    await index.upsert(
        namespace,
        records_of(document_id, [axis(0), axis(0, tilt=0.5), axis(0, tilt=2.0), axis(4)]),
    )

    matches = await index.query(namespace, axis(0, tilt=0.1), top_k=4)

    assert [m.id for m in matches] == [vector_id(document_id, i) for i in (0, 1, 2, 3)]
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)
    assert scores[0] == pytest.approx(cosine_similarity(axis(0), axis(0, tilt=0.1)), abs=1e-6)
    assert scores[3] == pytest.approx(0.0, abs=1e-6)
    assert all(m.document_id == document_id and m.topic is Topic.BOOKS for m in matches)


async def test_opposite_vector_scores_minus_one(index: VectorIndex) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()
    await index.upsert(namespace, records_of(document_id, [[-x for x in axis(2)]]))

    [match] = await index.query(namespace, axis(2), top_k=1)

    assert match.score == pytest.approx(-1.0, abs=1e-6)


async def test_top_k_limits_the_number_of_matches(index: VectorIndex) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()
    await index.upsert(namespace, records_of(document_id, [axis(i) for i in range(6)]))

    matches = await index.query(namespace, axis(1), top_k=2)

    assert len(matches) == 2
    assert matches[0].id == vector_id(document_id, 1)


async def test_reupsert_of_same_ids_creates_no_new_vectors(index: VectorIndex) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()
    await index.upsert(namespace, records_of(document_id, [axis(0), axis(1), axis(2)]))

    await index.upsert(namespace, records_of(document_id, [axis(5), axis(1), axis(2)]))

    assert await index.count(namespace) == 3
    assert await index.count(namespace, document_id=document_id) == 3
    [nearest] = await index.query(namespace, axis(5), top_k=1)
    assert nearest.id == vector_id(document_id, 0)
    assert nearest.score == pytest.approx(1.0, abs=1e-6)


async def test_query_never_returns_another_dealerships_vectors(index: VectorIndex) -> None:
    dealership_a, dealership_b = new_namespace(), new_namespace()
    document_a, document_b = uuid.uuid4(), uuid.uuid4()
    await index.upsert(dealership_a, records_of(document_a, [axis(0), axis(1)]))
    await index.upsert(dealership_b, records_of(document_b, [axis(3)]))

    matches = await index.query(dealership_b, axis(0), top_k=10)

    assert [m.document_id for m in matches] == [document_b]
    assert await index.count(dealership_a) == 2
    assert await index.count(dealership_b) == 1
    assert await index.query(new_namespace(), axis(0), top_k=10) == []


async def test_topic_filter_returns_only_those_topics(index: VectorIndex) -> None:
    namespace = new_namespace()
    books, videos, compliance = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await index.upsert(namespace, records_of(books, [axis(0)], Topic.BOOKS))
    await index.upsert(namespace, records_of(videos, [axis(0, tilt=0.2)], Topic.VIDEOS))
    await index.upsert(namespace, records_of(compliance, [axis(0, tilt=0.4)], Topic.COMPLIANCE))

    filtered = await index.query(
        namespace, axis(0), top_k=10, topics=[Topic.VIDEOS, Topic.COMPLIANCE]
    )
    unfiltered = await index.query(namespace, axis(0), top_k=10, topics=None)
    empty_filter = await index.query(namespace, axis(0), top_k=10, topics=[])

    assert [m.topic for m in filtered] == [Topic.VIDEOS, Topic.COMPLIANCE]
    assert [m.document_id for m in unfiltered] == [books, videos, compliance]
    assert empty_filter == unfiltered


async def test_excluded_documents_never_take_a_place_in_the_top_k(index: VectorIndex) -> None:
    namespace = new_namespace()
    hidden, also_hidden, kept, video = (uuid.uuid4() for _ in range(4))
    await index.upsert(namespace, records_of(hidden, [axis(0), axis(0, tilt=0.1)]))
    await index.upsert(namespace, records_of(also_hidden, [axis(0, tilt=0.2)], Topic.VIDEOS))
    await index.upsert(namespace, records_of(video, [axis(0, tilt=0.3)], Topic.VIDEOS))
    await index.upsert(namespace, records_of(kept, [axis(0, tilt=0.5), axis(3)]))

    matches = await index.query(
        namespace, axis(0), top_k=2, exclude_documents={hidden, also_hidden}
    )
    by_topic = await index.query(
        namespace, axis(0), top_k=5, topics=[Topic.BOOKS], exclude_documents=[hidden]
    )
    nothing_excluded = await index.query(namespace, axis(0), top_k=2, exclude_documents=())

    assert [m.id for m in matches] == [vector_id(video, 0), vector_id(kept, 0)]
    assert [m.id for m in by_topic] == [vector_id(kept, 0), vector_id(kept, 1)]
    assert [m.document_id for m in nothing_excluded] == [hidden, hidden]


async def test_delete_document_removes_only_that_document(index: VectorIndex) -> None:
    namespace, other_namespace = new_namespace(), new_namespace()
    doomed, kept = uuid.uuid4(), uuid.uuid4()
    await index.upsert(namespace, records_of(doomed, [axis(0), axis(1), axis(2)]))
    await index.upsert(namespace, records_of(kept, [axis(0, tilt=0.3), axis(3)]))
    await index.upsert(other_namespace, records_of(doomed, [axis(0)]))

    await index.delete_document(namespace, doomed)

    assert await index.count(namespace, document_id=doomed) == 0
    assert await index.count(namespace, document_id=kept) == 2
    assert await index.count(namespace) == 2
    assert {m.document_id for m in await index.query(namespace, axis(0), top_k=10)} == {kept}
    assert await index.count(other_namespace, document_id=doomed) == 1


async def test_delete_document_from_an_index_keeps_the_passages_before_it(
    index: VectorIndex,
) -> None:
    namespace, trimmed, kept = new_namespace(), uuid.uuid4(), uuid.uuid4()
    await index.upsert(namespace, records_of(trimmed, [axis(i) for i in range(12)]))
    await index.upsert(namespace, records_of(kept, [axis(i) for i in range(12)]))

    await index.delete_document(namespace, trimmed, from_index=3)
    await index.delete_document(namespace, trimmed, from_index=3)  # idempotent

    matches = await index.query(namespace, axis(0), top_k=100)
    assert sorted(m.id for m in matches if m.document_id == trimmed) == [
        vector_id(trimmed, i) for i in range(3)
    ]
    assert await index.count(namespace, document_id=kept) == 12


async def test_deleting_an_unknown_document_is_a_no_op(index: VectorIndex) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()
    await index.upsert(namespace, records_of(document_id, [axis(0)]))

    await index.delete_document(namespace, uuid.uuid4())
    await index.delete_document(new_namespace(), document_id)

    assert await index.count(namespace) == 1


async def test_count_by_document_counts_only_that_documents_vectors(index: VectorIndex) -> None:
    namespace, first, second = new_namespace(), uuid.uuid4(), uuid.uuid4()
    await index.upsert(namespace, records_of(first, [axis(i) for i in range(5)]))
    await index.upsert(namespace, records_of(second, [axis(i) for i in range(2)]))

    assert await index.count(namespace, document_id=first) == 5
    assert await index.count(namespace, document_id=second) == 2
    assert await index.count(namespace, document_id=uuid.uuid4()) == 0
    assert await index.count(namespace) == 7


async def test_batch_upsert_of_2500_records_indexes_every_record(index: VectorIndex) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()
    vectors = [
        [math.sin(i * (k + 1)) + (1.0 if k == i % DIMENSION else 0.0) for k in range(DIMENSION)]
        for i in range(2500)
    ]

    await index.upsert(namespace, records_of(document_id, vectors))

    assert await index.count(namespace) == 2500
    assert await index.count(namespace, document_id=document_id) == 2500
    [nearest] = await index.query(namespace, vectors[1234], top_k=1)
    assert nearest.id == vector_id(document_id, 1234)


async def test_vector_of_the_wrong_dimension_is_rejected(index: VectorIndex) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()

    with pytest.raises(VectorDimensionMismatch):
        await index.upsert(namespace, records_of(document_id, [axis(0), [1.0, 2.0]]))
    with pytest.raises(VectorDimensionMismatch):
        await index.query(namespace, [1.0] * (DIMENSION + 1), top_k=1)

    assert await index.count(namespace) == 0


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    vectors=st.lists(
        st.lists(
            st.floats(min_value=-1, max_value=1, allow_nan=False, width=32),
            min_size=DIMENSION,
            max_size=DIMENSION,
        ).filter(lambda v: sum(x * x for x in v) > 1e-3),
        min_size=1,
        max_size=12,
    ),
    probe=st.lists(
        st.floats(min_value=-1, max_value=1, allow_nan=False, width=32),
        min_size=DIMENSION,
        max_size=DIMENSION,
    ).filter(lambda v: sum(x * x for x in v) > 1e-3),
)
async def test_scores_are_exact_cosine_similarities_in_descending_order(
    index: VectorIndex, vectors: list[list[float]], probe: list[float]
) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()
    await index.upsert(namespace, records_of(document_id, vectors))

    matches = await index.query(namespace, probe, top_k=len(vectors))

    assert len(matches) == len(vectors)
    scores = [m.score for m in matches]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(scores))
    expected = {
        vector_id(document_id, i): cosine_similarity(v, probe) for i, v in enumerate(vectors)
    }
    for match in matches:
        assert match.score == pytest.approx(expected[match.id], abs=1e-5)


# --- sparse vectors (SparseSearch): memory, postgres, and through the metered wrapper --


class SparseVectorIndex(VectorIndex, SparseSearch, Protocol):
    """An index that keeps and searches sparse vectors."""


@pytest.fixture(params=["memory", "postgres", "metered"])
async def sparse_index(request: pytest.FixtureRequest) -> AsyncIterator[SparseVectorIndex]:
    if request.param == "memory":
        yield InMemoryVectorIndex(DIMENSION)
    elif request.param == "postgres":
        async with postgres_pool(request.getfixturevalue("vectors_database_url")) as pool:
            yield PostgresVectorIndex(pool, DIMENSION)
    else:
        metered = MeteredVectorIndex(
            InMemoryVectorIndex(DIMENSION), time_call=lambda _: contextlib.nullcontext()
        )
        assert isinstance(metered, MeteredSparseVectorIndex)
        yield metered


def terms(**weights: float) -> SparseVector:
    """A sparse vector from `t<index>=weight` pairs: `terms(t3=0.5, t9=1.0)`."""
    return sparse_vector((int(k[1:]) for k in weights), weights.values())


def sparse_records_of(
    document_id: UUID,
    vectors: Sequence[SparseVector | None],
    topic: Topic = Topic.BOOKS,
    *,
    start: int = 0,
) -> list[VectorRecord]:
    """Records of `document_id` with these sparse vectors (None: none), all with the
    same dense vector so that only the sparse search tells them apart."""
    return [
        VectorRecord(
            id=vector_id(document_id, start + i),
            values=axis(0),
            document_id=document_id,
            topic=topic,
            sparse=sparse,
        )
        for i, sparse in enumerate(vectors)
    ]


def reference_dot(left: SparseVector, right: SparseVector) -> float:
    """The dot product by definition, over dense expansions of the two vectors."""
    size = max((*left.indices, *right.indices), default=-1) + 1
    dense_left, dense_right = [0.0] * size, [0.0] * size
    for index, value in zip(left.indices, left.values, strict=True):
        dense_left[index] = value
    for index, value in zip(right.indices, right.values, strict=True):
        dense_right[index] = value
    return math.fsum(x * y for x, y in zip(dense_left, dense_right, strict=True))


async def test_sparse_query_ranks_by_dot_product_and_scores_it(
    sparse_index: SparseVectorIndex,
) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()
    probe = terms(t1=0.5, t5=1.0, t16000=8.0)
    stored = [
        terms(t1=1.0, t5=2.0),  # 0.5 + 2.0
        terms(t1=3.0, t5=0.5, t9=4.0),  # 1.5 + 0.5 (t9 not shared)
        terms(t2=1.0, t16000=0.25),  # 2.0: ties with the one before, ranks after it by id
        terms(t5=0.125),
    ]
    await sparse_index.upsert(namespace, sparse_records_of(document_id, stored))

    matches = await sparse_index.query_sparse(namespace, probe, top_k=10)

    expected = sorted(
        ((reference_dot(v, probe), vector_id(document_id, i)) for i, v in enumerate(stored)),
        key=lambda pair: (-pair[0], pair[1]),
    )
    assert [(m.score, m.id) for m in matches] == expected
    assert [m.score for m in matches] == [2.5, 2.0, 2.0, 0.125]
    assert all(m.document_id == document_id and m.topic is Topic.BOOKS for m in matches)
    assert [m.id for m in await sparse_index.query_sparse(namespace, probe, top_k=2)] == [
        vector_id(document_id, 0),
        vector_id(document_id, 1),
    ]


async def test_sparse_query_answers_only_positive_dot_products(
    sparse_index: SparseVectorIndex,
) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()
    stored = [
        terms(t1=1.0),  # positive
        terms(t1=-1.0),  # negative
        terms(t1=1.0, t2=1.0),  # cancels to zero
        terms(t7=5.0),  # nothing shared
        sparse_vector((), ()),  # empty: shares nothing
    ]
    await sparse_index.upsert(namespace, sparse_records_of(document_id, stored))

    matches = await sparse_index.query_sparse(namespace, terms(t1=2.0, t2=-2.0), top_k=10)

    assert [(m.id, m.score) for m in matches] == [(vector_id(document_id, 0), 2.0)]
    assert await sparse_index.query_sparse(namespace, terms(t99=1.0), top_k=10) == []
    assert await sparse_index.query_sparse(namespace, sparse_vector((), ()), top_k=10) == []
    assert await sparse_index.query_sparse(namespace, terms(t1=1.0), top_k=0) == []


async def test_records_without_a_sparse_vector_never_match_a_sparse_query(
    sparse_index: SparseVectorIndex,
) -> None:
    namespace, dense_only, both = new_namespace(), uuid.uuid4(), uuid.uuid4()
    await sparse_index.upsert(namespace, records_of(dense_only, [axis(0), axis(1)]))
    await sparse_index.upsert(namespace, sparse_records_of(both, [terms(t4=1.0)]))

    matches = await sparse_index.query_sparse(namespace, terms(t4=1.0), top_k=10)

    assert [m.document_id for m in matches] == [both]
    assert await sparse_index.count(namespace) == 3
    dense = await sparse_index.query(namespace, axis(0), top_k=10)
    assert {m.document_id for m in dense} == {dense_only, both}


async def test_upsert_without_a_sparse_vector_clears_the_one_stored_before(
    sparse_index: SparseVectorIndex,
) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()
    await sparse_index.upsert(
        namespace, sparse_records_of(document_id, [terms(t1=1.0), terms(t1=2.0)])
    )

    await sparse_index.upsert(namespace, sparse_records_of(document_id, [None, terms(t2=1.0)]))

    assert await sparse_index.query_sparse(namespace, terms(t1=1.0), top_k=10) == []
    [match] = await sparse_index.query_sparse(namespace, terms(t2=1.0), top_k=10)
    assert match.id == vector_id(document_id, 1)
    assert await sparse_index.count(namespace) == 2


async def test_sparse_query_filters_topics_and_documents_inside_the_search(
    sparse_index: SparseVectorIndex,
) -> None:
    namespace = new_namespace()
    hidden, kept, video, compliance = (uuid.uuid4() for _ in range(4))
    await sparse_index.upsert(namespace, sparse_records_of(hidden, [terms(t1=8.0), terms(t1=7.0)]))
    await sparse_index.upsert(namespace, sparse_records_of(video, [terms(t1=6.0)], Topic.VIDEOS))
    await sparse_index.upsert(
        namespace, sparse_records_of(compliance, [terms(t1=5.0)], Topic.COMPLIANCE)
    )
    await sparse_index.upsert(namespace, sparse_records_of(kept, [terms(t1=4.0), terms(t1=3.0)]))
    probe = terms(t1=1.0)

    by_topic = await sparse_index.query_sparse(
        namespace, probe, top_k=2, topics=[Topic.VIDEOS, Topic.COMPLIANCE]
    )
    excluded = await sparse_index.query_sparse(
        namespace, probe, top_k=2, exclude_documents={hidden, video}
    )
    both = await sparse_index.query_sparse(
        namespace, probe, top_k=5, topics=[Topic.BOOKS], exclude_documents=[hidden]
    )
    empty_filter = await sparse_index.query_sparse(namespace, probe, top_k=10, topics=[])
    unfiltered = await sparse_index.query_sparse(namespace, probe, top_k=10, topics=None)

    assert [m.document_id for m in by_topic] == [video, compliance]
    assert [m.id for m in excluded] == [vector_id(compliance, 0), vector_id(kept, 0)]
    assert [m.id for m in both] == [vector_id(kept, 0), vector_id(kept, 1)]
    assert [m.score for m in unfiltered] == [8.0, 7.0, 6.0, 5.0, 4.0, 3.0]
    assert empty_filter == unfiltered


async def test_sparse_query_never_returns_another_namespaces_records(
    sparse_index: SparseVectorIndex,
) -> None:
    dealership_a, dealership_b = new_namespace(), new_namespace()
    document_a, document_b = uuid.uuid4(), uuid.uuid4()
    await sparse_index.upsert(dealership_a, sparse_records_of(document_a, [terms(t1=9.0)]))
    await sparse_index.upsert(dealership_b, sparse_records_of(document_b, [terms(t1=1.0)]))

    matches = await sparse_index.query_sparse(dealership_b, terms(t1=1.0), top_k=10)

    assert [m.document_id for m in matches] == [document_b]
    assert await sparse_index.query_sparse(new_namespace(), terms(t1=1.0), top_k=10) == []


async def test_sparse_ties_rank_by_id(sparse_index: SparseVectorIndex) -> None:
    namespace, first, second = new_namespace(), uuid.uuid4(), uuid.uuid4()
    same = terms(t3=0.5, t11=0.75)
    await sparse_index.upsert(namespace, sparse_records_of(second, [same] * 3))
    await sparse_index.upsert(namespace, sparse_records_of(first, [same] * 3, start=8))

    matches = await sparse_index.query_sparse(namespace, terms(t3=1.0, t11=1.0), top_k=4)

    every_id = sorted(
        [vector_id(second, i) for i in range(3)] + [vector_id(first, i) for i in range(8, 11)]
    )
    assert [m.id for m in matches] == every_id[:4]
    assert {m.score for m in matches} == {1.25}


async def test_deletes_remove_sparse_vectors_too(sparse_index: SparseVectorIndex) -> None:
    namespace, other_namespace = new_namespace(), new_namespace()
    trimmed, doomed, kept = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    probe = terms(t2=1.0)
    await sparse_index.upsert(namespace, sparse_records_of(trimmed, [terms(t2=1.0)] * 5))
    await sparse_index.upsert(namespace, sparse_records_of(doomed, [terms(t2=2.0)] * 2))
    await sparse_index.upsert(namespace, sparse_records_of(kept, [terms(t2=0.5)]))
    await sparse_index.upsert(other_namespace, sparse_records_of(doomed, [terms(t2=1.0)]))

    await sparse_index.delete_document(namespace, doomed)
    await sparse_index.delete_document(namespace, trimmed, from_index=2)

    matches = await sparse_index.query_sparse(namespace, probe, top_k=100)
    assert [m.id for m in matches] == [
        vector_id(trimmed, 0),
        vector_id(trimmed, 1),
        vector_id(kept, 0),
    ]

    await sparse_index.delete_namespace(namespace)

    assert await sparse_index.query_sparse(namespace, probe, top_k=100) == []
    [survivor] = await sparse_index.query_sparse(other_namespace, probe, top_k=100)
    assert survivor.document_id == doomed


@pytest.mark.parametrize(
    "malformed",
    [
        SparseVector(indices=(3, 1), values=(1.0, 1.0)),
        SparseVector(indices=(1, 1), values=(1.0, 1.0)),
        SparseVector(indices=(-1, 2), values=(1.0, 1.0)),
        SparseVector(indices=(1, 2), values=(1.0,)),
        SparseVector(indices=(1, 2), values=(1.0, math.inf)),
        SparseVector(indices=(1, 2), values=(math.nan, 1.0)),
    ],
)
async def test_malformed_sparse_vectors_are_refused_and_nothing_is_written(
    sparse_index: SparseVectorIndex, malformed: SparseVector
) -> None:
    namespace, document_id = new_namespace(), uuid.uuid4()

    with pytest.raises(ValueError, match="sparse vector"):
        await sparse_index.upsert(
            namespace, sparse_records_of(document_id, [terms(t1=1.0), malformed])
        )
    with pytest.raises(ValueError, match="sparse vector"):
        await sparse_index.query_sparse(namespace, malformed, top_k=1)

    assert await sparse_index.count(namespace) == 0


# Weights that are multiples of 1/8 in [-4, 4]: the dot products of a few of them are
# exact in float32 as in float64, so every adapter must answer exactly the reference
# scores, order and ties; dimensions span the e5 latent-terms range (16384).
sparse_weights = st.integers(min_value=-32, max_value=32).filter(bool).map(lambda n: n / 8)
random_sparse = st.dictionaries(
    st.one_of(st.integers(min_value=0, max_value=24), st.integers(0, 16383)),
    sparse_weights,
    max_size=12,
).map(lambda pairs: sparse_vector(pairs.keys(), pairs.values()))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    stored=st.lists(st.one_of(st.none(), random_sparse), min_size=1, max_size=12),
    probe=random_sparse,
    top_k=st.integers(min_value=1, max_value=14),
    topics=st.sampled_from([None, (Topic.BOOKS,), (Topic.VIDEOS,)]),
)
async def test_sparse_query_answers_exactly_the_top_k_positive_dot_products(
    sparse_index: SparseVectorIndex,
    stored: list[SparseVector | None],
    probe: SparseVector,
    top_k: int,
    topics: tuple[Topic, ...] | None,
) -> None:
    namespace, books, videos = new_namespace(), uuid.uuid4(), uuid.uuid4()
    half = len(stored) // 2
    records = [
        *sparse_records_of(books, stored[:half], Topic.BOOKS),
        *sparse_records_of(videos, stored[half:], Topic.VIDEOS, start=half),
    ]
    await sparse_index.upsert(namespace, records)

    matches = await sparse_index.query_sparse(namespace, probe, top_k=top_k, topics=topics)

    expected = sorted(
        (
            (reference_dot(record.sparse, probe), record.id)
            for record in records
            if record.sparse is not None and (topics is None or record.topic in topics)
        ),
        key=lambda pair: (-pair[0], pair[1]),
    )
    assert [(m.score, m.id) for m in matches] == [p for p in expected if p[0] > 0][:top_k]


async def test_metered_index_searches_sparse_vectors_only_where_its_inner_index_does() -> None:
    operations: list[str] = []

    @contextlib.contextmanager
    def timer(operation: str) -> Iterator[None]:
        operations.append(operation)
        yield

    namespace, document_id = new_namespace(), uuid.uuid4()
    inner = InMemoryVectorIndex(DIMENSION)
    metered = MeteredVectorIndex(inner, time_call=timer)
    await metered.upsert(namespace, sparse_records_of(document_id, [terms(t1=1.0)]))

    assert isinstance(metered, MeteredSparseVectorIndex)
    assert isinstance(metered, SparseSearch)
    [match] = await metered.query_sparse(namespace, terms(t1=2.0), top_k=1)
    assert (match.id, match.score) == (vector_id(document_id, 0), 2.0)
    assert operations == ["upsert", "query_sparse"]
    assert (metered.sparse_queries, metered.queries) == (1, 0)
    assert undecorated(metered) is inner

    dense_only = MeteredVectorIndex(DenseOnlyIndex(inner), time_call=timer)
    assert not isinstance(dense_only, SparseSearch)
    assert type(dense_only) is MeteredVectorIndex
    with pytest.raises(TypeError):
        MeteredSparseVectorIndex(DenseOnlyIndex(inner), time_call=timer)


class DenseOnlyIndex:
    """A `VectorIndex` without `SparseSearch`, delegating to another."""

    def __init__(self, inner: VectorIndex) -> None:
        self.dimension = inner.dimension
        self.upsert = inner.upsert
        self.query = inner.query
        self.delete_namespace = inner.delete_namespace
        self.delete_document = inner.delete_document
        self.count = inner.count


async def test_pinecone_is_no_sparse_search_and_upserts_only_dense_values(
    pinecone_emulator: tuple[PineconeEmulator, str],
) -> None:
    emulator, host = pinecone_emulator
    namespace, document_id = new_namespace(), uuid.uuid4()
    pinecone = PineconeVectorIndex(host=host, api_key=emulator.api_key, dimension=DIMENSION)
    records = [
        VectorRecord(
            id=vector_id(document_id, i),
            values=axis(i),
            document_id=document_id,
            topic=Topic.BOOKS,
            sparse=terms(t1=1.0, t9000=0.5),
        )
        for i in range(3)
    ]
    try:
        await pinecone.upsert(namespace, records)  # the cosine emulator refuses sparse values
        [nearest] = await pinecone.query(namespace, axis(1), top_k=1)
    finally:
        await pinecone.close()

    assert not isinstance(pinecone, SparseSearch)
    assert not isinstance(
        MeteredVectorIndex(pinecone, time_call=lambda _: contextlib.nullcontext()), SparseSearch
    )
    assert nearest.id == vector_id(document_id, 1)
    assert {k: v.values for k, v in emulator.namespaces[namespace].items()} == {
        r.id: r.values for r in records
    }


# --- search over the index: only chunks of ready documents, never starved ---------


nonzero_vectors = st.lists(
    st.floats(min_value=-1, max_value=1, allow_nan=False, width=32),
    min_size=DIMENSION,
    max_size=DIMENSION,
).filter(lambda v: sum(x * x for x in v) > 1e-3)
planned_documents = st.builds(
    PlannedDocument,
    status=st.sampled_from([*DocumentStatus, None]),
    topic=st.sampled_from([Topic.BOOKS, Topic.VIDEOS]),
    vectors=st.lists(nonzero_vectors, max_size=4),
    chunked=st.integers(min_value=0, max_value=4),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    documents=st.lists(planned_documents, max_size=8),
    probe=nonzero_vectors,
    top_k=st.integers(min_value=1, max_value=6),
    topics=st.sampled_from([None, (Topic.BOOKS,), (Topic.VIDEOS,)]),
)
async def test_search_answers_exactly_the_top_k_chunks_of_ready_documents(
    index: VectorIndex,
    documents: list[PlannedDocument],
    probe: list[float],
    top_k: int,
    topics: tuple[Topic, ...] | None,
) -> None:
    store = InMemoryStore()
    uow = InMemoryUnitOfWorkFactory(store)
    dealership_id, servable = await plant(uow, index, documents)
    search = SearchKnowledgeBase(
        InMemoryGenerationReader(store),
        KnowledgeBaseRetriever(uow, ProbeEmbedder(probe), index),
        InMemoryTelemetry(),
        SystemClock(),
    )

    result = await search.retrieve(
        dealership_id=dealership_id, generation=1, normalised="q", topics=topics, top_k=top_k
    )

    eligible = {
        chunk_id: cosine_similarity(values, probe)
        for chunk_id, (topic, values) in servable.items()
        if topics is None or topic in topics
    }
    scores = [hit.score for hit in result.hits]
    assert len(result.hits) == min(top_k, len(eligible))
    assert all(hit.chunk_id in eligible for hit in result.hits)
    assert all(hit.score == pytest.approx(eligible[hit.chunk_id], abs=1e-5) for hit in result.hits)
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(scores))
    returned = {hit.chunk_id for hit in result.hits}
    floor = min(scores, default=math.inf)
    assert all(score <= floor + 1e-5 for c, score in eligible.items() if c not in returned)


# --- dimension recorded by a persistent store -------------------------------------


@pytest.mark.parametrize("backend", ["postgres", "pinecone"])
async def test_store_written_with_another_dimension_refuses_a_new_embedder(
    backend: str, request: pytest.FixtureRequest
) -> None:
    async with AsyncExitStack() as stack:
        if backend == "postgres":
            dsn = request.getfixturevalue("vectors_database_url")
            pool = await stack.enter_async_context(postgres_pool(dsn))
            await PostgresVectorIndex(pool, DIMENSION).ensure_dimension()
            other: PostgresVectorIndex | PineconeVectorIndex = PostgresVectorIndex(
                pool, DIMENSION * 2
            )
        else:
            emulator, host = request.getfixturevalue("pinecone_emulator")
            other = PineconeVectorIndex(
                host=host, api_key=emulator.api_key, dimension=DIMENSION * 2
            )
            stack.push_async_callback(other.close)

        with pytest.raises(VectorDimensionMismatch) as raised:
            await other.ensure_dimension()
        with pytest.raises(VectorDimensionMismatch):
            await other.query(new_namespace(), [0.5] * (DIMENSION * 2), top_k=1)

    assert raised.value.expected == DIMENSION
    assert raised.value.actual == DIMENSION * 2


# --- Pinecone specifics, against the emulator -------------------------------------


async def test_pinecone_upserts_wide_vectors_in_requests_under_two_megabytes() -> None:
    dimension = 1536
    emulator = PineconeEmulator(dimension=dimension)
    document_id, namespace = uuid.uuid4(), new_namespace()
    vectors = [
        [math.sin(i + k * 0.001) * 0.123456789 for k in range(dimension)] for i in range(200)
    ]
    with running_pinecone_emulator(emulator) as host:
        pinecone = PineconeVectorIndex(host=host, api_key=emulator.api_key, dimension=dimension)
        try:
            await pinecone.upsert(namespace, records_of(document_id, vectors))
            count = await pinecone.count(namespace, document_id=document_id)
        finally:
            await pinecone.close()

    upserts = [r for r in emulator.requests if r.path == "/vectors/upsert"]
    assert count == 200
    assert len(upserts) > 1
    assert all(r.status == 200 and r.body_bytes <= MAX_REQUEST_BYTES for r in upserts)
    assert sum(r.vector_count for r in upserts) == 200


async def test_pinecone_upserts_at_most_1000_vectors_per_request(
    pinecone_emulator: tuple[PineconeEmulator, str],
) -> None:
    emulator, host = pinecone_emulator
    already_logged = len(emulator.requests)
    pinecone = PineconeVectorIndex(host=host, api_key=emulator.api_key, dimension=DIMENSION)
    document_id = uuid.uuid4()
    try:
        await pinecone.upsert(
            new_namespace(), records_of(document_id, [axis(i) for i in range(2001)])
        )
    finally:
        await pinecone.close()

    upserts = [r for r in emulator.requests[already_logged:] if r.path == "/vectors/upsert"]
    assert [r.vector_count for r in upserts] == [MAX_UPSERT_VECTORS, MAX_UPSERT_VECTORS, 1]
    assert all(r.status == 200 for r in upserts)


async def test_pinecone_index_without_listing_deletes_and_counts_by_metadata() -> None:
    emulator = PineconeEmulator(dimension=DIMENSION, supports_list=False)
    namespace, doomed, kept = new_namespace(), uuid.uuid4(), uuid.uuid4()
    with running_pinecone_emulator(emulator) as host:
        pinecone = PineconeVectorIndex(host=host, api_key=emulator.api_key, dimension=DIMENSION)
        try:
            await pinecone.upsert(namespace, records_of(doomed, [axis(0), axis(1)]))
            await pinecone.upsert(namespace, records_of(kept, [axis(2)]))
            assert await pinecone.count(namespace, document_id=doomed) == 2

            await pinecone.delete_document(namespace, doomed)

            assert await pinecone.count(namespace, document_id=doomed) == 0
            assert await pinecone.count(namespace) == 1
        finally:
            await pinecone.close()


async def test_pinecone_serverless_index_deletes_by_listed_ids_in_batches() -> None:
    emulator = PineconeEmulator(dimension=DIMENSION, supports_delete_by_filter=False)
    namespace, doomed, kept = new_namespace(), uuid.uuid4(), uuid.uuid4()
    with running_pinecone_emulator(emulator) as host:
        pinecone = PineconeVectorIndex(host=host, api_key=emulator.api_key, dimension=DIMENSION)
        try:
            await pinecone.upsert(namespace, records_of(doomed, [axis(i) for i in range(1500)]))
            await pinecone.upsert(namespace, records_of(kept, [axis(0)]))

            await pinecone.delete_document(namespace, doomed)

            assert await pinecone.count(namespace) == 1
        finally:
            await pinecone.close()
    deletes = [r for r in emulator.requests if r.path == "/vectors/delete"]
    assert [r.vector_count for r in deletes] == [1000, 500]


async def test_pinecone_excludes_more_documents_than_one_filter_operator_may_list(
    pinecone_emulator: tuple[PineconeEmulator, str],
) -> None:
    emulator, host = pinecone_emulator
    namespace, hidden, kept = new_namespace(), uuid.uuid4(), uuid.uuid4()
    pinecone = PineconeVectorIndex(host=host, api_key=emulator.api_key, dimension=DIMENSION)
    excluded = {hidden} | {uuid.uuid4() for _ in range(MAX_FILTER_VALUES)}
    try:
        await pinecone.upsert(namespace, records_of(hidden, [axis(0)]))
        await pinecone.upsert(namespace, records_of(kept, [axis(0, tilt=0.5)]))

        matches = await pinecone.query(namespace, axis(0), top_k=1, exclude_documents=excluded)
    finally:
        await pinecone.close()

    assert [m.document_id for m in matches] == [kept]
    assert emulator.requests[-1].status == 200


@pytest.mark.parametrize("status", [429, 503])
async def test_pinecone_overload_or_outage_surfaces_as_vector_index_unavailable(
    status: int,
) -> None:
    emulator = PineconeEmulator(dimension=DIMENSION)
    with running_pinecone_emulator(emulator) as host:
        pinecone = PineconeVectorIndex(host=host, api_key=emulator.api_key, dimension=DIMENSION)
        try:
            emulator.fail_next(10, status)
            with pytest.raises(VectorIndexUnavailable):
                await pinecone.count(new_namespace())
        finally:
            await pinecone.close()


async def test_pinecone_with_a_wrong_api_key_is_unavailable(
    pinecone_emulator: tuple[PineconeEmulator, str],
) -> None:
    _, host = pinecone_emulator
    pinecone = PineconeVectorIndex(host=host, api_key="wrong-key", dimension=DIMENSION)
    try:
        with pytest.raises(VectorIndexUnavailable):
            await pinecone.query(new_namespace(), axis(0), top_k=1)
    finally:
        await pinecone.close()


async def test_unreachable_pinecone_is_unavailable() -> None:
    emulator = PineconeEmulator(dimension=DIMENSION)
    with running_pinecone_emulator(emulator) as host:
        pass  # the server is stopped: its port now refuses connections
    pinecone = PineconeVectorIndex(
        host=host, api_key=emulator.api_key, dimension=DIMENSION, timeout_s=2
    )
    try:
        with pytest.raises(VectorIndexUnavailable):
            await pinecone.count(new_namespace())
    finally:
        await pinecone.close()

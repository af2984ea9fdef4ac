"""Migration 0016 and `avataradam_sparse_dot`, the dot product of two sparse vectors.

The function comes in two implementations with one contract: C, in version 1.1 of the
project's extension (ops/avataradam_vector), and the SQL fallback 0016 creates in a
database without the extension. Both are checked against a Python reference on random
sparse vectors, and for the same errors. The migration is checked on a database whose
extension was created at 1.0 (an install from before it: updated to 1.1, its vectors
kept) and on a fresh one (created at 1.1 through the 1.0--1.1 update path).
"""

from __future__ import annotations

import math
import struct
import uuid
from collections.abc import Iterator

import asyncpg
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avataradam.adapters.postgres.migrate import apply_migrations
from avataradam.adapters.vectors.postgres import PostgresVectorIndex
from avataradam.domain.model import Topic
from avataradam.domain.ports.knowledge import VectorRecord, sparse_vector
from ops.harness.services import FreshDatabase
from tests.conftest import ADMIN_DSN, require_service
from tests.support.migrations import apply_before

MIGRATION = "0016_sparse_vectors"
SIGNATURE = "avataradam_sparse_dot(int4[], float4[], int4[], float4[])"


@pytest.fixture(scope="module", params=["c", "sql"])
def implementation(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A migrated database, and which `avataradam_sparse_dot` it should have. "sql": the
    extension was dropped before 0016 (as if 0003 had found none), so 0016 took its
    fallback path."""
    require_service(ADMIN_DSN, 5432, "PostgreSQL")
    database = FreshDatabase(ADMIN_DSN, prefix="avataradam_test").create(migrate=False)
    try:
        if request.param == "sql":
            apply_before(database.url, MIGRATION)
            with psycopg.connect(database.url, autocommit=True) as conn:
                conn.execute("DROP EXTENSION avataradam_vector CASCADE")
        apply_migrations(database.url)
        yield database.url, request.param
    finally:
        database.drop()


def test_each_database_has_the_implementation_it_should(implementation: tuple[str, str]) -> None:
    url, kind = implementation
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT l.lanname, p.provolatile, p.proisstrict, p.proparallel"
            " FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
            " WHERE p.oid = %s::regprocedure",
            (SIGNATURE,),
        ).fetchone()
    assert row == ({"c": "c", "sql": "plpgsql"}[kind], "i", True, "s")
    assert extension_version(url) == ("1.1" if kind == "c" else None)


def sparse_dot(url: str, *arrays: object) -> float:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT avataradam_sparse_dot(%s::int4[], %s::float4[], %s::int4[], %s::float4[])",
            arrays,
        ).fetchone()
    assert row is not None
    return float(row[0])


def float32(value: float) -> float:
    """`value` rounded to the nearest float4 (as C's cast rounds a double)."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


Sparse = tuple[list[int], list[float]]
"""A sparse vector as the function takes it: indices, values."""


def reference(left: Sparse, right: Sparse) -> tuple[float, float]:
    """The dot product by definition, and the sum of the magnitudes of its products
    (what bounds the rounding of a float32 result)."""
    weights = dict(zip(*left, strict=True))
    products = [weights[i] * v for i, v in zip(*right, strict=True) if i in weights]
    return math.fsum(products), math.fsum(abs(p) for p in products)


float32_weights = st.floats(min_value=-100, max_value=100, allow_nan=False, width=32)
sparse_parts = st.dictionaries(
    st.one_of(st.integers(min_value=0, max_value=40), st.integers(0, 16383)),
    float32_weights,
    max_size=40,
).map(lambda pairs: (sorted(pairs), [pairs[i] for i in sorted(pairs)]))


@settings(max_examples=60, deadline=None)
@given(left=sparse_parts, right=sparse_parts)
def test_sparse_dot_is_the_dot_product(
    implementation: tuple[str, str], left: Sparse, right: Sparse
) -> None:
    url, _ = implementation

    result = sparse_dot(url, *left, *right)

    expected, magnitude = reference(left, right)
    # float32 result of a double sum; below float32's smallest normal it may underflow
    assert abs(result - expected) <= 1e-6 * magnitude + 1.2e-38
    assert sparse_dot(url, *right, *left) == result


def sparse_dots(url: str, pairs: list[tuple[Sparse, Sparse]]) -> list[float]:
    """Each pair's dot product, all in one query (as a search scores its rows)."""
    rows = ", ".join(["(%s, %s::int4[], %s::float4[], %s::int4[], %s::float4[])"] * len(pairs))
    arguments = [x for n, (left, right) in enumerate(pairs) for x in (n, *left, *right)]
    with psycopg.connect(url) as conn:
        scored = conn.execute(
            f"SELECT n, avataradam_sparse_dot(li, lv, ri, rv) FROM (VALUES {rows})"  # noqa: S608
            " AS t (n, li, lv, ri, rv)",
            arguments,
        ).fetchall()
    return [float(dot) for _, dot in sorted(scored)]


@settings(max_examples=40, deadline=None)
@given(
    lefts=st.lists(sparse_parts, min_size=1, max_size=12),
    rights=st.lists(sparse_parts, min_size=1, max_size=3),
    choices=st.lists(st.integers(min_value=0, max_value=2), min_size=12, max_size=12),
)
def test_sparse_dot_in_one_query_equals_it_call_by_call(
    implementation: tuple[str, str],
    lefts: list[Sparse],
    rights: list[Sparse],
    choices: list[int],
) -> None:
    """Within a query the C function keeps a right-hand vector that repeats, expanded
    (a search's query vector): its answers must be those of single calls, exactly."""
    url, _ = implementation
    pairs = [(left, rights[n % len(rights)]) for left, n in zip(lefts, choices, strict=False)]

    together = sparse_dots(url, pairs)

    assert together == [sparse_dot(url, *left, *right) for left, right in pairs]
    assert sparse_dots(url, [(right, left) for left, right in pairs]) == together


def test_a_malformed_vector_fails_the_query_it_is_scored_in(
    implementation: tuple[str, str],
) -> None:
    url, _ = implementation
    query: Sparse = ([1, 5], [1.0, 2.0])
    fine: list[tuple[Sparse, Sparse]] = [(([1, 2], [1.0, 1.0]), query)] * 3
    assert sparse_dots(url, fine) == [1.0, 1.0, 1.0]
    for malformed in (([5, 1], [1.0, 1.0]), ([1, 5], [1.0, math.inf])):
        with pytest.raises(psycopg.errors.DataException, match="sparse vector"):
            sparse_dots(url, [*fine, (malformed, query)])


@pytest.mark.parametrize(
    ("arrays", "expected"),
    [
        (("{1,3,5}", "{1,2,3}", "{3,5,7}", "{10,100,1000}"), 320.0),
        (("{0,16383}", "{0.5,-2}", "{16383}", "{4}"), -8.0),
        (("{1,2}", "{1,1}", "{3,4}", "{1,1}"), 0.0),
        (("{}", "{}", "{1}", "{1}"), 0.0),
        (("{}", "{}", "{}", "{}"), 0.0),
        # below float4's smallest subnormal, past its largest value (migration 0023: the
        # SQL fallback raised "value out of range" where C's cast gives 0 or infinity)
        (("{1}", "{1e-30}", "{1}", "{1e-30}"), 0.0),
        (("{1}", "{-1e-30}", "{1}", "{1e-30}"), -0.0),
        (("{1}", "{1e-20}", "{1}", "{1e-20}"), float32(float32(1e-20) ** 2)),
        (("{1,2}", "{3e38,3e38}", "{1,2}", "{2,2}"), math.inf),
        (("{1,2}", "{3e38,3e38}", "{1,2}", "{-2,-2}"), -math.inf),
        (("{1}", "{3e38}", "{1}", "{1.1}"), float32(float32(3e38) * float32(1.1))),
    ],
)
def test_sparse_dot_of_known_vectors(
    implementation: tuple[str, str], arrays: tuple[str, ...], expected: float
) -> None:
    url, _ = implementation
    result = sparse_dot(url, *arrays)
    assert float32(result) == expected  # read back as float4's shortest text, not its bits
    assert math.copysign(1.0, result) == math.copysign(1.0, expected)


@pytest.mark.parametrize(
    ("arrays", "error"),
    [
        (("{1,2}", "{1}", "{1}", "{1}"), psycopg.errors.DataException),
        (("{1}", "{1}", "{1}", "{1,2}"), psycopg.errors.DataException),
        (("{1,NULL}", "{1,2}", "{1}", "{1}"), psycopg.errors.NullValueNotAllowed),
        (("{1,2}", "{1,NULL}", "{1}", "{1}"), psycopg.errors.NullValueNotAllowed),
        (("{{1,2}}", "{{1,2}}", "{1}", "{1}"), psycopg.errors.ArraySubscriptError),
        (("{1}", "{1}", "{1,2}", "{{1,2}}"), psycopg.errors.ArraySubscriptError),
        (("{2,1}", "{1,1}", "{1}", "{1}"), psycopg.errors.DataException),
        (("{1,1}", "{1,1}", "{1}", "{1}"), psycopg.errors.DataException),
        # out of order where a merge join would never look (past the other's end)
        (("{5,9,7}", "{1,1,1}", "{1}", "{1}"), psycopg.errors.DataException),
        (("{1}", "{1}", "{0,8,3}", "{1,1,1}"), psycopg.errors.DataException),
        (("{1,2}", "{1,Infinity}", "{1}", "{1}"), psycopg.errors.DataException),
        (("{1}", "{1}", "{7,9}", "{NaN,1}"), psycopg.errors.DataException),
        (("{1}", "{1}", "{7,9}", "{1,-Infinity}"), psycopg.errors.DataException),
    ],
)
def test_sparse_dot_refuses_malformed_vectors(
    implementation: tuple[str, str], arrays: tuple[str, ...], error: type[Exception]
) -> None:
    url, _ = implementation
    with pytest.raises(error, match="sparse vector"):
        sparse_dot(url, *arrays)


def test_sparse_dot_of_a_null_argument_is_null(implementation: tuple[str, str]) -> None:
    url, _ = implementation
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT avataradam_sparse_dot(NULL, '{1}', '{1}', '{1}')").fetchone()
    assert row == (None,)


def extension_version(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'avataradam_vector'"
        ).fetchone()
    return None if row is None else str(row[0])


async def test_a_fresh_database_creates_the_extension_at_1_1_and_keeps_rows_whole(
    new_database: str,
) -> None:
    apply_migrations(new_database)

    assert extension_version(new_database) == "1.1"
    assert sparse_dot(new_database, "{1}", "{2}", "{1}", "{3}") == 6.0
    # an e5 record (384 dimensions, ~256 sparse terms: ~3.8 kB) stays in the table, so a
    # search never reads it back from TOAST
    namespace, document_id = str(uuid.uuid4()), uuid.uuid4()
    pool = await asyncpg.create_pool(new_database, min_size=1, max_size=1)
    try:
        index = PostgresVectorIndex(pool, 384)
        await index.upsert(
            namespace,
            [
                VectorRecord(
                    id=f"{document_id}:{n}",
                    values=[math.sin(n + k) for k in range(384)],
                    document_id=document_id,
                    topic=Topic.BOOKS,
                    sparse=sparse_vector(range(n, 16384, 64), [0.5 + k for k in range(256)]),
                )
                for n in range(8)
            ],
        )
        toasted = await pool.fetchval(
            "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'chunk_vectors'"
        )
        [match, *_] = await index.query_sparse(
            namespace, sparse_vector([7, 71], [1.0, 1.0]), top_k=3
        )
    finally:
        await pool.close()
    assert toasted == 0
    assert (match.id, match.score) == (f"{document_id}:7", 0.5 + 1.5)


async def test_a_database_with_the_extension_at_1_0_is_updated_and_keeps_its_vectors(
    new_database: str,
) -> None:
    with psycopg.connect(new_database, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION avataradam_vector VERSION '1.0'")
    apply_before(new_database, MIGRATION)
    assert extension_version(new_database) == "1.0"
    namespace, old, new = str(uuid.uuid4()), uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(new_database, autocommit=True) as conn:
        conn.execute("INSERT INTO vector_index_settings (dimension) VALUES (2)")
        conn.execute(
            "INSERT INTO chunk_vectors (namespace, id, document_id, topic, embedding)"
            " VALUES (%s, %s, %s, 'books', '{1,0}')",
            (namespace, f"{old}:0", old),
        )

    applied = apply_migrations(new_database)
    assert applied[0] == MIGRATION  # then any later ones

    assert extension_version(new_database) == "1.1"
    with psycopg.connect(new_database, autocommit=True) as conn:
        row = conn.execute("SELECT sparse_indices, sparse_values FROM chunk_vectors").fetchone()
        assert row == (None, None)
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE chunk_vectors SET sparse_indices = '{1,2}', sparse_values = '{1}'")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE chunk_vectors SET sparse_indices = '{1}'")
    pool = await asyncpg.create_pool(new_database, min_size=1, max_size=1)
    try:
        index = PostgresVectorIndex(pool, 2)
        probe = sparse_vector([7, 3], [1.0, 1.0])
        assert await index.query_sparse(namespace, probe, top_k=5) == []
        await index.upsert(
            namespace,
            [
                VectorRecord(
                    id=f"{new}:0",
                    values=[0.0, 1.0],
                    document_id=new,
                    topic=Topic.BOOKS,
                    sparse=sparse_vector([3, 7], [0.5, 0.25]),
                )
            ],
        )
        [match] = await index.query_sparse(namespace, probe, top_k=5)
        assert (match.id, match.score) == (f"{new}:0", 0.75)
        dense = await index.query(namespace, [1.0, 0.0], top_k=5)
        assert [m.id for m in dense] == [f"{old}:0", f"{new}:0"]
    finally:
        await pool.close()

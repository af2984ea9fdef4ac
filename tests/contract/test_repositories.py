"""Contract of the persistence ports, run against every adapter.

The PostgreSQL database is shared by the whole session, so every test makes its own
dealership and ids (uuid4) and never assumes a table is empty.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID, uuid4

import msgspec
import pytest

from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain.errors import ConcurrentUpdate, Conflict, EmailTaken, NotFound
from avataradam.domain.model import (
    Chunk,
    Conversation,
    ConversationMode,
    Dealership,
    DeliveryStatus,
    Document,
    DocumentError,
    DocumentStatus,
    FeedbackRating,
    IngestDocumentTask,
    Message,
    MessageFeedback,
    MessageRole,
    OutboxEntry,
    OutboxMessage,
    RefreshToken,
    Role,
    Source,
    Stage,
    Topic,
    UsageBudgetThreshold,
    User,
    WebhookDelivery,
    WebhookSubscription,
)
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory

MIB = 1024 * 1024
T = TypeVar("T")
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
async def postgres_database(database_url: str) -> AsyncIterator[PostgresDatabase]:
    database = PostgresDatabase(
        database_url, min_size=1, max_size=10, command_timeout_s=30, statement_cache_size=100
    )
    await database.start()
    yield database
    await database.close()


@pytest.fixture(params=["memory", "postgres", "pgbouncer"])
def uow(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "memory":
        return InMemoryUnitOfWorkFactory(InMemoryStore())
    # pgbouncer: the same database through transaction pooling (tests/contract/conftest.py)
    database: PostgresDatabase = request.getfixturevalue(f"{request.param}_database")
    return PostgresUnitOfWorkFactory(database)


def is_postgres(uow: UnitOfWorkFactory) -> bool:
    return isinstance(uow, PostgresUnitOfWorkFactory)


# ---- builders -------------------------------------------------------------------


def dealership(created_at: datetime = NOW) -> Dealership:
    return Dealership(
        id=uuid4(),
        name="Northside Motors",
        active=True,
        knowledge_base_generation=0,
        created_at=created_at,
        updated_at=created_at,
    )


def user(dealership_id: UUID, *, email: str | None = None, created_at: datetime = NOW) -> User:
    return User(
        id=uuid4(),
        email=email or f"{uuid4().hex}@example.com",
        password_hash="argon2$hash",
        role=Role.USER,
        dealership_id=dealership_id,
        first_name="Dana",
        last_name=None,
        active=True,
        created_at=created_at,
        updated_at=created_at,
    )


def document(
    dealership_id: UUID,
    *,
    topic: Topic = Topic.PLAYBOOKS,
    sha256: str | None = None,
    status: DocumentStatus = DocumentStatus.QUEUED,
    created_at: datetime = NOW,
) -> Document:
    return Document(
        id=uuid4(),
        dealership_id=dealership_id,
        topic=topic,
        filename="gap-objections.pdf",
        content_type="application/pdf",
        size_bytes=1234,
        sha256=sha256 or hashlib.sha256(uuid4().bytes).hexdigest(),
        status=status,
        stage=None,
        progress=0.0,
        chunk_count=0,
        attempts=0,
        error=None,
        created_at=created_at,
        updated_at=created_at,
    )


def chunk(doc: Document, index: int, text: str = "Ask about the payment, not the price.") -> Chunk:
    return Chunk(
        id=f"{doc.id}:{index}",
        document_id=doc.id,
        dealership_id=doc.dealership_id,
        index=index,
        text=text,
        topic=doc.topic,
        filename=doc.filename,
        page=index + 1,
        section="Objections" if index % 2 else None,
    )


async def seed(uow: UnitOfWorkFactory) -> tuple[Dealership, User]:
    d = dealership()
    u = user(d.id)
    async with uow() as work:
        await work.dealerships.add(d)
        await work.users.add(u)
        await work.commit()
    return d, u


async def parts(data: bytes, sizes: Sequence[int]) -> AsyncIterator[bytes]:
    offset = 0
    for size in sizes:
        if offset >= len(data):
            break
        yield data[offset : offset + size]
        offset += size
    if offset < len(data):
        yield data[offset:]


async def collect_pages(
    fetch: Callable[[Cursor | None, int], Awaitable[list[T]]],
    limit: int,
    key: Callable[[T], Cursor],
) -> list[T]:
    """Walks every page the way the HTTP layer does: ask limit+1, cursor on the last kept."""
    seen: list[T] = []
    cursor: Cursor | None = None
    while True:
        rows = await fetch(cursor, limit + 1)
        assert len(rows) <= limit + 1
        seen.extend(rows[:limit])
        if len(rows) <= limit:
            return seen
        cursor = key(rows[limit - 1])


# ---- unit of work ------------------------------------------------------------------


async def test_leaving_without_commit_discards_every_write(uow: UnitOfWorkFactory) -> None:
    d = dealership()
    async with uow() as work:
        await work.dealerships.add(d)
        assert await work.dealerships.get(d.id) == d, "a unit of work reads its own writes"
    async with uow(read_only=True) as work:
        assert await work.dealerships.get(d.id) is None


async def test_an_exception_inside_the_unit_of_work_rolls_back(uow: UnitOfWorkFactory) -> None:
    d = dealership()

    async def add_then_fail() -> None:
        async with uow() as work:
            await work.dealerships.add(d)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await add_then_fail()
    async with uow() as work:
        assert await work.dealerships.get(d.id) is None


async def test_work_after_a_commit_is_rolled_back_unless_committed_again(
    uow: UnitOfWorkFactory,
) -> None:
    first, second = dealership(), dealership()
    async with uow() as work:
        await work.dealerships.add(first)
        await work.commit()
        await work.dealerships.add(second)
    async with uow() as work:
        assert await work.dealerships.get(first.id) == first
        assert await work.dealerships.get(second.id) is None


async def test_uncommitted_writes_are_invisible_to_a_concurrent_unit_of_work(
    uow: UnitOfWorkFactory,
) -> None:
    d = dealership()
    async with uow() as writer:
        await writer.dealerships.add(d)
        async with uow(read_only=True) as reader:
            assert await reader.dealerships.get(d.id) is None
        await writer.commit()
    async with uow(read_only=True) as reader:
        assert await reader.dealerships.get(d.id) == d


async def test_read_only_unit_of_work_rejects_writes_and_row_locks(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow(read_only=True) as work:
        with pytest.raises(RuntimeError, match="read-only"):
            await work.dealerships.add(dealership())
    async with uow(read_only=True) as work:
        with pytest.raises(RuntimeError, match="read-only"):
            await work.outbox.claim_due(1, NOW)
    async with uow(read_only=True) as work:
        with pytest.raises(RuntimeError, match="read-only"):
            await work.documents.get_for_update(uuid4())


# ---- dealerships --------------------------------------------------------------------


async def test_dealership_round_trips_and_updates_keep_the_generation(
    uow: UnitOfWorkFactory,
) -> None:
    d = dealership()
    async with uow() as work:
        assert await work.dealerships.get(d.id) is None
        await work.dealerships.add(d)
        await work.dealerships.bump_generation(d.id)
        renamed = msgspec.structs.replace(
            d, name="Southside", active=False, knowledge_base_generation=99
        )
        await work.dealerships.update(renamed)
        await work.commit()
    async with uow() as work:
        stored = await work.dealerships.get(d.id)
    assert stored == msgspec.structs.replace(renamed, knowledge_base_generation=1)


async def test_adding_a_dealership_twice_conflicts(uow: UnitOfWorkFactory) -> None:
    d = dealership()
    async with uow() as work:
        await work.dealerships.add(d)
        with pytest.raises(Conflict):
            await work.dealerships.add(d)


async def test_updating_or_bumping_a_missing_dealership_is_not_found(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow() as work:
        with pytest.raises(NotFound):
            await work.dealerships.update(dealership())
    async with uow() as work:
        with pytest.raises(NotFound):
            await work.dealerships.bump_generation(uuid4())


async def test_concurrent_generation_bumps_all_count(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)

    async def bump() -> int:
        async with uow() as work:
            generation = await work.dealerships.bump_generation(d.id)
            await asyncio.sleep(0)
            await work.commit()
            return generation

    returned = await asyncio.gather(*(bump() for _ in range(20)))
    async with uow(read_only=True) as work:
        stored = await work.dealerships.get(d.id)
    assert stored is not None
    assert stored.knowledge_base_generation == 20
    if is_postgres(uow):
        assert sorted(returned) == list(range(1, 21)), "each bump saw its own new value"


async def test_dealership_pages_cover_every_dealership_once(uow: UnitOfWorkFactory) -> None:
    base = datetime(2400, 1, 1, tzinfo=UTC) + timedelta(seconds=secrets.randbelow(10**9))
    mine = [dealership(base + timedelta(seconds=i // 3)) for i in range(8)]
    async with uow() as work:
        for d in mine:
            await work.dealerships.add(d)
        await work.commit()
        start = Cursor(created_at=base - timedelta(microseconds=1), id=UUID(int=0))

        async def fetch(cursor: Cursor | None, limit: int) -> list[Dealership]:
            return await work.dealerships.list_page(cursor=cursor or start, limit=limit)

        seen = await collect_pages(fetch, 3, lambda d: Cursor(created_at=d.created_at, id=d.id))
    ours = [d.id for d in seen if d.id in {m.id for m in mine}]
    assert ours == [d.id for d in sorted(mine, key=lambda d: (d.created_at, d.id))]


# ---- users -------------------------------------------------------------------------


async def test_user_round_trips_and_is_found_by_email_in_any_case(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    u = user(d.id, email=f"Mixed.{uuid4().hex}@Example.com")
    async with uow() as work:
        await work.users.add(u)
        await work.commit()
    async with uow() as work:
        assert await work.users.get(u.id) == u
        assert await work.users.get_by_email(u.email.upper()) == u
        assert await work.users.get_by_email("nobody@example.com") is None
        assert await work.users.get(uuid4()) is None


async def test_emails_are_unique_case_insensitively(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    email = f"{uuid4().hex}@example.com"
    async with uow() as work:
        await work.users.add(user(d.id, email=email))
        await work.commit()
    async with uow() as work:
        with pytest.raises(EmailTaken) as raised:
            await work.users.add(user(d.id, email=email.upper()))
    assert raised.value.details == {"field": "email"}, "no constraint or table name"


async def test_user_update_persists_and_missing_user_is_not_found(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    changed = msgspec.structs.replace(u, first_name="Robin", active=False, role=Role.USER)
    async with uow() as work:
        await work.users.update(changed)
        with pytest.raises(NotFound):
            await work.users.update(user(d.id))
    async with uow() as work:
        await work.users.update(changed)
        await work.commit()
    async with uow() as work:
        assert await work.users.get(u.id) == changed


async def test_users_list_by_dealership_over_several_pages(uow: UnitOfWorkFactory) -> None:
    d, first = await seed(uow)
    others = [user(d.id, created_at=NOW + timedelta(seconds=i % 2)) for i in range(6)]
    async with uow() as work:
        for u in others:
            await work.users.add(u)
        await work.commit()

        async def fetch(cursor: Cursor | None, limit: int) -> list[User]:
            return await work.users.list_page(dealership_id=d.id, cursor=cursor, limit=limit)

        seen = await collect_pages(fetch, 2, lambda u: Cursor(created_at=u.created_at, id=u.id))
        everyone = await work.users.list_page(dealership_id=None, cursor=None, limit=10**6)
    expected = sorted([first, *others], key=lambda u: (u.created_at, u.id))
    assert seen == expected
    assert {u.id for u in expected} <= {u.id for u in everyone}


# ---- refresh tokens -----------------------------------------------------------------


def token(user_id: UUID, family_id: UUID) -> RefreshToken:
    return RefreshToken(
        token_hash=hashlib.sha256(uuid4().bytes).hexdigest(),
        family_id=family_id,
        user_id=user_id,
        expires_at=NOW + timedelta(days=30),
        created_at=NOW,
    )


async def test_refresh_token_rotates_exactly_once(uow: UnitOfWorkFactory) -> None:
    _, u = await seed(uow)
    t = token(u.id, uuid4())
    async with uow() as work:
        await work.refresh_tokens.add(t)
        await work.commit()
    async with uow() as work:
        assert await work.refresh_tokens.get(t.token_hash) == t
        assert await work.refresh_tokens.mark_rotated(t.token_hash, NOW) is True
        assert await work.refresh_tokens.mark_rotated(t.token_hash, NOW) is False
        await work.commit()
    async with uow() as work:
        assert await work.refresh_tokens.mark_rotated(t.token_hash, NOW) is False
        stored = await work.refresh_tokens.get(t.token_hash)
        assert await work.refresh_tokens.mark_rotated("unknown", NOW) is False
    assert stored is not None
    assert stored.rotated_at == NOW


async def test_of_two_concurrent_rotations_exactly_one_commits(uow: UnitOfWorkFactory) -> None:
    _, u = await seed(uow)
    t = token(u.id, uuid4())
    async with uow() as work:
        await work.refresh_tokens.add(t)
        await work.commit()

    async def rotate(pause_s: float) -> bool:
        try:
            async with uow() as work:
                rotated = await work.refresh_tokens.mark_rotated(t.token_hash, NOW)
                await asyncio.sleep(pause_s)
                await work.commit()
        except Conflict:
            return False
        return rotated

    outcomes = await asyncio.gather(rotate(0.05), rotate(0))
    assert sorted(outcomes) == [False, True]


async def test_revoking_a_family_revokes_only_that_family(uow: UnitOfWorkFactory) -> None:
    _, u = await seed(uow)
    family = uuid4()
    ours = [token(u.id, family) for _ in range(3)]
    other = token(u.id, uuid4())
    single = token(u.id, uuid4())
    later = NOW + timedelta(hours=1)
    async with uow() as work:
        for t in [*ours, other, single]:
            await work.refresh_tokens.add(t)
        await work.refresh_tokens.revoke(single.token_hash, NOW)
        await work.refresh_tokens.revoke(single.token_hash, later)
        await work.refresh_tokens.revoke_family(family, NOW)
        await work.commit()
    async with uow() as work:
        revoked = [await work.refresh_tokens.get(t.token_hash) for t in ours]
        untouched = await work.refresh_tokens.get(other.token_hash)
        first_revocation = await work.refresh_tokens.get(single.token_hash)
    assert all(t is not None and t.revoked_at == NOW for t in revoked)
    assert untouched is not None
    assert untouched.revoked_at is None
    assert first_revocation is not None
    assert first_revocation.revoked_at == NOW, "revoking again keeps the first time"


async def test_adding_a_token_twice_conflicts(uow: UnitOfWorkFactory) -> None:
    _, u = await seed(uow)
    t = token(u.id, uuid4())
    async with uow() as work:
        await work.refresh_tokens.add(t)
        with pytest.raises(Conflict):
            await work.refresh_tokens.add(t)


# ---- documents ----------------------------------------------------------------------


async def test_document_round_trips_and_is_scoped_to_its_dealership(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    doc = msgspec.structs.replace(
        document(d.id),
        status=DocumentStatus.FAILED,
        stage=Stage.EMBEDDING,
        progress=0.5,
        attempts=2,
        error=DocumentError(code="extraction_failed", message="encrypted PDF"),
    )
    async with uow() as work:
        await work.documents.add(doc)
        await work.commit()
    async with uow() as work:
        assert await work.documents.get(doc.id, dealership_id=d.id) == doc
        assert await work.documents.get(doc.id, dealership_id=None) == doc
        assert await work.documents.get(doc.id, dealership_id=other.id) is None
        assert await work.documents.get_for_update(doc.id) == doc
        assert await work.documents.get_for_update(uuid4()) is None


async def test_same_file_twice_in_a_topic_answers_the_first_but_not_across_topics(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    digest = hashlib.sha256(uuid4().bytes).hexdigest()
    first = document(d.id, sha256=digest)
    async with uow() as work:
        assert await work.documents.add(first) is None
        assert (
            await work.documents.add(document(d.id, sha256=digest, topic=Topic.COMPLIANCE)) is None
        )
        assert await work.documents.add(document(other.id, sha256=digest)) is None
        await work.commit()
    duplicate = document(d.id, sha256=digest)
    async with uow() as work:
        assert await work.documents.add(duplicate) == first
        assert await work.documents.get(duplicate.id, dealership_id=None) is None
    async with uow() as work:
        found = await work.documents.find_by_sha256(
            dealership_id=d.id, topic=Topic.PLAYBOOKS, sha256=digest
        )
        assert found == first
        deleting = msgspec.structs.replace(first, status=DocumentStatus.DELETING)
        await work.documents.update(deleting)
        assert (
            await work.documents.find_by_sha256(
                dealership_id=d.id, topic=Topic.PLAYBOOKS, sha256=digest
            )
            is None
        )
        again = document(d.id, sha256=digest)
        await work.documents.add(again)
        await work.commit()
    async with uow() as work:
        assert await work.documents.get(again.id, dealership_id=d.id) == again


async def test_of_two_racing_adds_of_one_file_exactly_one_is_stored(
    uow: UnitOfWorkFactory,
) -> None:
    """PostgreSQL makes the second add wait and answer the first's document; the
    in-memory twin lets it proceed and fails its commit instead."""
    d, _ = await seed(uow)
    digest = hashlib.sha256(uuid4().bytes).hexdigest()
    first, second = document(d.id, sha256=digest), document(d.id, sha256=digest)
    first_committed = asyncio.Event()

    async def add_second() -> Document | None:
        async with uow() as work:
            found = await work.documents.add(second)
            if found is None:
                await first_committed.wait()
                await work.commit()
            return found

    async with uow() as work:
        assert await work.documents.add(first) is None
        racer = asyncio.create_task(add_second())
        await asyncio.sleep(0.1)
        await work.commit()
        first_committed.set()
    try:
        assert await racer == first
    except ConcurrentUpdate:
        assert not is_postgres(uow)
    async with uow() as work:
        assert await work.documents.get(second.id, dealership_id=None) is None
        assert await work.documents.get(first.id, dealership_id=None) == first


async def test_document_update_and_progress_persist(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    token = uuid4()
    doc = msgspec.structs.replace(
        document(d.id, status=DocumentStatus.PROCESSING),
        lease_token=token,
        lease_expires_at=NOW + timedelta(seconds=20),
        processing_started_at=NOW,
    )
    later = NOW + timedelta(minutes=5)
    async with uow() as work:
        await work.documents.add(doc)
        assert await work.documents.set_progress(
            doc.id, lease_token=token, stage=Stage.CHUNKING, progress=0.25, updated_at=later
        )
        await work.commit()
    async with uow() as work:
        progressed = await work.documents.get(doc.id, dealership_id=d.id)
        assert progressed == msgspec.structs.replace(
            doc, stage=Stage.CHUNKING, progress=0.25, updated_at=later
        )
        ready = msgspec.structs.replace(
            doc,
            status=DocumentStatus.READY,
            stage=Stage.STORING,
            progress=1.0,
            chunk_count=12,
            attempts=1,
            updated_at=later,
        )
        await work.documents.update(ready)
        await work.commit()
    async with uow() as work:
        assert await work.documents.get(doc.id, dealership_id=d.id) == ready
        with pytest.raises(NotFound):
            await work.documents.update(document(d.id))
        assert not await work.documents.set_progress(
            uuid4(), lease_token=token, stage=Stage.CHUNKING, progress=0.1, updated_at=later
        )
        # A late report of a duplicate run never rewrites a finished document.
        assert not await work.documents.set_progress(
            doc.id, lease_token=token, stage=Stage.EMBEDDING, progress=0.5, updated_at=later
        )
        assert await work.documents.get(doc.id, dealership_id=d.id) == ready


@pytest.mark.parametrize(("count", "limit"), [(0, 3), (1, 1), (7, 3), (9, 3), (25, 10)])
async def test_document_pages_have_no_gaps_or_duplicates(
    uow: UnitOfWorkFactory, count: int, limit: int
) -> None:
    d, _ = await seed(uow)
    # Few distinct timestamps: ties on created_at must be broken by id.
    docs = [
        document(d.id, created_at=NOW + timedelta(seconds=secrets.randbelow(3)))
        for _ in range(count)
    ]
    async with uow() as work:
        for doc in docs:
            await work.documents.add(doc)
        await work.commit()

        async def fetch(cursor: Cursor | None, page_limit: int) -> list[Document]:
            return await work.documents.list_page(
                dealership_id=d.id, topic=None, status=None, cursor=cursor, limit=page_limit
            )

        seen = await collect_pages(fetch, limit, lambda x: Cursor(created_at=x.created_at, id=x.id))
    assert [x.id for x in seen] == [x.id for x in sorted(docs, key=lambda x: (x.created_at, x.id))]


async def test_document_list_filters_by_topic_and_status(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    ready_book = document(d.id, topic=Topic.BOOKS, status=DocumentStatus.READY)
    queued_book = document(d.id, topic=Topic.BOOKS)
    ready_video = document(d.id, topic=Topic.VIDEOS, status=DocumentStatus.READY)
    async with uow() as work:
        for doc in (ready_book, queued_book, ready_video):
            await work.documents.add(doc)
        await work.commit()

        async def ids(topic: Topic | None, status: DocumentStatus | None) -> set[UUID]:
            rows = await work.documents.list_page(
                dealership_id=d.id, topic=topic, status=status, cursor=None, limit=50
            )
            return {r.id for r in rows}

        assert await ids(Topic.BOOKS, None) == {ready_book.id, queued_book.id}
        assert await ids(None, DocumentStatus.READY) == {ready_book.id, ready_video.id}
        assert await ids(Topic.BOOKS, DocumentStatus.READY) == {ready_book.id}


async def test_stale_documents_are_listed_oldest_first(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    base = datetime(1999, 1, 1, tzinfo=UTC) + timedelta(seconds=secrets.randbelow(10**8))
    old = msgspec.structs.replace(document(d.id, status=DocumentStatus.PROCESSING), updated_at=base)
    older = msgspec.structs.replace(document(d.id), updated_at=base - timedelta(hours=1))
    fresh = msgspec.structs.replace(document(d.id), updated_at=base + timedelta(hours=2))
    ready = msgspec.structs.replace(
        document(d.id, status=DocumentStatus.READY), updated_at=base - timedelta(hours=1)
    )
    async with uow() as work:
        for doc in (old, older, fresh, ready):
            await work.documents.add(doc)
        await work.commit()
        stale = await work.documents.list_stale(
            statuses=[DocumentStatus.QUEUED, DocumentStatus.PROCESSING],
            updated_before=base + timedelta(hours=1),
            limit=10**6,
        )
    ours = [s.id for s in stale if s.dealership_id == d.id]
    assert ours == [older.id, old.id]


async def test_deleting_a_document_takes_its_chunks_and_blob(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    doc = document(d.id)
    async with uow() as work:
        await work.blobs.write(doc.id, parts(b"pdf bytes", [4]))
        await work.documents.add(doc)
        await work.chunks.replace(doc.id, [chunk(doc, 0), chunk(doc, 1)])
        await work.commit()
    async with uow() as work:
        await work.documents.delete(doc.id)
        await work.commit()
    async with uow() as work:
        assert await work.documents.get(doc.id, dealership_id=None) is None
        assert await work.chunks.count(doc.id) == 0
        assert [p async for p in work.blobs.read(doc.id)] == []


# ---- chunks -------------------------------------------------------------------------


async def test_replacing_chunks_twice_leaves_one_set(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    doc = document(d.id, status=DocumentStatus.READY)
    chunks = [chunk(doc, i, f"passage {i}") for i in range(5)]
    async with uow() as work:
        await work.documents.add(doc)
        await work.chunks.replace(doc.id, chunks)
        await work.commit()
    async with uow() as work:
        await work.chunks.replace(doc.id, chunks)
        await work.commit()
    async with uow() as work:
        assert await work.chunks.count(doc.id) == 5
        stored = await work.chunks.get_many([c.id for c in chunks], dealership_id=d.id)
        assert stored == chunks
        await work.chunks.replace(doc.id, chunks[:2])
        assert await work.chunks.count(doc.id) == 2


async def test_two_chunks_sharing_an_index_are_a_conflict(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    doc = document(d.id, status=DocumentStatus.READY)
    async with uow() as work:
        await work.documents.add(doc)
        await work.commit()
    twins = [chunk(doc, 0, "first"), msgspec.structs.replace(chunk(doc, 1, "again"), index=0)]
    for write in ("replace", "put"):
        async with uow() as work:
            with pytest.raises(Conflict):
                await getattr(work.chunks, write)(doc.id, twins)


async def test_putting_chunks_overwrites_by_index_and_delete_from_trims_the_rest(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    doc = document(d.id, status=DocumentStatus.READY)
    first = [chunk(doc, i, f"first run {i}") for i in range(6)]
    second = [chunk(doc, i, f"second run {i}") for i in range(4)]
    async with uow() as work:
        await work.documents.add(doc)
        await work.chunks.put(doc.id, first[:3])
        await work.commit()
    async with uow() as work:
        await work.chunks.put(doc.id, first[3:])
        await work.chunks.put(doc.id, second[:2])
        await work.commit()
    async with uow() as work:
        await work.chunks.put(doc.id, second[2:])
        assert await work.chunks.delete_from(doc.id, 4) == 2
        assert await work.chunks.delete_from(doc.id, 4) == 0
        await work.commit()
    async with uow() as work:
        assert await work.chunks.count(doc.id) == 4
        stored = await work.chunks.get_many([c.id for c in first], dealership_id=d.id)
        assert stored == second


async def test_chunks_come_back_in_the_order_asked_and_only_for_their_dealership(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    doc = document(d.id, status=DocumentStatus.READY)
    foreign = document(other.id, status=DocumentStatus.READY)
    async with uow() as work:
        await work.documents.add(doc)
        await work.documents.add(foreign)
        await work.chunks.replace(doc.id, [chunk(doc, i) for i in range(3)])
        await work.chunks.replace(foreign.id, [chunk(foreign, 0)])
        await work.commit()
    async with uow() as work:
        asked = [f"{doc.id}:2", f"{foreign.id}:0", "missing:0", f"{doc.id}:0"]
        got = await work.chunks.get_many(asked, dealership_id=d.id)
        assert [c.id for c in got] == [f"{doc.id}:2", f"{doc.id}:0"]
        await work.chunks.delete_document(doc.id)
        assert await work.chunks.count(doc.id) == 0
        assert await work.chunks.count(foreign.id) == 1


async def test_chunks_of_a_document_not_ready_are_never_served(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    docs = {status: document(d.id, status=status) for status in DocumentStatus}
    async with uow() as work:
        for doc in docs.values():
            await work.documents.add(doc)
            await work.chunks.replace(doc.id, [chunk(doc, 0)])
        await work.commit()
    async with uow() as work:
        got = await work.chunks.get_many(
            [f"{doc.id}:0" for doc in docs.values()], dealership_id=d.id
        )
    assert [c.document_id for c in got] == [docs[DocumentStatus.READY].id]


# ---- blobs --------------------------------------------------------------------------


async def test_multi_part_blob_round_trips_in_bounded_parts(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    doc = document(d.id)
    data = os.urandom(3 * MIB + MIB // 2)
    sizes = [1, 700_000, 3 * MIB // 2, 12345, 64 * 1024] * 3
    async with uow() as work:
        size = await work.blobs.write(doc.id, parts(data, sizes))
        await work.documents.add(msgspec.structs.replace(doc, size_bytes=size))
        await work.commit()
    assert size == len(data)
    async with uow(read_only=True) as work:
        read = [part async for part in work.blobs.read(doc.id)]
    assert all(len(p) <= MIB for p in read)
    assert len(read) == 4
    assert hashlib.sha256(b"".join(read)).hexdigest() == hashlib.sha256(data).hexdigest()


async def test_rewriting_a_blob_replaces_it_and_delete_removes_it(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    doc = document(d.id)
    async with uow() as work:
        await work.documents.add(doc)
        await work.blobs.write(doc.id, parts(os.urandom(2 * MIB), [MIB // 3]))
        assert await work.blobs.write(doc.id, parts(b"short", [2])) == 5
        await work.commit()
    async with uow() as work:
        assert b"".join([p async for p in work.blobs.read(doc.id)]) == b"short"
        await work.blobs.delete(doc.id)
        assert [p async for p in work.blobs.read(doc.id)] == []
        assert [p async for p in work.blobs.read(uuid4())] == []


async def test_a_blob_without_its_document_cannot_be_committed(uow: UnitOfWorkFactory) -> None:
    orphan = uuid4()
    async with uow() as work:
        await work.blobs.write(orphan, parts(b"bytes", [5]))
        with pytest.raises(NotFound):
            await work.commit()


# ---- conversations and feedback -----------------------------------------------------


def conversation(d: Dealership, u: User, created_at: datetime = NOW) -> Conversation:
    return Conversation(
        id=uuid4(),
        dealership_id=d.id,
        user_id=u.id,
        mode=ConversationMode.ROLEPLAY,
        scenario="price-focused customer",
        created_at=created_at,
        updated_at=created_at,
    )


def message(conversation_id: UUID, content: str, role: MessageRole, at: datetime) -> Message:
    return Message(
        id=uuid4(),
        conversation_id=conversation_id,
        role=role,
        content=content,
        sources=(
            Source(
                chunk_id=f"{conversation_id}:0",
                document_id=conversation_id,
                filename="gap.pdf",
                topic=Topic.PRODUCT_KNOWLEDGE,
                index=0,
                page=3,
            ),
        )
        if role is MessageRole.ASSISTANT
        else (),
        created_at=at,
    )


async def test_conversation_is_visible_to_its_owner_within_its_dealership(
    uow: UnitOfWorkFactory,
) -> None:
    d, u = await seed(uow)
    other, _ = await seed(uow)
    c = conversation(d, u)
    async with uow() as work:
        await work.conversations.add(c)
        await work.conversations.touch(c.id, NOW + timedelta(minutes=1))
        await work.commit()
    touched = msgspec.structs.replace(c, updated_at=NOW + timedelta(minutes=1))
    async with uow() as work:
        assert await work.conversations.get(c.id, dealership_id=d.id, user_id=u.id) == touched
        assert await work.conversations.get(c.id, dealership_id=d.id, user_id=None) == touched
        assert await work.conversations.get(c.id, dealership_id=d.id, user_id=uuid4()) is None
        assert await work.conversations.get(c.id, dealership_id=other.id, user_id=None) is None
        with pytest.raises(NotFound):
            await work.conversations.touch(uuid4(), NOW)


async def test_conversations_list_per_user_over_pages(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    someone_else = user(d.id)
    mine = [conversation(d, u, NOW + timedelta(seconds=i // 2)) for i in range(5)]
    async with uow() as work:
        await work.users.add(someone_else)
        await work.conversations.add(conversation(d, someone_else))
        for c in mine:
            await work.conversations.add(c)
        await work.commit()

        async def fetch(cursor: Cursor | None, limit: int) -> list[Conversation]:
            return await work.conversations.list_page(
                dealership_id=d.id, user_id=u.id, cursor=cursor, limit=limit
            )

        seen = await collect_pages(fetch, 2, lambda c: Cursor(created_at=c.created_at, id=c.id))
    assert seen == sorted(mine, key=lambda c: (c.created_at, c.id))


async def test_messages_keep_creation_order_with_sources(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    c = conversation(d, u)
    # The same instant for a question and its answer: order of storing decides.
    history = [
        message(c.id, f"turn {i}", MessageRole.USER if i % 2 == 0 else MessageRole.ASSISTANT, at)
        for i, at in enumerate([NOW, NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=1)])
    ]
    async with uow() as work:
        await work.conversations.add(c)
        for m in history:
            await work.conversations.add_message(m)
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.conversations.messages(c.id) == history
        assert await work.conversations.messages(c.id, last=3) == history[1:]
        assert await work.conversations.messages(uuid4()) == []


async def test_a_message_is_found_by_id_only_within_its_conversations_scope(
    uow: UnitOfWorkFactory,
) -> None:
    d, u = await seed(uow)
    other, _ = await seed(uow)
    colleague = user(d.id)
    mine, theirs = conversation(d, u), conversation(d, colleague)
    question = message(mine.id, "What is GAP?", MessageRole.USER, NOW)
    answer = message(mine.id, "It pays the gap [1].", MessageRole.ASSISTANT, NOW)
    elsewhere = message(theirs.id, "Hello", MessageRole.USER, NOW)
    async with uow() as work:
        await work.users.add(colleague)
        for c in (mine, theirs):
            await work.conversations.add(c)
        for m in (question, answer, elsewhere):
            await work.conversations.add_message(m)
        await work.commit()
    async with uow(read_only=True) as work:
        find = work.conversations.get_message
        assert await find(answer.id, dealership_id=d.id, user_id=u.id) == answer, "sources too"
        assert await find(question.id, dealership_id=d.id, user_id=u.id) == question
        assert await find(answer.id, dealership_id=d.id, user_id=None) == answer
        assert await find(elsewhere.id, dealership_id=d.id, user_id=u.id) is None
        assert await find(elsewhere.id, dealership_id=d.id, user_id=colleague.id) == elsewhere
        assert await find(answer.id, dealership_id=other.id, user_id=None) is None
        assert await find(answer.id, dealership_id=other.id, user_id=u.id) is None
        assert await find(uuid4(), dealership_id=d.id, user_id=u.id) is None


def rating(
    c: Conversation, answer: Message, u: User, value: FeedbackRating, at: datetime
) -> MessageFeedback:
    return MessageFeedback(
        id=uuid4(),
        message_id=answer.id,
        conversation_id=c.id,
        dealership_id=c.dealership_id,
        user_id=u.id,
        rating=value,
        reason="cites the wrong product" if value is FeedbackRating.DOWN else None,
        created_at=at,
        updated_at=at,
    )


async def test_feedback_is_listed_per_dealership(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    c = conversation(d, u)
    answers = [
        message(c.id, f"Offer GAP as protection ({i}).", MessageRole.ASSISTANT, NOW)
        for i in range(3)
    ]
    ratings = [
        rating(c, answer, u, FeedbackRating.DOWN if i else FeedbackRating.UP, NOW + timedelta(i))
        for i, answer in enumerate(answers)
    ]
    async with uow() as work:
        await work.conversations.add(c)
        for answer in answers:
            await work.conversations.add_message(answer)
        for f in ratings:
            assert await work.feedback.rate(f) == f
        await work.commit()
    async with uow() as work:
        first = await work.feedback.list_page(dealership_id=d.id, cursor=None, limit=2)
        rest = await work.feedback.list_page(
            dealership_id=d.id,
            cursor=Cursor(created_at=first[-1].created_at, id=first[-1].id),
            limit=2,
        )
        with pytest.raises(NotFound):
            await work.feedback.rate(
                msgspec.structs.replace(ratings[0], id=uuid4(), message_id=uuid4())
            )
    assert first + rest == ratings


async def test_rating_a_message_again_replaces_the_users_rating_in_place(
    uow: UnitOfWorkFactory,
) -> None:
    d, u = await seed(uow)
    colleague = user(d.id)
    c = conversation(d, u)
    answer = message(c.id, "Offer GAP as protection.", MessageRole.ASSISTANT, NOW)
    up = rating(c, answer, u, FeedbackRating.UP, NOW)
    down = rating(c, answer, u, FeedbackRating.DOWN, NOW + timedelta(minutes=1))
    theirs = rating(c, answer, colleague, FeedbackRating.UP, NOW + timedelta(minutes=2))
    async with uow() as work:
        await work.users.add(colleague)
        await work.conversations.add(c)
        await work.conversations.add_message(answer)
        assert await work.feedback.rate(up) == up
        await work.commit()
    async with uow() as work:
        replaced = await work.feedback.rate(down)
        assert await work.feedback.rate(theirs) == theirs
        await work.commit()
    assert replaced == msgspec.structs.replace(
        up, rating=FeedbackRating.DOWN, reason=down.reason, updated_at=down.updated_at
    )
    async with uow() as work:
        listed = await work.feedback.list_page(dealership_id=d.id, cursor=None, limit=10)
    assert listed == [replaced, theirs]


# ---- outbox -------------------------------------------------------------------------


@pytest.fixture
def outbox_now() -> datetime:
    """A private instant long ago, so shared-database entries of other tests never fall due."""
    return datetime(1980, 1, 1, tzinfo=UTC) + timedelta(minutes=secrets.randbelow(10**7))


async def drain(uow: UnitOfWorkFactory, now: datetime) -> None:
    async with uow() as work:
        for entry in await work.outbox.claim_due(10**6, now):
            await work.outbox.mark_done(entry.id)
        await work.commit()


def entry(available_at: datetime, *, event: bool = False) -> OutboxEntry:
    message: OutboxMessage = IngestDocumentTask(document_id=uuid4(), request_id="r1")
    if event:
        message = UsageBudgetThreshold(
            dealership_id=uuid4(),
            occurred_at=available_at,
            threshold=80,
            period="2026-01",
            monthly_token_budget=10,
            used_tokens=8,
        )
    return OutboxEntry(
        id=uuid4(), message=message, created_at=available_at, available_at=available_at
    )


async def test_outbox_claims_only_due_entries_and_done_ones_go_away(
    uow: UnitOfWorkFactory, outbox_now: datetime
) -> None:
    await drain(uow, outbox_now)
    due = [entry(outbox_now - timedelta(seconds=i)) for i in range(3)]
    future = entry(outbox_now + timedelta(seconds=1), event=True)
    try:
        async with uow() as work:
            for e in [*due, future]:
                await work.outbox.add(e)
            await work.commit()
        async with uow() as work:
            claimed = await work.outbox.claim_due(10, outbox_now)
            assert claimed == sorted(due, key=lambda e: (e.available_at, e.id))
            for e in claimed[:2]:
                await work.outbox.mark_done(e.id)
            await work.outbox.reschedule(claimed[2].id, outbox_now + timedelta(seconds=5))
            await work.commit()
        async with uow() as work:
            assert await work.outbox.claim_due(10, outbox_now) == []
            later = await work.outbox.claim_due(10, outbox_now + timedelta(seconds=5))
            assert {e.id for e in later} == {future.id, claimed[2].id}
    finally:
        await drain(uow, outbox_now + timedelta(seconds=5))


async def test_outbox_messages_come_back_as_the_typed_structs_they_went_in_as(
    uow: UnitOfWorkFactory, outbox_now: datetime
) -> None:
    await drain(uow, outbox_now)
    entries = [entry(outbox_now), entry(outbox_now, event=True)]
    try:
        async with uow() as work:
            for e in entries:
                await work.outbox.add(e)
            await work.commit()
        async with uow() as work:
            claimed = await work.outbox.claim_due(10, outbox_now)
        assert sorted(claimed, key=lambda e: e.id) == sorted(entries, key=lambda e: e.id)
        assert {e.kind for e in claimed} == {"task", "event"}
    finally:
        await drain(uow, outbox_now)


async def test_concurrent_claimers_never_get_the_same_entry(
    uow: UnitOfWorkFactory, outbox_now: datetime
) -> None:
    await drain(uow, outbox_now)
    entries = [entry(outbox_now - timedelta(milliseconds=i)) for i in range(5)]
    try:
        async with uow() as work:
            for e in entries:
                await work.outbox.add(e)
            await work.commit()
        async with uow() as first, uow() as second:
            a = await first.outbox.claim_due(3, outbox_now)
            b = await second.outbox.claim_due(10, outbox_now)
            assert len(a) == 3
            assert len(b) == 2
            assert {e.id for e in a}.isdisjoint({e.id for e in b})
            assert {e.id for e in a} | {e.id for e in b} == {e.id for e in entries}
        async with uow() as work:
            again = await work.outbox.claim_due(10, outbox_now)
        assert {e.id for e in again} == {e.id for e in entries}, "claims end with the unit of work"
    finally:
        await drain(uow, outbox_now)


# ---- idempotency --------------------------------------------------------------------


async def test_idempotency_key_is_claimed_once_and_then_answers_the_first_response(
    uow: UnitOfWorkFactory,
) -> None:
    scope, key = f"dealership:{uuid4()}", uuid4().hex
    async with uow() as work:
        assert (
            await work.idempotency.claim(scope, key, "req-hash", 202, b'{"id": "x"}', NOW) is None
        )
        await work.commit()
    async with uow() as work:
        stored = await work.idempotency.claim(scope, key, "other", 500, b"", NOW)
        assert stored is not None
        assert (stored.request_hash, stored.status_code, stored.body) == (
            "req-hash",
            202,
            b'{"id": "x"}',
        )
        assert (
            await work.idempotency.claim(f"dealership:{uuid4()}", key, "h", 202, b"", NOW) is None
        )


async def test_a_claim_rolled_back_leaves_the_key_free(uow: UnitOfWorkFactory) -> None:
    scope, key = f"dealership:{uuid4()}", uuid4().hex
    async with uow() as work:
        assert await work.idempotency.claim(scope, key, "first", 202, b"1", NOW) is None
    async with uow() as work:
        assert await work.idempotency.claim(scope, key, "second", 202, b"2", NOW) is None


async def test_of_two_racing_claims_of_one_key_the_second_gets_the_first_response(
    uow: UnitOfWorkFactory,
) -> None:
    """PostgreSQL makes the second claim wait for the first's commit; the in-memory twin
    lets it proceed and fails its commit instead."""
    scope, key = f"dealership:{uuid4()}", uuid4().hex
    first_committed = asyncio.Event()

    async def claim_second() -> bytes | None:
        async with uow() as work:
            stored = await work.idempotency.claim(scope, key, "h", 202, b"second", NOW)
            await first_committed.wait()
            await work.commit()
            return None if stored is None else stored.body

    async with uow() as work:
        assert await work.idempotency.claim(scope, key, "h", 202, b"first", NOW) is None
        racer = asyncio.create_task(claim_second())
        await asyncio.sleep(0.1)
        await work.commit()
        first_committed.set()
    try:
        assert await racer == b"first"
    except ConcurrentUpdate:
        assert not is_postgres(uow)


async def test_old_idempotency_keys_are_purged(uow: UnitOfWorkFactory) -> None:
    scope = f"dealership:{uuid4()}"
    ancient = datetime(1970, 1, 2, tzinfo=UTC) + timedelta(seconds=secrets.randbelow(10**6))
    async with uow() as work:
        await work.idempotency.claim(scope, "old", "h", 201, b"", ancient)
        await work.idempotency.claim(scope, "new", "h", 201, b"", NOW)
        purged = await work.idempotency.delete_before(ancient + timedelta(seconds=1))
        assert purged >= 1
        assert await work.idempotency.claim(scope, "old", "h2", 201, b"", NOW) is None
        assert await work.idempotency.claim(scope, "new", "h2", 201, b"", NOW) is not None


# ---- webhooks -----------------------------------------------------------------------


def subscription(
    d: Dealership, events: tuple[str, ...], *, active: bool = True, created_at: datetime = NOW
) -> WebhookSubscription:
    return WebhookSubscription(
        id=uuid4(),
        dealership_id=d.id,
        url="https://crm.example.com/hooks/adam",
        events=events,
        secret="whsec_" + uuid4().hex,
        active=active,
        created_at=created_at,
    )


def delivery(
    sub: WebhookSubscription, created_at: datetime = NOW, *, due_at: datetime | None = None
) -> WebhookDelivery:
    return WebhookDelivery(
        id=uuid4(),
        subscription_id=sub.id,
        event_type="document.ready",
        message_id=f"msg_{uuid4().hex}",
        payload=b'{"type": "document.ready"}',
        status=DeliveryStatus.PENDING,
        attempts=0,
        last_status_code=None,
        last_error=None,
        created_at=created_at,
        updated_at=created_at,
        due_at=due_at,
    )


async def test_webhook_subscriptions_are_scoped_listed_and_matched_by_event(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    ready = subscription(d, ("document.ready", "document.failed"))
    failed_only = subscription(d, ("document.failed",), created_at=NOW + timedelta(seconds=1))
    inactive = subscription(d, ("document.ready",), active=False, created_at=NOW)
    foreign = subscription(other, ("document.ready",))
    async with uow() as work:
        for s in (ready, failed_only, inactive, foreign):
            await work.webhooks.add(s)
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.get(ready.id, dealership_id=d.id) == ready
        assert await work.webhooks.get(ready.id, dealership_id=None) == ready
        assert await work.webhooks.get(ready.id, dealership_id=other.id) is None
        assert await work.webhooks.list_for_event(d.id, "document.ready") == [ready]
        failed = await work.webhooks.list_for_event(d.id, "document.failed")
        assert [s.id for s in failed] == [ready.id, failed_only.id]
        page = await work.webhooks.list_page(dealership_id=d.id, cursor=None, limit=2)
        rest = await work.webhooks.list_page(
            dealership_id=d.id,
            cursor=Cursor(created_at=page[-1].created_at, id=page[-1].id),
            limit=2,
        )
        expected = sorted([ready, failed_only, inactive], key=lambda s: (s.created_at, s.id))
        assert page + rest == expected


async def test_deleting_a_subscription_takes_its_deliveries(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    sub = subscription(d, ("document.ready",))
    sent = delivery(sub)
    async with uow() as work:
        await work.webhooks.add(sub)
        await work.webhooks.add_delivery(sent)
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.delete(sub.id, dealership_id=other.id) is False
        assert await work.webhooks.delete(sub.id, dealership_id=d.id) is True
        assert await work.webhooks.delete(sub.id, dealership_id=d.id) is False
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.get(sub.id, dealership_id=None) is None
        assert await work.webhooks.get_delivery(sent.id) is None


async def test_deliveries_record_outcomes_and_never_duplicate_an_event(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    sub = subscription(d, ("document.ready",))
    deliveries = [delivery(sub, NOW + timedelta(seconds=i)) for i in range(3)]
    async with uow() as work:
        await work.webhooks.add(sub)
        for x in deliveries:
            await work.webhooks.add_delivery(x)
        await work.commit()
    delivered = msgspec.structs.replace(
        deliveries[0],
        status=DeliveryStatus.DELIVERED,
        attempts=1,
        last_status_code=204,
        updated_at=NOW + timedelta(minutes=1),
    )
    async with uow() as work:
        await work.webhooks.update_delivery(delivered)
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.get_delivery(delivered.id) == delivered
        pending = await work.webhooks.list_deliveries(
            subscription_id=sub.id, status=DeliveryStatus.PENDING, cursor=None, limit=10
        )
        assert pending == deliveries[1:]
        everything = await work.webhooks.list_deliveries(
            subscription_id=sub.id,
            cursor=Cursor(created_at=delivered.created_at, id=delivered.id),
            limit=10,
        )
        assert everything == deliveries[1:]
        with pytest.raises(NotFound):
            await work.webhooks.update_delivery(delivery(sub))
    async with uow() as work:
        with pytest.raises(Conflict):
            await work.webhooks.add_delivery(
                msgspec.structs.replace(delivery(sub), message_id=deliveries[1].message_id)
            )


async def test_a_due_delivery_is_leased_to_one_sender_only(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    sub = subscription(d, ("document.ready",))
    due = delivery(sub, due_at=NOW)
    later = delivery(sub, due_at=NOW + timedelta(minutes=5))
    async with uow() as work:
        await work.webhooks.add(sub)
        await work.webhooks.add_delivery(due)
        await work.webhooks.add_delivery(later)
        await work.commit()
    lease_until = NOW + timedelta(seconds=30)
    async with uow() as work:
        claimed = await work.webhooks.claim_delivery(due.id, now=NOW, lease_until=lease_until)
        assert claimed == msgspec.structs.replace(due, due_at=lease_until)
        assert (
            await work.webhooks.claim_delivery(later.id, now=NOW, lease_until=lease_until) is None
        )
        await work.commit()
    async with uow() as work:
        again = await work.webhooks.claim_delivery(
            due.id, now=NOW + timedelta(seconds=1), lease_until=lease_until
        )
        assert again is None, "a leased delivery has one sender"
        after_lease = await work.webhooks.claim_delivery(
            due.id, now=lease_until, lease_until=lease_until + timedelta(seconds=30)
        )
        assert after_lease is not None, "a lease whose sender died runs out"
        delivered = msgspec.structs.replace(
            after_lease, status=DeliveryStatus.DELIVERED, attempts=1, due_at=None
        )
        await work.webhooks.update_delivery(delivered)
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.get_delivery(due.id) == delivered
        assert (
            await work.webhooks.claim_delivery(due.id, now=NOW + timedelta(days=1), lease_until=NOW)
            is None
        )


async def test_overdue_deliveries_are_redriven_once_and_made_due(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    sub = subscription(d, ("document.ready",))
    past = NOW - timedelta(days=3650)
    overdue = [delivery(sub, due_at=past + timedelta(seconds=i)) for i in range(3)]
    recent = delivery(sub, due_at=past + timedelta(minutes=10))
    done = msgspec.structs.replace(
        delivery(sub, due_at=None), status=DeliveryStatus.DELIVERED, attempts=1
    )
    async with uow() as work:
        await work.webhooks.add(sub)
        for x in (*overdue, recent, done):
            await work.webhooks.add_delivery(x)
        await work.commit()
    cutoff = past + timedelta(minutes=1)
    async with uow() as work:
        redriven = await work.webhooks.redrive_overdue(overdue_before=cutoff, now=NOW, limit=1000)
        await work.commit()
    assert {x.id for x in overdue} <= set(redriven)
    assert recent.id not in redriven
    assert done.id not in redriven
    async with uow() as work:
        assert (await work.webhooks.get_delivery(overdue[0].id)).due_at == NOW  # type: ignore[union-attr]
        second = await work.webhooks.redrive_overdue(overdue_before=cutoff, now=NOW, limit=1000)
    assert not {x.id for x in overdue} & set(second), "made due at `now`, no longer overdue"


async def test_subscription_state_and_circuit_are_written_and_pending_failed(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    sub = subscription(d, ("document.ready",))
    pending = delivery(sub, due_at=NOW)
    async with uow() as work:
        await work.webhooks.add(sub)
        await work.webhooks.add_delivery(pending)
        await work.commit()
    changed = msgspec.structs.replace(
        sub.rotated("whsec_" + uuid4().hex, NOW, timedelta(hours=1)),
        active=False,
        disabled_reason="receiver answered 410 Gone",
        consecutive_failures=3,
        circuit_open_until=NOW + timedelta(minutes=1),
    )
    async with uow() as work:
        locked = await work.webhooks.get_for_update(sub.id)
        assert locked == sub
        await work.webhooks.update(changed)
        assert await work.webhooks.fail_pending(sub.id, reason="gone", now=NOW) == 1
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.get(sub.id, dealership_id=None) == changed
        failed = await work.webhooks.get_delivery(pending.id)
        assert failed is not None
        assert (failed.status, failed.last_error, failed.due_at) == (
            DeliveryStatus.FAILED,
            "gone",
            None,
        )
        with pytest.raises(NotFound):
            await work.webhooks.update(subscription(d, ("document.ready",)))

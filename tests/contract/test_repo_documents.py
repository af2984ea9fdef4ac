"""Contract of the document repository, run against every adapter.

The PostgreSQL database is shared by the whole session, so every test makes its own
dealership and ids (uuid4) and never assumes a table is empty. The `uow` fixture (one
per adapter) is in `conftest.py`, the builders in `builders.py`.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec
import pytest

from avataradam.domain.errors import ConcurrentUpdate, NotFound
from avataradam.domain.model import (
    Document,
    DocumentError,
    DocumentStatus,
    Stage,
    Topic,
)
from avataradam.domain.pagination import Cursor, cursor_after
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import (
    NOW,
    chunk,
    collect_pages,
    document,
    is_postgres,
    parts,
    seed,
)

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
        newest = await collect_pages(
            fetch, limit, lambda x: cursor_after(x, newest_first=True), start=Cursor.newest()
        )
    in_order = sorted(docs, key=lambda x: (x.created_at, x.id))
    assert [x.id for x in seen] == [x.id for x in in_order]
    assert [x.id for x in newest] == [x.id for x in reversed(in_order)]


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

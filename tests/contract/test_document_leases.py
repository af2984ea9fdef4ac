"""Processing leases on every document repository adapter: only the holder of a lease
renews it, reports progress and writes the document; lapsed leases and the oldest
processing document are found for the reconciler and the gauge."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec

from avataradam.domain.model import Dealership, Document, DocumentStatus, Stage, Topic
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory

LEASE = timedelta(seconds=20)


def base_time() -> datetime:
    """A moment of its own in the past: the PostgreSQL database is shared by the session."""
    return datetime(1990, 1, 1, tzinfo=UTC) + timedelta(seconds=secrets.randbelow(10**8))


async def new_dealership(uow: UnitOfWorkFactory, at: datetime) -> UUID:
    dealership = Dealership(
        id=uuid4(),
        name="Lease Motors",
        active=True,
        knowledge_base_generation=0,
        created_at=at,
        updated_at=at,
    )
    async with uow() as work:
        await work.dealerships.add(dealership)
        await work.commit()
    return dealership.id


def processing(
    dealership_id: UUID,
    at: datetime,
    *,
    token: UUID | None,
    expires_at: datetime | None,
    status: DocumentStatus = DocumentStatus.PROCESSING,
    started_at: datetime | None = None,
) -> Document:
    return Document(
        id=uuid4(),
        dealership_id=dealership_id,
        topic=Topic.PLAYBOOKS,
        filename="menu.md",
        content_type="text/markdown",
        size_bytes=10,
        sha256=hashlib.sha256(uuid4().bytes).hexdigest(),
        status=status,
        stage=Stage.EXTRACTING if status is DocumentStatus.PROCESSING else None,
        progress=0.0,
        chunk_count=0,
        attempts=1,
        error=None,
        created_at=at,
        updated_at=at,
        lease_token=token,
        lease_expires_at=expires_at,
        processing_started_at=started_at or at,
    )


async def stored(uow: UnitOfWorkFactory, document_id: UUID) -> Document:
    async with uow(read_only=True) as work:
        found = await work.documents.get(document_id, dealership_id=None)
    assert found is not None
    return found


async def test_only_the_lease_holder_renews_reports_progress_and_writes(
    uow: UnitOfWorkFactory,
) -> None:
    at = base_time()
    holder, other = uuid4(), uuid4()
    doc = processing(await new_dealership(uow, at), at, token=holder, expires_at=at + LEASE)
    async with uow() as work:
        await work.documents.add(doc)
        await work.commit()
    assert await stored(uow, doc.id) == doc

    async with uow() as work:
        assert not await work.documents.renew_lease(doc.id, lease_token=other, until=at + 2 * LEASE)
        assert not await work.documents.set_progress(
            doc.id, lease_token=other, stage=Stage.EMBEDDING, progress=0.5, updated_at=at
        )
        assert not await work.documents.update_leased(
            msgspec.structs.replace(doc, status=DocumentStatus.READY), lease_token=other
        )
        await work.commit()
    assert await stored(uow, doc.id) == doc

    renewed_until = at + 2 * LEASE
    async with uow() as work:
        assert await work.documents.renew_lease(doc.id, lease_token=holder, until=renewed_until)
        assert await work.documents.set_progress(
            doc.id, lease_token=holder, stage=Stage.EMBEDDING, progress=0.5, updated_at=at
        )
        await work.commit()
    progressed = await stored(uow, doc.id)
    assert progressed.lease_expires_at == renewed_until
    assert (progressed.stage, progressed.progress) == (Stage.EMBEDDING, 0.5)

    ready = msgspec.structs.replace(
        progressed, status=DocumentStatus.READY, lease_token=None, lease_expires_at=None
    )
    async with uow() as work:
        assert await work.documents.update_leased(ready, lease_token=holder)
        await work.commit()
    assert await stored(uow, doc.id) == ready
    async with uow() as work:
        # The lease ended with the run: nothing of it is renewed or written any more.
        assert not await work.documents.renew_lease(doc.id, lease_token=holder, until=at)
        assert not await work.documents.update_leased(progressed, lease_token=holder)
        await work.commit()
    assert await stored(uow, doc.id) == ready


async def test_a_worker_whose_lease_was_taken_over_overwrites_nothing(
    uow: UnitOfWorkFactory,
) -> None:
    at = base_time()
    old, new = uuid4(), uuid4()
    doc = processing(await new_dealership(uow, at), at, token=old, expires_at=at + LEASE)
    async with uow() as work:
        await work.documents.add(doc)
        await work.commit()
    taken_over = msgspec.structs.replace(
        doc, lease_token=new, lease_expires_at=at + 2 * LEASE, attempts=2
    )
    async with uow() as work:
        current = await work.documents.get_for_update(doc.id)
        assert current is not None
        await work.documents.update(taken_over)
        await work.commit()
    new_result = msgspec.structs.replace(
        taken_over, status=DocumentStatus.READY, chunk_count=7, lease_token=None
    )
    async with uow() as work:
        assert await work.documents.update_leased(new_result, lease_token=new)
        await work.commit()

    late = msgspec.structs.replace(doc, status=DocumentStatus.FAILED, chunk_count=0)
    async with uow() as work:
        assert not await work.documents.update_leased(late, lease_token=old)
        await work.commit()
    assert await stored(uow, doc.id) == new_result


async def test_lapsed_and_unclaimed_leases_are_listed_soonest_lapsed_first(
    uow: UnitOfWorkFactory,
) -> None:
    now = base_time()
    dealership_id = await new_dealership(uow, now)
    never = processing(dealership_id, now, token=uuid4(), expires_at=None)
    long_lapsed = processing(dealership_id, now, token=uuid4(), expires_at=now - LEASE)
    lapsed = processing(dealership_id, now, token=uuid4(), expires_at=now - timedelta(seconds=1))
    unclaimed = processing(dealership_id, now, token=None, expires_at=now - 2 * LEASE)
    held = processing(dealership_id, now, token=uuid4(), expires_at=now + LEASE)
    waiting = processing(dealership_id, now, token=None, expires_at=now + LEASE)
    ready = processing(
        dealership_id, now, token=None, expires_at=now - LEASE, status=DocumentStatus.READY
    )
    async with uow() as work:
        for doc in (never, long_lapsed, lapsed, unclaimed, held, waiting, ready):
            await work.documents.add(doc)
        await work.commit()
        found = await work.documents.list_lapsed(now=now, limit=10**6)
    ours = [d.id for d in found if d.dealership_id == dealership_id]
    assert ours == [never.id, unclaimed.id, long_lapsed.id, lapsed.id]


async def test_the_oldest_processing_start_counts_processing_documents_only(
    uow: UnitOfWorkFactory,
) -> None:
    at = datetime(1980, 1, 1, tzinfo=UTC) + timedelta(seconds=secrets.randbelow(10**6))
    dealership_id = await new_dealership(uow, at)
    older_but_ready = processing(
        dealership_id,
        at,
        token=None,
        expires_at=None,
        status=DocumentStatus.READY,
        started_at=at - timedelta(days=1),
    )
    oldest = processing(dealership_id, at, token=uuid4(), expires_at=at + LEASE)
    younger = processing(
        dealership_id, at, token=uuid4(), expires_at=at + LEASE, started_at=at + timedelta(hours=1)
    )
    documents = (older_but_ready, oldest, younger)
    async with uow() as work:
        for doc in documents:
            await work.documents.add(doc)
        await work.commit()
    try:
        async with uow(read_only=True) as work:
            assert await work.documents.oldest_processing_started_at() == at
    finally:
        async with uow() as work:  # the next adapter's run must not find these
            for doc in documents:
                await work.documents.delete(doc.id)
            await work.commit()
    async with uow(read_only=True) as work:
        remaining = await work.documents.oldest_processing_started_at()
    assert remaining is None or remaining > at

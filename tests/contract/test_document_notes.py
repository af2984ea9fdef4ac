"""A document's title and extraction warnings are stored by every repository adapter."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from uuid import uuid4

import msgspec

from avataradam.domain.model import Dealership, Document, DocumentStatus, Topic
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory

NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def test_title_and_warnings_are_stored_read_and_listed(uow: UnitOfWorkFactory) -> None:
    dealership = Dealership(
        id=uuid4(),
        name="Notes Motors",
        active=True,
        knowledge_base_generation=0,
        created_at=NOW,
        updated_at=NOW,
    )
    queued = Document(
        id=uuid4(),
        dealership_id=dealership.id,
        topic=Topic.PLAYBOOKS,
        filename="menu.md",
        content_type="text/markdown",
        size_bytes=10,
        sha256=hashlib.sha256(uuid4().bytes).hexdigest(),
        status=DocumentStatus.QUEUED,
        stage=None,
        progress=0.0,
        chunk_count=0,
        attempts=0,
        error=None,
        created_at=NOW,
        updated_at=NOW,
    )
    ready = msgspec.structs.replace(
        queued,
        status=DocumentStatus.READY,
        title="Menu selling basics",
        warnings=("3 images without text skipped", "1 embedded data payload stripped"),
    )
    async with uow() as work:
        await work.dealerships.add(dealership)
        await work.documents.add(queued)
        await work.commit()
    async with uow() as work:
        fresh = await work.documents.get(queued.id, dealership_id=dealership.id)
        await work.documents.update(ready)
        await work.commit()
    async with uow() as work:
        stored = await work.documents.get(queued.id, dealership_id=dealership.id)
        listed = await work.documents.list_page(
            dealership_id=dealership.id, topic=None, status=None, cursor=None, limit=10
        )

    assert fresh is not None
    assert (fresh.title, fresh.warnings) == (None, ())
    assert stored == ready
    assert listed == [ready]

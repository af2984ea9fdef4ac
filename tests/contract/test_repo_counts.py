"""Contract of `DocumentRepository.count_by_status` (the documents-by-status gauge) and
`not_ready_ids` (what search keeps out of the vector query).

The PostgreSQL database is shared by the session, so counts over all dealerships are
compared before and after, never assumed to start at zero.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain.model import DocumentStatus
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import dealership, document


@pytest.fixture(scope="session")
async def counting_database(database_url: str) -> AsyncIterator[PostgresDatabase]:
    database = PostgresDatabase(
        database_url, min_size=1, max_size=4, command_timeout_s=30, statement_cache_size=100
    )
    await database.start()
    yield database
    await database.close()


@pytest.fixture(params=["memory", "postgres"])
def uow(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "memory":
        return InMemoryUnitOfWorkFactory(InMemoryStore())
    database: PostgresDatabase = request.getfixturevalue("counting_database")
    return PostgresUnitOfWorkFactory(database)


async def add_documents(uow: UnitOfWorkFactory, statuses: list[DocumentStatus]) -> UUID:
    owner = dealership()
    async with uow() as work:
        await work.dealerships.add(owner)
        for status in statuses:
            await work.documents.add(document(owner.id, status=status))
        await work.commit()
    return owner.id


async def counts(uow: UnitOfWorkFactory, dealership_id: UUID | None) -> dict[DocumentStatus, int]:
    async with uow(read_only=True) as work:
        return await work.documents.count_by_status(dealership_id)


async def test_counts_of_a_dealership_name_every_status_with_zero_for_absent_ones(
    uow: UnitOfWorkFactory,
) -> None:
    dealership_id = await add_documents(
        uow, [DocumentStatus.READY, DocumentStatus.READY, DocumentStatus.FAILED]
    )
    await add_documents(uow, [DocumentStatus.READY, DocumentStatus.QUEUED])

    counted = await counts(uow, dealership_id)

    assert counted == {
        DocumentStatus.QUEUED: 0,
        DocumentStatus.PROCESSING: 0,
        DocumentStatus.READY: 2,
        DocumentStatus.FAILED: 1,
        DocumentStatus.DELETING: 0,
    }


async def test_counts_without_a_dealership_cover_every_dealership(
    uow: UnitOfWorkFactory,
) -> None:
    before = await counts(uow, None)
    await add_documents(uow, [DocumentStatus.PROCESSING, DocumentStatus.DELETING])
    await add_documents(uow, [DocumentStatus.PROCESSING])

    after = await counts(uow, None)

    assert {status: after[status] - before[status] for status in DocumentStatus} == {
        DocumentStatus.QUEUED: 0,
        DocumentStatus.PROCESSING: 2,
        DocumentStatus.READY: 0,
        DocumentStatus.FAILED: 0,
        DocumentStatus.DELETING: 1,
    }


async def test_counts_of_an_unknown_dealership_are_all_zero(uow: UnitOfWorkFactory) -> None:
    await add_documents(uow, [DocumentStatus.READY])

    counted = await counts(uow, dealership().id)

    assert counted == dict.fromkeys(DocumentStatus, 0)


async def test_not_ready_ids_name_every_document_of_the_dealership_but_the_ready_ones(
    uow: UnitOfWorkFactory,
) -> None:
    owner = dealership()
    others = [status for status in DocumentStatus if status is not DocumentStatus.READY]
    documents = [document(owner.id, status=status) for status in [*others, DocumentStatus.READY]]
    async with uow() as work:
        await work.dealerships.add(owner)
        for added in documents:
            await work.documents.add(added)
        await work.commit()
    await add_documents(uow, [DocumentStatus.DELETING])

    async with uow(read_only=True) as work:
        not_ready = await work.documents.not_ready_ids(owner.id)

    assert sorted(not_ready) == sorted(d.id for d in documents if d.status in others)

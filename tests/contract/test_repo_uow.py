"""Contract of the unit of work, run against every persistence adapter.

The PostgreSQL database is shared by the whole session, so every test makes its own
dealership and ids (uuid4) and never assumes a table is empty. The `uow` fixture (one
per adapter) is in `conftest.py`, the builders in `builders.py`.
"""

from __future__ import annotations

from uuid import uuid4

import pytest

from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import (
    NOW,
    dealership,
)

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

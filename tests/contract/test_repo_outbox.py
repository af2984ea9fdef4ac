"""Contract of the outbox and idempotency repositories, run against every adapter.

The PostgreSQL database is shared by the whole session, so every test makes its own
dealership and ids (uuid4) and never assumes a table is empty. The `uow` fixture (one
per adapter) is in `conftest.py`, the builders in `builders.py`.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from avataradam.domain.errors import ConcurrentUpdate
from avataradam.domain.model import (
    IngestDocumentTask,
    OutboxEntry,
    OutboxMessage,
    UsageBudgetThreshold,
)
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import (
    NOW,
    is_postgres,
)

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

"""The in-memory unit of work: the transaction semantics its contract suite relies on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.domain.errors import Conflict
from avataradam.domain.model import Dealership, RefreshToken, Role, User
from avataradam.domain.pagination import Cursor

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def dealership(created_at: datetime = NOW) -> Dealership:
    return Dealership(
        id=uuid4(),
        name="Lakeside Auto",
        active=True,
        knowledge_base_generation=0,
        created_at=created_at,
        updated_at=created_at,
    )


async def test_commit_publishes_and_counts() -> None:
    store = InMemoryStore()
    uow = InMemoryUnitOfWorkFactory(store)
    d = dealership()
    async with uow() as work:
        await work.dealerships.add(d)
        assert store.tables.dealerships == {}, "nothing is published before commit"
        await work.commit()
    assert store.tables.dealerships == {d.id: d}
    assert store.commits == 1


async def test_a_uniqueness_conflict_at_commit_publishes_nothing() -> None:
    store = InMemoryStore()
    uow = InMemoryUnitOfWorkFactory(store)
    d = dealership()
    email = "dana@example.com"

    def new_user() -> User:
        return User(
            id=uuid4(),
            email=email,
            password_hash="h",
            role=Role.USER,
            dealership_id=d.id,
            first_name=None,
            last_name=None,
            active=True,
            created_at=NOW,
            updated_at=NOW,
        )

    async with uow() as work:
        await work.dealerships.add(d)
        await work.commit()
    async with uow() as first, uow() as second:
        other = dealership()
        await first.users.add(new_user())
        await second.dealerships.add(other)
        await second.users.add(new_user())
        await first.commit()
        with pytest.raises(Conflict):
            await second.commit()
    assert other.id not in store.tables.dealerships, "a failed commit applies none of its writes"
    assert len(store.tables.users) == 1


async def test_a_rotation_beaten_by_a_concurrent_commit_fails_to_commit() -> None:
    store = InMemoryStore()
    uow = InMemoryUnitOfWorkFactory(store)
    d = dealership()
    user_id = uuid4()
    token = RefreshToken(
        token_hash="h", family_id=uuid4(), user_id=user_id, expires_at=NOW, created_at=NOW
    )
    async with uow() as work:
        await work.dealerships.add(d)
        await work.users.add(
            User(
                id=user_id,
                email="a@example.com",
                password_hash="h",
                role=Role.USER,
                dealership_id=d.id,
                first_name=None,
                last_name=None,
                active=True,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        await work.refresh_tokens.add(token)
        await work.commit()
    async with uow() as first, uow() as second:
        assert await first.refresh_tokens.mark_rotated("h", NOW) is True
        assert await second.refresh_tokens.mark_rotated("h", NOW) is True
        await first.commit()
        with pytest.raises(Conflict):
            await second.commit()


async def test_increments_of_concurrent_units_of_work_add_up() -> None:
    uow = InMemoryUnitOfWorkFactory(InMemoryStore())
    d = dealership()
    async with uow() as work:
        await work.dealerships.add(d)
        await work.commit()

    async def bump() -> None:
        async with uow() as work:
            await work.dealerships.bump_generation(d.id)
            await asyncio.sleep(0)
            await work.commit()

    await asyncio.gather(*(bump() for _ in range(10)))
    async with uow() as work:
        stored = await work.dealerships.get(d.id)
    assert stored is not None
    assert stored.knowledge_base_generation == 10


@settings(max_examples=60, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=3), max_size=30),
    limit=st.integers(min_value=1, max_value=7),
)
def test_keyset_pages_partition_the_listing(offsets: list[int], limit: int) -> None:
    async def scenario() -> tuple[list[UUID], list[UUID]]:
        uow = InMemoryUnitOfWorkFactory(InMemoryStore())
        rows = [dealership(NOW + timedelta(seconds=o)) for o in offsets]
        async with uow() as work:
            for row in rows:
                await work.dealerships.add(row)
            seen: list[UUID] = []
            cursor: Cursor | None = None
            while True:
                page = await work.dealerships.list_page(cursor=cursor, limit=limit + 1)
                seen.extend(d.id for d in page[:limit])
                if len(page) <= limit:
                    break
                cursor = Cursor(created_at=page[limit - 1].created_at, id=page[limit - 1].id)
        expected = [d.id for d in sorted(rows, key=lambda d: (d.created_at, d.id))]
        return seen, expected

    seen, expected = asyncio.run(scenario())
    assert seen == expected

"""Contract of the dealership, user and refresh-token repositories, run against every adapter.

The PostgreSQL database is shared by the whole session, so every test makes its own
dealership and ids (uuid4) and never assumes a table is empty. The `uow` fixture (one
per adapter) is in `conftest.py`, the builders in `builders.py`.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec
import pytest

from avataradam.domain.errors import Conflict, EmailTaken, NotFound
from avataradam.domain.model import (
    Dealership,
    Role,
    User,
)
from avataradam.domain.pagination import Cursor, cursor_after
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import (
    NOW,
    collect_pages,
    dealership,
    is_postgres,
    seed,
    token,
    user,
)

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
        newest = await collect_pages(
            fetch, 2, lambda u: cursor_after(u, newest_first=True), start=Cursor.newest()
        )
        everyone = await work.users.list_page(dealership_id=None, cursor=None, limit=10**6)
    expected = sorted([first, *others], key=lambda u: (u.created_at, u.id))
    assert seen == expected
    assert newest == expected[::-1]
    assert {u.id for u in expected} <= {u.id for u in everyone}


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

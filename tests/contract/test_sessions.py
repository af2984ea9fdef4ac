"""Contract of what ends sessions: `UserRepository.end_sessions`,
`RefreshTokenRepository.revoke_users` and `AccountStates`, against every adapter; and
the per-process cache of account states, whose drops travel between processes over
the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import msgspec
import pytest
import redis.asyncio as aioredis

from avataradam.adapters.memory.identity import InMemoryAccountStates
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.postgres.identity import PostgresAccountStates
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.adapters.redis.accounts import CachedAccountStates
from avataradam.domain.model import AccountState, Role
from avataradam.domain.ports.repositories.identity import AccountStates
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import (
    NOW,
    dealership,
    seed,
    token,
    user,
)


def states_of(uow: UnitOfWorkFactory) -> AccountStates:
    if isinstance(uow, InMemoryUnitOfWorkFactory):
        return InMemoryAccountStates(uow.store)
    assert isinstance(uow, PostgresUnitOfWorkFactory)
    return PostgresAccountStates(uow.database)


async def test_end_sessions_moves_the_version_of_one_user_only(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    neighbour = user(d.id)
    async with uow() as work:
        await work.users.add(neighbour)
        assert await work.users.end_sessions(user_id=u.id) == [u.id]
        assert await work.users.end_sessions(user_id=u.id) == [u.id]
        await work.commit()
    async with uow(read_only=True) as work:
        ended, untouched = await work.users.get(u.id), await work.users.get(neighbour.id)
    assert ended is not None
    assert untouched is not None
    assert (ended.session_version, untouched.session_version) == (2, 0)


async def test_end_sessions_of_a_dealership_moves_every_user_of_it(
    uow: UnitOfWorkFactory,
) -> None:
    d, u = await seed(uow)
    colleague, other = user(d.id), dealership()
    stranger = user(other.id)
    async with uow() as work:
        await work.dealerships.add(other)
        for new in (colleague, stranger):
            await work.users.add(new)
        moved = await work.users.end_sessions(dealership_id=d.id)
        await work.commit()
    assert sorted(moved) == sorted([u.id, colleague.id])
    async with uow(read_only=True) as work:
        assert (await work.users.get(stranger.id)).session_version == 0  # type: ignore[union-attr]


async def test_update_never_moves_the_session_version_back(uow: UnitOfWorkFactory) -> None:
    _, u = await seed(uow)
    async with uow() as work:
        await work.users.end_sessions(user_id=u.id)
        await work.commit()
    async with uow() as work:
        # `u` is the user as read before the version moved: a stale copy.
        await work.users.update(msgspec.structs.replace(u, first_name="Renamed"))
        await work.commit()
    async with uow(read_only=True) as work:
        stored = await work.users.get(u.id)
    assert stored is not None
    assert (stored.first_name, stored.session_version) == ("Renamed", 1)


async def test_revoke_users_revokes_every_live_token_of_those_users(
    uow: UnitOfWorkFactory,
) -> None:
    d, u = await seed(uow)
    other = user(d.id)
    mine = [token(u.id, uuid4()), token(u.id, uuid4())]
    theirs = token(other.id, uuid4())
    async with uow() as work:
        await work.users.add(other)
        for t in (*mine, theirs):
            await work.refresh_tokens.add(t)
        await work.refresh_tokens.revoke(mine[1].token_hash, NOW)
        assert await work.refresh_tokens.revoke_users([u.id], NOW) == 1
        await work.commit()
    async with uow(read_only=True) as work:
        first, second, kept = [await work.refresh_tokens.get(t.token_hash) for t in (*mine, theirs)]
    assert first is not None
    assert second is not None
    assert kept is not None
    assert first.revoked_at == NOW
    assert second.revoked_at == NOW
    assert kept.revoked_at is None


async def test_a_refresh_token_keeps_the_session_version_it_was_issued_under(
    uow: UnitOfWorkFactory,
) -> None:
    _, u = await seed(uow)
    issued = msgspec.structs.replace(token(u.id, uuid4()), session_version=3)
    async with uow() as work:
        await work.refresh_tokens.add(issued)
        await work.commit()
    async with uow(read_only=True) as work:
        stored = await work.refresh_tokens.get(issued.token_hash)
    assert stored is not None
    assert stored.session_version == 3


async def test_account_states_answer_the_committed_state(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    states = states_of(uow)
    assert await states.get(u.id) == AccountState(
        user_id=u.id,
        role=Role.USER,
        dealership_id=d.id,
        active=True,
        dealership_active=True,
        session_version=0,
    )
    async with uow() as work:
        await work.dealerships.update(msgspec.structs.replace(d, active=False))
        await work.users.update(
            msgspec.structs.replace(u, active=False, role=Role.DEALERSHIP_ADMIN)
        )
        await work.users.end_sessions(user_id=u.id)
        await work.commit()
    changed = await states.get(u.id)
    assert changed is not None
    assert (changed.active, changed.dealership_active, changed.role, changed.session_version) == (
        False,
        False,
        Role.DEALERSHIP_ADMIN,
        1,
    )
    assert await states.get(uuid4()) is None


# ---- the per-process cache, over the real Redis ---------------------------------------


class CountingStates:
    """AccountStates over a dict, counting reads (what the cache saves)."""

    def __init__(self) -> None:
        self.states: dict[UUID, AccountState] = {}
        self.reads = 0

    async def get(self, user_id: UUID) -> AccountState | None:
        self.reads += 1
        return self.states.get(user_id)

    async def changed(self, *, user_ids: object = (), dealership_id: UUID | None = None) -> None:
        del user_ids, dealership_id


def _state(dealership_id: UUID | None = None, version: int = 0) -> AccountState:
    return AccountState(
        user_id=uuid4(),
        role=Role.USER,
        dealership_id=dealership_id or uuid4(),
        active=True,
        dealership_active=True,
        session_version=version,
    )


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.ping()
    except OSError:
        pytest.skip("Redis is not running")
    yield client
    await client.aclose()


async def _eventually(check: object, timeout_s: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "not within the timeout"
        await asyncio.sleep(0.005)


async def test_cache_serves_repeats_and_a_change_elsewhere_drops_it_here(
    redis_client: aioredis.Redis,
) -> None:
    source = CountingStates()
    here = CachedAccountStates(source, redis_client, ttl_s=300)
    there = CachedAccountStates(source, redis_client, ttl_s=300)
    await here.start()
    await there.start()
    try:
        assert here.live
        assert there.live
        state = _state()
        source.states[state.user_id] = state
        assert await here.get(state.user_id) == state
        assert await here.get(state.user_id) == state
        assert source.reads == 1, "the second read was served from the process"
        ended = msgspec.structs.replace(state, session_version=1)
        source.states[state.user_id] = ended
        assert await here.get(state.user_id) == state, "cached: the source was not asked"
        await there.changed(user_ids=[state.user_id])
        await _eventually(lambda: state.user_id not in here._entries)
        assert await here.get(state.user_id) == ended
    finally:
        await here.stop()
        await there.stop()


async def test_a_dealership_change_drops_every_user_of_that_dealership(
    redis_client: aioredis.Redis,
) -> None:
    source = CountingStates()
    here = CachedAccountStates(source, redis_client, ttl_s=300)
    there = CachedAccountStates(source, redis_client, ttl_s=300)
    await here.start()
    await there.start()
    try:
        dealership_id = uuid4()
        members = [_state(dealership_id), _state(dealership_id)]
        outsider = _state()
        for state in (*members, outsider):
            source.states[state.user_id] = state
            await here.get(state.user_id)
        await there.changed(dealership_id=dealership_id)
        await _eventually(lambda: all(m.user_id not in here._entries for m in members))
        assert outsider.user_id in here._entries
    finally:
        await here.stop()
        await there.stop()


async def test_nothing_is_cached_without_a_live_subscription(redis_url: str) -> None:
    source = CountingStates()
    unreachable = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    cache = CachedAccountStates(source, unreachable, ttl_s=300, reconnect_delay_s=0.05)
    await cache.start()
    try:
        assert not cache.live
        state = _state()
        source.states[state.user_id] = state
        await cache.get(state.user_id)
        await cache.get(state.user_id)
        assert source.reads == 2, "every read went to the source"
        await cache.changed(user_ids=[state.user_id])  # a failed broadcast never raises
    finally:
        await cache.stop()
        await unreachable.aclose()
    del redis_url


async def test_a_read_that_overlapped_a_change_is_not_kept(redis_client: aioredis.Redis) -> None:
    state = _state()
    release = asyncio.Event()

    class SlowStates(CountingStates):
        async def get(self, user_id: UUID) -> AccountState | None:
            answer = await super().get(user_id)
            await release.wait()
            return answer

    source = SlowStates()
    source.states[state.user_id] = state
    cache = CachedAccountStates(source, redis_client, ttl_s=300)
    await cache.start()
    try:
        read = asyncio.create_task(cache.get(state.user_id))
        await asyncio.sleep(0.01)
        await cache.changed(user_ids=[state.user_id])  # commits while the read is out
        release.set()
        assert await read == state  # used for the request that read it...
        assert state.user_id not in cache._entries
    finally:
        await cache.stop()

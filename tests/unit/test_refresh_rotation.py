"""Refresh-token rotation: one successor per token, replayed to concurrent repeats for a
moment, reuse detected after that (domain use case on the in-memory twin)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.security.tokens import JwtTokenService
from avataradam.adapters.system import UuidGenerator
from avataradam.domain.errors import InvalidToken
from avataradam.domain.model import Dealership, Role, User
from avataradam.domain.usecases.auth import (
    ROTATION_GRACE,
    Refresh,
    TokenIssuer,
    TokenPair,
    successor_token,
)
from tests.support.fakes import ManualClock

SECRET = b"s" * 64


class Session:
    def __init__(self) -> None:
        self.uow = InMemoryUnitOfWorkFactory(InMemoryStore())
        self.clock = ManualClock(datetime(2025, 1, 1, 12, tzinfo=UTC))
        tokens = JwtTokenService(
            secret="t" * 64,
            algorithm="HS256",
            issuer="avataradam",
            audience="avataradam-api",
            access_ttl_s=900,
        )
        self.issuer = TokenIssuer(tokens, self.clock, UuidGenerator(), 3600)
        self.refresh = Refresh(self.uow, self.clock, self.issuer, SECRET)

    async def sign_in(self) -> TokenPair:
        now = self.clock.now()
        dealership = Dealership(
            id=uuid.uuid4(),
            name="D",
            active=True,
            knowledge_base_generation=0,
            created_at=now,
            updated_at=now,
        )
        user = User(
            id=uuid.uuid4(),
            email=f"{uuid.uuid4().hex}@example.com",
            password_hash="x",
            role=Role.USER,
            dealership_id=dealership.id,
            first_name=None,
            last_name=None,
            active=True,
            created_at=now,
            updated_at=now,
        )
        async with self.uow() as uow:
            await uow.dealerships.add(dealership)
            await uow.users.add(user)
            pair = await self.issuer.issue(uow, user, family_id=None)
            await uow.commit()
        return pair


async def test_a_repeat_within_the_grace_answers_the_same_successor() -> None:
    session = Session()
    first = (await session.sign_in()).refresh_token

    rotated = await session.refresh(first)
    session.clock.current += ROTATION_GRACE
    repeated = await session.refresh(first)

    assert rotated.refresh_token == repeated.refresh_token != first
    assert (await session.refresh(rotated.refresh_token)).refresh_token


async def test_concurrent_refreshes_of_one_token_all_get_one_successor() -> None:
    session = Session()
    first = (await session.sign_in()).refresh_token

    pairs = await asyncio.gather(*(session.refresh(first) for _ in range(5)))

    [successor] = {pair.refresh_token for pair in pairs}
    assert (await session.refresh(successor)).refresh_token != successor


def test_the_successor_is_unpredictable_without_the_key() -> None:
    assert successor_token(b"k" * 32, "token") != successor_token(b"K" * 32, "token")
    assert successor_token(b"k" * 32, "token") == successor_token(b"k" * 32, "token")


async def test_a_repeat_after_the_grace_is_reuse_and_revokes_the_session() -> None:
    session = Session()
    first = (await session.sign_in()).refresh_token
    rotated = await session.refresh(first)

    session.clock.current += ROTATION_GRACE + timedelta(seconds=1)
    with pytest.raises(InvalidToken, match="already used"):
        await session.refresh(first)
    with pytest.raises(InvalidToken):
        await session.refresh(rotated.refresh_token)


async def test_a_repeat_once_the_successor_is_used_is_reuse_and_revokes_the_session() -> None:
    session = Session()
    first = (await session.sign_in()).refresh_token
    second = (await session.refresh(first)).refresh_token
    third = (await session.refresh(second)).refresh_token

    with pytest.raises(InvalidToken, match="already used"):
        await session.refresh(first)
    with pytest.raises(InvalidToken):
        await session.refresh(third)

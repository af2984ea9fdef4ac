"""Contract of a conversation's completion against the storing of a reply (issue 17):
`touch_open` refuses a completed conversation, and on PostgreSQL a reply's transaction
and a completion wait for each other on the conversation's row, so a reply is either
stored before `completed_at` or not at all. The `uow` fixture (one per adapter) is in
`conftest.py`, the builders in `builders.py`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain.model import Conversation, MessageRole
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import NOW, conversation, message, seed

WAIT_S = 0.5
"""How long a blocked transaction is watched to stay blocked."""


async def _started(uow: UnitOfWorkFactory) -> Conversation:
    d, u = await seed(uow)
    c = conversation(d, u)
    async with uow() as work:
        await work.conversations.add(c)
        await work.commit()
    return c


async def _stored(uow: UnitOfWorkFactory, c: Conversation) -> Conversation:
    async with uow(read_only=True) as work:
        found = await work.conversations.get(c.id, dealership_id=c.dealership_id, user_id=None)
    assert found is not None
    return found


async def test_a_completed_conversation_is_not_touched(uow: UnitOfWorkFactory) -> None:
    c = await _started(uow)
    async with uow() as work:
        locked = await work.conversations.get_for_update(c.id)
        assert locked == c
        assert await work.conversations.complete(c.id, NOW + timedelta(minutes=1))
        await work.commit()
    async with uow() as work:
        assert not await work.conversations.touch_open(c.id, NOW + timedelta(minutes=2))
        await work.commit()
    stored = await _stored(uow, c)
    assert stored.updated_at == stored.completed_at == NOW + timedelta(minutes=1)


async def test_a_completion_waits_for_a_reply_being_stored(
    postgres_database: PostgresDatabase,
) -> None:
    uow = PostgresUnitOfWorkFactory(postgres_database)
    c = await _started(uow)
    reply = message(c.id, "Fair question.", MessageRole.ASSISTANT, NOW + timedelta(seconds=5))

    async def complete() -> bool:
        async with uow() as work:
            await work.conversations.get_for_update(c.id)
            done = await work.conversations.complete(c.id, NOW + timedelta(seconds=6))
            await work.commit()
        return done

    async with uow() as work:
        assert await work.conversations.touch_open(c.id, reply.created_at)
        completing = asyncio.create_task(complete())
        await asyncio.sleep(WAIT_S)
        assert not completing.done(), "the completion did not wait for the reply's row"
        await work.conversations.add_message(reply)
        await work.commit()
    assert await completing
    async with uow(read_only=True) as work:
        assert await work.conversations.messages(c.id) == [reply]


async def test_a_reply_stored_during_a_completion_sees_it_and_stores_nothing(
    postgres_database: PostgresDatabase,
) -> None:
    uow = PostgresUnitOfWorkFactory(postgres_database)
    c = await _started(uow)

    async def touch() -> bool:
        async with uow() as work:
            is_open = await work.conversations.touch_open(c.id, NOW + timedelta(seconds=7))
            await work.commit()
        return is_open

    async with uow() as work:
        await work.conversations.get_for_update(c.id)
        touching = asyncio.create_task(touch())
        await asyncio.sleep(WAIT_S)
        assert not touching.done(), "the reply's check did not wait for the completion"
        assert await work.conversations.complete(c.id, NOW + timedelta(seconds=6))
        await work.commit()
    assert not await touching
    stored = await _stored(uow, c)
    assert stored.updated_at == stored.completed_at == NOW + timedelta(seconds=6)

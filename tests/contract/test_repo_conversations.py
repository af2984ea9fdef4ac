"""Contract of the conversation and feedback repositories, run against every adapter.

The PostgreSQL database is shared by the whole session, so every test makes its own
dealership and ids (uuid4) and never assumes a table is empty. The `uow` fixture (one
per adapter) is in `conftest.py`, the builders in `builders.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import msgspec
import pytest

from avataradam.domain.errors import NotFound
from avataradam.domain.model import (
    Conversation,
    FeedbackRating,
    Message,
    MessageFeedback,
    MessageRole,
    User,
)
from avataradam.domain.pagination import Cursor, cursor_after
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import (
    NOW,
    collect_pages,
    conversation,
    message,
    seed,
    user,
)

# ---- conversations and feedback -----------------------------------------------------


async def test_conversation_is_visible_to_its_owner_within_its_dealership(
    uow: UnitOfWorkFactory,
) -> None:
    d, u = await seed(uow)
    other, _ = await seed(uow)
    c = conversation(d, u)
    async with uow() as work:
        await work.conversations.add(c)
        assert await work.conversations.touch_open(c.id, NOW + timedelta(minutes=1))
        await work.commit()
    touched = msgspec.structs.replace(c, updated_at=NOW + timedelta(minutes=1))
    async with uow() as work:
        assert await work.conversations.get(c.id, dealership_id=d.id, user_id=u.id) == touched
        assert await work.conversations.get(c.id, dealership_id=d.id, user_id=None) == touched
        assert await work.conversations.get(c.id, dealership_id=d.id, user_id=uuid4()) is None
        assert await work.conversations.get(c.id, dealership_id=other.id, user_id=None) is None
        with pytest.raises(NotFound):
            await work.conversations.touch_open(uuid4(), NOW)


async def test_conversations_list_per_user_over_pages(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    someone_else = user(d.id)
    mine = [conversation(d, u, NOW + timedelta(seconds=i // 2)) for i in range(5)]
    async with uow() as work:
        await work.users.add(someone_else)
        await work.conversations.add(conversation(d, someone_else))
        for c in mine:
            await work.conversations.add(c)
        await work.commit()

        async def fetch(cursor: Cursor | None, limit: int) -> list[Conversation]:
            return await work.conversations.list_page(
                dealership_id=d.id, user_id=u.id, cursor=cursor, limit=limit
            )

        seen = await collect_pages(fetch, 2, lambda c: Cursor(created_at=c.created_at, id=c.id))
        newest = await collect_pages(
            fetch, 2, lambda c: cursor_after(c, newest_first=True), start=Cursor.newest()
        )
    assert seen == sorted(mine, key=lambda c: (c.created_at, c.id))
    assert newest == sorted(mine, key=lambda c: (c.created_at, c.id), reverse=True)


async def test_messages_keep_creation_order_with_sources(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    c = conversation(d, u)
    # The same instant for a question and its answer: order of storing decides.
    history = [
        message(c.id, f"turn {i}", MessageRole.USER if i % 2 == 0 else MessageRole.ASSISTANT, at)
        for i, at in enumerate([NOW, NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=1)])
    ]
    async with uow() as work:
        await work.conversations.add(c)
        for m in history:
            await work.conversations.add_message(m)
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.conversations.messages(c.id) == history
        assert await work.conversations.messages(c.id, last=3) == history[1:]
        assert await work.conversations.messages(uuid4()) == []


async def test_a_message_is_found_by_id_only_within_its_conversations_scope(
    uow: UnitOfWorkFactory,
) -> None:
    d, u = await seed(uow)
    other, _ = await seed(uow)
    colleague = user(d.id)
    mine, theirs = conversation(d, u), conversation(d, colleague)
    question = message(mine.id, "What is GAP?", MessageRole.USER, NOW)
    answer = message(mine.id, "It pays the gap [1].", MessageRole.ASSISTANT, NOW)
    elsewhere = message(theirs.id, "Hello", MessageRole.USER, NOW)
    async with uow() as work:
        await work.users.add(colleague)
        for c in (mine, theirs):
            await work.conversations.add(c)
        for m in (question, answer, elsewhere):
            await work.conversations.add_message(m)
        await work.commit()
    async with uow(read_only=True) as work:
        find = work.conversations.get_message
        assert await find(answer.id, dealership_id=d.id, user_id=u.id) == answer, "sources too"
        assert await find(question.id, dealership_id=d.id, user_id=u.id) == question
        assert await find(answer.id, dealership_id=d.id, user_id=None) == answer
        assert await find(elsewhere.id, dealership_id=d.id, user_id=u.id) is None
        assert await find(elsewhere.id, dealership_id=d.id, user_id=colleague.id) == elsewhere
        assert await find(answer.id, dealership_id=other.id, user_id=None) is None
        assert await find(answer.id, dealership_id=other.id, user_id=u.id) is None
        assert await find(uuid4(), dealership_id=d.id, user_id=u.id) is None


def rating(
    c: Conversation, answer: Message, u: User, value: FeedbackRating, at: datetime
) -> MessageFeedback:
    return MessageFeedback(
        id=uuid4(),
        message_id=answer.id,
        conversation_id=c.id,
        dealership_id=c.dealership_id,
        user_id=u.id,
        rating=value,
        reason="cites the wrong product" if value is FeedbackRating.DOWN else None,
        created_at=at,
        updated_at=at,
    )


async def test_feedback_is_listed_per_dealership(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    c = conversation(d, u)
    answers = [
        message(c.id, f"Offer GAP as protection ({i}).", MessageRole.ASSISTANT, NOW)
        for i in range(3)
    ]
    ratings = [
        rating(c, answer, u, FeedbackRating.DOWN if i else FeedbackRating.UP, NOW + timedelta(i))
        for i, answer in enumerate(answers)
    ]
    async with uow() as work:
        await work.conversations.add(c)
        for answer in answers:
            await work.conversations.add_message(answer)
        for f in ratings:
            assert await work.feedback.rate(f) == f
        await work.commit()
    async with uow() as work:
        first = await work.feedback.list_page(dealership_id=d.id, cursor=None, limit=2)
        rest = await work.feedback.list_page(
            dealership_id=d.id,
            cursor=Cursor(created_at=first[-1].created_at, id=first[-1].id),
            limit=2,
        )
        with pytest.raises(NotFound):
            await work.feedback.rate(
                msgspec.structs.replace(ratings[0], id=uuid4(), message_id=uuid4())
            )
    assert first + rest == ratings


async def test_rating_a_message_again_replaces_the_users_rating_in_place(
    uow: UnitOfWorkFactory,
) -> None:
    d, u = await seed(uow)
    colleague = user(d.id)
    c = conversation(d, u)
    answer = message(c.id, "Offer GAP as protection.", MessageRole.ASSISTANT, NOW)
    up = rating(c, answer, u, FeedbackRating.UP, NOW)
    down = rating(c, answer, u, FeedbackRating.DOWN, NOW + timedelta(minutes=1))
    theirs = rating(c, answer, colleague, FeedbackRating.UP, NOW + timedelta(minutes=2))
    async with uow() as work:
        await work.users.add(colleague)
        await work.conversations.add(c)
        await work.conversations.add_message(answer)
        assert await work.feedback.rate(up) == up
        await work.commit()
    async with uow() as work:
        replaced = await work.feedback.rate(down)
        assert await work.feedback.rate(theirs) == theirs
        await work.commit()
    assert replaced == msgspec.structs.replace(
        up, rating=FeedbackRating.DOWN, reason=down.reason, updated_at=down.updated_at
    )
    async with uow() as work:
        listed = await work.feedback.list_page(dealership_id=d.id, cursor=None, limit=10)
    assert listed == [replaced, theirs]

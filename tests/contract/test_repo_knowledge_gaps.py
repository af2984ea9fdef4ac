"""Contract of the knowledge-gap repository, run against every adapter: one question per
reply (the first reason stands), reasons changed and removed, pending questions and the
dealerships that have them, gaps with their centroids, and the admins' list (the
window, the order by count, the keyset, tenancy) and resolve.

Fixtures are in `conftest.py`, builders in `builders.py`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID, uuid4

import asyncpg
import msgspec

from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.adapters.system import UuidGenerator
from avataradam.domain.model import Dealership, MessageRole, User
from avataradam.domain.model.knowledge_gaps import (
    GapCentroid,
    GapCursor,
    GapQuestion,
    GapReason,
    GapStatus,
)
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.usecases.knowledge_gaps import GroupKnowledgeGaps
from tests.contract.builders import NOW, conversation, message, seed
from tests.support.fakes import ManualClock


async def _questions(
    uow: UnitOfWorkFactory, d: Dealership, u: User, texts: list[str]
) -> list[GapQuestion]:
    """One reply per text, each with its gap question asked a minute after the last."""
    c = conversation(d, u)
    found: list[GapQuestion] = []
    async with uow() as work:
        await work.conversations.add(c)
        for n, text in enumerate(texts):
            at = NOW + timedelta(minutes=n)
            reply = message(c.id, "I found nothing.", MessageRole.ASSISTANT, at)
            await work.conversations.add_message(reply)
            question = GapQuestion(
                message_id=reply.id,
                dealership_id=d.id,
                conversation_id=c.id,
                user_id=u.id,
                question=text,
                language="es" if text.startswith("¿") else "en",
                reason=GapReason.NO_MATERIAL,
                top_score=0.25,
                asked_at=at,
            )
            assert await work.knowledge_gaps.add_question(question)
            found.append(question)
        await work.commit()
    return found


async def _gap(uow: UnitOfWorkFactory, d: Dealership, questions: list[GapQuestion]) -> UUID:
    """A gap holding `questions`, each grouped by the vector (1, 0)."""
    gap = GapCentroid(id=uuid4(), title=questions[0].question, centroid=(1.0, 0.0), member_count=1)
    async with uow() as work:
        await work.knowledge_gaps.lock_dealership(d.id)
        await work.knowledge_gaps.create_gap(
            gap, dealership_id=d.id, embedding_model="m", created_at=NOW
        )
        for question in questions:
            await work.knowledge_gaps.assign(
                question.message_id, gap_id=gap.id, embedding=(1.0, 0.0), embedding_model="m"
            )
        await work.commit()
    return gap.id


async def test_one_question_per_reply_whose_reason_changes_or_goes(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    [question] = await _questions(uow, d, u, ["Does GAP cover my deductible?"])
    async with uow() as work:
        again = msgspec.structs.replace(question, reason=GapReason.THUMBS_DOWN)
        assert await work.knowledge_gaps.add_question(again) is False
        first = await work.knowledge_gaps.question_reason(question.message_id)
        assert first is GapReason.NO_MATERIAL
        await work.knowledge_gaps.set_reason(question.message_id, GapReason.REPORTED_INACCURATE)
        await work.commit()
    async with uow(read_only=True) as work:
        reason = await work.knowledge_gaps.question_reason(question.message_id)
        assert reason is GapReason.REPORTED_INACCURATE
    async with uow() as work:
        await work.knowledge_gaps.remove_question(question.message_id)
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.knowledge_gaps.question_reason(question.message_id) is None


async def test_pending_questions_are_those_of_no_gap_oldest_first(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    first, second, third = await _questions(uow, d, u, ["one?", "two?", "three?"])
    gap_id = await _gap(uow, d, [second])
    async with uow() as work:
        pending = await work.knowledge_gaps.pending(d.id, limit=10)
        assert [p.message_id for p in pending] == [first.message_id, third.message_id]
        assert [p.question for p in await work.knowledge_gaps.pending(d.id, limit=1)] == ["one?"]
        waiting = await work.knowledge_gaps.dealerships_pending(
            asked_before=NOW + timedelta(seconds=30), limit=1000
        )
        assert d.id in waiting
        later = await work.knowledge_gaps.dealerships_pending(asked_before=NOW, limit=1000)
        assert d.id not in later, "asked at NOW, not before it"
        [centroid] = await work.knowledge_gaps.centroids(d.id, "m")
        assert (centroid.id, centroid.centroid, centroid.member_count) == (gap_id, (1.0, 0.0), 1)
        assert await work.knowledge_gaps.centroids(d.id, "another model") == []
        await work.knowledge_gaps.update_gap(
            msgspec.structs.replace(
                centroid, title="two, again?", centroid=(2.0, 0.5), member_count=2
            )
        )
        await work.commit()
    async with uow(read_only=True) as work:
        [updated] = await work.knowledge_gaps.centroids(d.id, "m")
        assert (updated.title, updated.centroid, updated.member_count) == (
            "two, again?",
            (2.0, 0.5),
            2,
        )
        assert await work.knowledge_gaps.members(gap_id, limit=5) == [("two?", (1.0, 0.0))]


async def test_the_list_counts_the_window_by_count_pages_and_keeps_to_its_dealership(
    uow: UnitOfWorkFactory,
) -> None:
    d, u = await seed(uow)
    other, other_user = await seed(uow)
    asked = await _questions(uow, d, u, ["a?", "a?", "b?", "c?", "c?", "c?"])
    big, small, middle = (
        await _gap(uow, d, asked[3:]),
        await _gap(uow, d, asked[2:3]),
        await _gap(uow, d, asked[:2]),
    )
    await _gap(uow, other, await _questions(uow, other, other_user, ["a?"]))
    end = NOW + timedelta(days=1)
    async with uow(read_only=True) as work:
        gaps = work.knowledge_gaps
        listed = await gaps.list_gaps(d.id, start=NOW, end=end, status=None, cursor=None, limit=10)
        assert [(g.id, g.count) for g in listed] == [(big, 3), (middle, 2), (small, 1)]
        assert listed[0].examples == ("c?",), "distinct"
        assert listed[1].reasons.no_material == 2
        assert (listed[0].first_asked_at, listed[0].last_asked_at) == (
            NOW + timedelta(minutes=3),
            NOW + timedelta(minutes=5),
        )
        after = await gaps.list_gaps(
            d.id,
            start=NOW,
            end=end,
            status=None,
            cursor=GapCursor(count=listed[0].count, id=listed[0].id),
            limit=1,
        )
        assert [g.id for g in after] == [middle]
        window = await gaps.list_gaps(
            d.id,
            start=NOW + timedelta(minutes=1),
            end=NOW + timedelta(minutes=4),
            status=None,
            cursor=None,
            limit=10,
        )
        ties = sorted([middle, small, big], reverse=True)  # one each: by id, descending
        assert [(g.id, g.count) for g in window] == [(gap, 1) for gap in ties]
        assert (
            await gaps.list_gaps(
                d.id, start=NOW, end=end, status=GapStatus.RESOLVED, cursor=None, limit=10
            )
            == []
        )
        assert await gaps.get_gap(big, other.id) is None


async def test_resolving_is_the_dealerships_own_and_a_later_question_recurs(
    uow: UnitOfWorkFactory,
) -> None:
    d, u = await seed(uow)
    other, _ = await seed(uow)
    first, later = await _questions(uow, d, u, ["a?", "a, later?"])
    gap_id = await _gap(uow, d, [first, later])
    async with uow() as work:
        gaps = work.knowledge_gaps
        assert not await gaps.resolve(gap_id, other.id, by=u.id, at=NOW, note=None)
        resolved_at = NOW + timedelta(seconds=30)  # between the two questions
        assert await gaps.resolve(gap_id, d.id, by=u.id, at=resolved_at, note="Uploaded it")
        await work.commit()
    async with uow(read_only=True) as work:
        gap = await work.knowledge_gaps.get_gap(gap_id, d.id)
        assert gap is not None
        assert (gap.status, gap.resolved_at, gap.resolved_by, gap.resolve_note) == (
            GapStatus.RESOLVED,
            resolved_at,
            u.id,
            "Uploaded it",
        )
        assert (gap.count, gap.recurred) == (2, True)


async def test_a_question_replaced_while_a_grouping_runs_is_counted_in_no_gap_it_left(
    postgres_database: PostgresDatabase, contract_database_url: str
) -> None:
    """PostgreSQL only (the race needs two sessions): a request removes a pending question
    and records its message again with other words while a grouping runs. The grouping
    must neither count the removed question in a gap nor give the new words the old
    words' gap: it waits for the request (its pending rows are locked), then skips the
    row that went, and the next run groups the new words on their own."""
    uow = PostgresUnitOfWorkFactory(postgres_database)
    d, u = await seed(uow)
    [question] = await _questions(uow, d, u, ["Is tire and wheel protection optional?"])
    group = GroupKnowledgeGaps(
        uow, HashingEmbedder(), ManualClock(NOW), UuidGenerator(), threshold=0.95
    )
    replaced = msgspec.structs.replace(question, question="How much is a key fob?")
    async with uow() as request:
        await request.knowledge_gaps.remove_question(question.message_id)
        await request.knowledge_gaps.add_question(replaced)
        grouping = asyncio.create_task(group(d.id))
        watcher = await asyncpg.connect(contract_database_url)
        try:
            for _ in range(200):  # the grouping waits on the request's row lock
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
                if waiting or grouping.done():
                    break
                await asyncio.sleep(0.05)
        finally:
            await watcher.close()
        assert waiting, "the grouping waited for the request"
        await request.commit()
    assert await grouping == 0, "the removed question is grouped by no run"
    assert await group(d.id) == 1, "the new words are grouped by the next run"
    async with uow(read_only=True) as work:
        [gap] = await work.knowledge_gaps.centroids(d.id, HashingEmbedder().model_name)
        members = await work.knowledge_gaps.members(gap.id, limit=5)
    assert (gap.title, gap.member_count) == ("How much is a key fob?", 1)
    assert [text for text, _ in members] == ["How much is a key fob?"]

"""Grouping knowledge-gap questions on real PostgreSQL: concurrent runs for one
dealership (two workers) group each question once and open each gap once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from avataradam.domain.model.knowledge_gaps import GapQuestion, GapReason
from avataradam.entrypoints.container import Container
from tests.integration.conftest import Tenant

QUESTIONS = [
    "How much does a key fob replacement cost?",
    "how much does a KEY FOB replacement cost",
    "¿Cuánto dura la protección de pintura?",
    "What wax keeps the paint shiny?",
]


async def test_concurrent_groupings_open_each_gap_once_and_group_each_question_once(
    client: httpx.AsyncClient, container: Container, tenant: Tenant, pg_pool: asyncpg.Pool
) -> None:
    dealership = uuid.UUID(tenant.dealership_id)
    started = await client.post(
        "/v1/conversations", json={"mode": "training"}, headers=tenant.user.headers
    )
    conversation = uuid.UUID(started.json()["id"])
    asked = datetime.now(UTC)
    async with container.uow() as uow:
        for n, question in enumerate(QUESTIONS * 5):
            reply = await client.post(
                f"/v1/conversations/{conversation}/messages",
                json={"content": f"Question {n}"},
                headers=tenant.user.headers,
            )
            message_id = uuid.UUID(reply.json()["id"])
            await uow.knowledge_gaps.remove_question(message_id)  # the chat's own record
            await uow.knowledge_gaps.add_question(
                GapQuestion(
                    message_id=message_id,
                    dealership_id=dealership,
                    conversation_id=conversation,
                    user_id=uuid.UUID(tenant.user.id),
                    question=question,
                    language="en",
                    reason=GapReason.NO_MATERIAL,
                    top_score=None,
                    asked_at=asked + timedelta(milliseconds=n),
                )
            )
        await uow.commit()

    runs = await asyncio.gather(*(container.knowledge_gaps.group(dealership) for _ in range(3)))

    assert sum(runs) <= 20, "no question grouped twice"  # a session worker may group some
    rows = await pg_pool.fetch(
        "SELECT q.question, q.gap_id, g.member_count FROM knowledge_gap_questions q"
        " JOIN knowledge_gaps g ON g.id = q.gap_id WHERE q.dealership_id = $1",
        dealership,
    )
    assert len(rows) == 20, "every question grouped"
    # Each gap counts exactly the questions assigned to it: a question grouped twice (two
    # runs both taking it) would count in two gaps, or twice in one.
    assigned = Counter(row["gap_id"] for row in rows)
    members = {row["gap_id"]: row["member_count"] for row in rows}
    assert members == dict(assigned), "each question counted into its gap once"
    # Which gap a question joins depends on the order the runs (and a session worker's)
    # take them in; the same words always find a gap of their own words.
    gap_of: dict[str, set[uuid.UUID]] = {}
    for row in rows:
        gap_of.setdefault(row["question"], set()).add(row["gap_id"])
    assert gap_of[QUESTIONS[0]] & gap_of[QUESTIONS[1]], "the same words share a gap"
    assert len(assigned) < len(rows), "repeated questions join gaps rather than open them"

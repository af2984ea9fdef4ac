"""Contract of the analytics repository, run against every adapter: the PostgreSQL one
reads the rollups its triggers keep, the in-memory twin sums the raw rows; both answer
the same numbers for the same history.

Fixtures are in `conftest.py`, builders in `builders.py`. NOW (2025-01-01) is a Wednesday.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import msgspec

from avataradam.domain.model import (
    ConversationMode,
    FeedbackRating,
    MessageFeedback,
    MessageRole,
)
from avataradam.domain.model.analytics import (
    ActivityTotals,
    CriterionCount,
    FeedbackCounts,
    QuestionCount,
)
from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.training.rubrics import RubricRef
from avataradam.domain.training.scorecard import CriterionResult, Scorecard, ScorerRef, Verdict
from tests.contract.builders import NOW, conversation, message, seed

DAY = NOW.date()
MONDAY = date(2024, 12, 30)


def _card(overall: int, *, discovery: Verdict, compliance: Verdict) -> Scorecard:
    return Scorecard(
        overall=overall,
        passed=overall >= 70 and compliance == "met",
        blockers_failed=() if compliance == "met" else ("compliance",),
        criteria=(
            CriterionResult(id="discovery", title="Discovery", verdict=discovery, score=0,
                            checks=()),
            CriterionResult(id="compliance", title="Compliance", verdict=compliance, score=0,
                            checks=(), blocker=True),
            CriterionResult(id="menu", title="Menu", verdict="not_applicable", score=0, checks=()),
        ),
        keep=(),
        start=(),
        stop=(),
        rubric=RubricRef(id="fi-office", version=1),
        scorer=ScorerRef(kind="rules"),
    )  # fmt: skip


async def test_both_adapters_sum_the_same_history(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    scored = [conversation(d, u), conversation(d, u, NOW + timedelta(hours=1))]
    still_open = conversation(d, u, NOW + timedelta(hours=2))
    training = msgspec.structs.replace(
        conversation(d, u, NOW + timedelta(days=7)), mode=ConversationMode.TRAINING
    )
    answer = message(
        training.id, "Lead with the payment.", MessageRole.ASSISTANT, training.created_at
    )
    async with uow() as work:
        for c in (*scored, still_open, training):
            await work.conversations.add(c)
        for c, body in zip(
            scored,
            (
                _card(80, discovery="met", compliance="met"),
                _card(40, discovery="partly", compliance="missed"),
            ),
            strict=True,
        ):
            await work.conversations.complete(c.id, c.created_at + timedelta(minutes=10))
            pending = StoredScorecard(
                conversation_id=c.id,
                dealership_id=d.id,
                user_id=u.id,
                status=ScorecardStatus.PENDING,
                rubric_id="fi-office",
                rubric_version=1,
                scorer_kind="rules",
                created_at=c.created_at + timedelta(minutes=10),
                updated_at=c.created_at,
            )
            await work.scorecards.add(pending)
            await work.scorecards.update(pending.scored(body, now=NOW))
        for text in ("How do I sell GAP?", "  how do i sell gap ", "What is VSC"):
            await work.conversations.add_message(
                message(training.id, text, MessageRole.USER, training.created_at)
            )
        await work.conversations.add_message(answer)
        await work.feedback.rate(
            MessageFeedback(
                id=uuid4(),
                message_id=answer.id,
                conversation_id=training.id,
                dealership_id=d.id,
                user_id=u.id,
                rating=FeedbackRating.DOWN,
                reason="Out of date.",
                created_at=training.created_at,
                updated_at=training.created_at,
            )
        )
        await work.commit()

    end = DAY + timedelta(days=10)
    async with uow(read_only=True) as work:
        read = work.analytics
        totals = await read.totals(dealership_id=d.id, start=DAY, end=end)
        weeks = await read.weeks(dealership_id=d.id, start=DAY, end=end)
        criteria = await read.criteria(dealership_id=d.id, start=DAY, end=end)
        questions = await read.top_questions(dealership_id=d.id, start=DAY, end=end, limit=1)
        feedback = await read.feedback(dealership_id=d.id, start=DAY, end=end)
        sessions = await read.sessions(
            dealership_id=d.id, user_id=u.id, start=DAY, end=end, limit=2
        )
        ranks = await read.ranks(dealership_id=d.id, start=DAY, end=end)
        trend = await read.user_criteria(dealership_id=d.id, user_id=u.id, start=DAY, end=end)
        later = await read.totals(dealership_id=d.id, start=DAY + timedelta(days=1), end=end)
    assert totals == ActivityTotals(
        active_users=1, conversations=4, sessions_started=3, sessions_completed=2, scored=2,
        score_sum=120, passed=1,
    )  # fmt: skip
    assert [(w.week, w.sessions_started, w.scored) for w in weeks] == [
        (MONDAY, 3, 2),
        (MONDAY + timedelta(days=7), 0, 0),  # the training conversation's week
    ]
    assert sorted(criteria, key=lambda c: c.criterion_id) == [
        CriterionCount(rubric_id="fi-office", criterion_id="compliance", title="Compliance",
                       blocker=True, met=1, total=2),
        CriterionCount(rubric_id="fi-office", criterion_id="discovery", title="Discovery",
                       blocker=False, met=1, total=2),
    ]  # fmt: skip
    assert questions == [QuestionCount(question="how do i sell gap", asked=2)]
    assert feedback == FeedbackCounts(up=0, down=1, inaccurate=1)
    assert [s.conversation_id for s in sessions] == [still_open.id, scored[1].id]
    assert [(s.status, s.overall, s.passed) for s in sessions] == [
        (None, None, None),
        ("scored", 40, False),
    ]
    assert [(r.user_id, r.sessions, r.score_sum, r.best_score, r.passed) for r in ranks] == [
        (u.id, 2, 120, 80, 1)
    ]
    assert {(c.week, c.criterion_id, c.met, c.total) for c in trend} == {
        (MONDAY, "compliance", 1, 2),
        (MONDAY, "discovery", 1, 2),
    }
    assert (later.conversations, later.scored) == (1, 0)


async def test_the_leaderboard_setting_round_trips(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    assert not d.leaderboard_enabled
    async with uow() as work:
        await work.dealerships.update(msgspec.structs.replace(d, leaderboard_enabled=True))
        await work.commit()
    async with uow(read_only=True) as work:
        stored = await work.dealerships.get(d.id)
    assert stored is not None
    assert stored.leaderboard_enabled

"""Contract of the assignment repository, run against every adapter: assignees, progress
derived from the scorecards of the sessions started with the assignment, completions
and overdue reminders each recorded once, paging, and deletion.

The instants are in 2025 (builders' NOW): the shared database's other assignments
(integration tests, due in the real future) are never due for these reminders.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import msgspec

from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain.model import Conversation, Dealership, User
from avataradam.domain.model.assignments import AssigneeProgress, Assignment
from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard
from avataradam.domain.pagination import Cursor, cursor_after
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.training.rubrics import RubricRef
from avataradam.domain.training.scorecard import Scorecard, ScorerRef
from tests.contract.builders import NOW, collect_pages, conversation, seed, user

DUE = NOW + timedelta(days=7)


def assignment(d: Dealership, by: User, **fields: object) -> Assignment:
    values: dict[str, object] = {
        "id": uuid4(),
        "dealership_id": d.id,
        "scenario_id": "gap_negative_equity",
        "due_at": DUE,
        "min_score": 70,
        "min_attempts": 2,
        "created_by": by.id,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Assignment(**(values | fields))  # type: ignore[arg-type]


def scorecard(
    c: Conversation, status: ScorecardStatus, overall: int, passed: bool
) -> StoredScorecard:
    body = Scorecard(
        overall=overall,
        passed=passed and overall >= 70,
        blockers_failed=() if passed else ("products_optional",),
        criteria=(),
        keep=(),
        start=(),
        stop=(),
        rubric=RubricRef(id="fi-office", version=1),
        scorer=ScorerRef(kind="rules"),
    )
    return StoredScorecard(
        conversation_id=c.id,
        dealership_id=c.dealership_id,
        user_id=c.user_id,
        status=status,
        rubric_id="fi-office",
        rubric_version=1,
        scorer_kind="rules",
        body=body if status is ScorecardStatus.SCORED else None,
        created_at=NOW,
        updated_at=NOW,
        scored_at=NOW if status is ScorecardStatus.SCORED else None,
    )


async def session(
    uow: UnitOfWorkFactory,
    a: Assignment,
    d: Dealership,
    u: User,
    status: ScorecardStatus = ScorecardStatus.SCORED,
    overall: int = 80,
    passed: bool = True,
) -> None:
    c = msgspec.structs.replace(conversation(d, u), assignment_id=a.id)
    async with uow() as work:
        await work.conversations.add(c)
        await work.scorecards.add(scorecard(c, status, overall, passed))
        await work.commit()


async def world(uow: UnitOfWorkFactory) -> tuple[Dealership, User, User, Assignment]:
    d, admin = await seed(uow)
    trainee = user(d.id)
    async with uow() as work:
        await work.users.add(trainee)
        a = assignment(d, admin)
        await work.assignments.add(a, [admin.id, trainee.id])
        await work.commit()
    return d, admin, trainee, a


async def progress_of(uow: UnitOfWorkFactory, a: Assignment, u: User) -> AssigneeProgress:
    async with uow(read_only=True) as work:
        (found,) = await work.assignments.progress([a.id], user_id=u.id)
    return found


async def test_progress_counts_scored_sessions_and_the_best_passing_score(
    uow: UnitOfWorkFactory,
) -> None:
    d, admin, trainee, a = await world(uow)
    await session(uow, a, d, trainee, overall=95, passed=False)
    await session(uow, a, d, trainee, overall=74, passed=True)
    await session(uow, a, d, trainee, status=ScorecardStatus.PENDING)
    await session(uow, a, d, trainee, status=ScorecardStatus.FAILED)
    other = await uow_assignment(uow, d, admin, trainee)
    await session(uow, other, d, trainee, overall=100, passed=True)

    found = await progress_of(uow, a, trainee)
    assert (found.attempts, found.best_score, found.best_passing_score) == (2, 95, 74)
    untouched = await progress_of(uow, a, admin)
    assert (untouched.attempts, untouched.best_score, untouched.completed_at) == (0, None, None)
    async with uow(read_only=True) as work:
        both = await work.assignments.progress([a.id])
        assert [p.user_id for p in both] == sorted([admin.id, trainee.id])


async def uow_assignment(
    uow: UnitOfWorkFactory, d: Dealership, admin: User, *assignees: User
) -> Assignment:
    a = assignment(d, admin)
    async with uow() as work:
        await work.assignments.add(a, [u.id for u in assignees])
        await work.commit()
    return a


async def test_a_completion_is_recorded_once_when_the_bar_is_met(uow: UnitOfWorkFactory) -> None:
    d, _admin, trainee, a = await world(uow)
    await session(uow, a, d, trainee, overall=90)
    async with uow() as work:
        assert await work.assignments.record_completions(a.id, user_ids=None, at=NOW) == []
        await work.commit()
    await session(uow, a, d, trainee, overall=60)
    at = NOW + timedelta(hours=1)
    async with uow() as work:
        (done,) = await work.assignments.record_completions(a.id, user_ids=[trainee.id], at=at)
        await work.commit()
    assert (done.user_id, done.attempts, done.best_passing_score, done.completed_at) == (
        trainee.id,
        2,
        90,
        at,
    )
    async with uow() as work:
        assert await work.assignments.record_completions(a.id, user_ids=None, at=at) == []
        await work.commit()
    assert (await progress_of(uow, a, trainee)).completed_at == at


async def test_a_session_that_failed_a_blocker_never_completes(uow: UnitOfWorkFactory) -> None:
    d, _admin, trainee, a = await world(uow)
    await session(uow, a, d, trainee, overall=99, passed=False)
    await session(uow, a, d, trainee, overall=98, passed=False)
    async with uow() as work:
        assert await work.assignments.record_completions(a.id, user_ids=None, at=NOW) == []


async def test_an_overdue_assignee_is_reminded_once_per_due_date(uow: UnitOfWorkFactory) -> None:
    d, admin, trainee, a = await world(uow)
    await session(uow, a, d, admin, overall=90)
    await session(uow, a, d, admin, overall=91)
    async with uow() as work:
        await work.assignments.record_completions(a.id, user_ids=None, at=NOW)
        await work.commit()
        assert await work.assignments.remind_overdue(now=DUE, limit=1000) == []
    late = DUE + timedelta(seconds=1)
    async with uow() as work:
        taken = await work.assignments.remind_overdue(now=late, limit=1000)
        await work.commit()
    mine = [(x.id, p.user_id) for x, p in taken if x.id == a.id]
    assert mine == [(a.id, trainee.id)]  # the admin is done: no reminder
    async with uow() as work:
        again = await work.assignments.remind_overdue(now=late, limit=1000)
        assert [p for x, p in again if x.id == a.id] == []
        moved = msgspec.structs.replace(a, due_at=late + timedelta(days=1), updated_at=late)
        await work.assignments.update(moved, rearm_overdue=True)
        await work.commit()
    assert (await progress_of(uow, a, trainee)).overdue_notified_at is None
    async with uow() as work:
        later = await work.assignments.remind_overdue(now=late + timedelta(days=2), limit=1000)
        await work.commit()
    assert [p.user_id for x, p in later if x.id == a.id] == [trainee.id]


async def test_members_pages_and_deletion(uow: UnitOfWorkFactory) -> None:
    d, admin, trainee, a = await world(uow)
    retired = msgspec.structs.replace(user(d.id), active=False)
    stranger_dealership, stranger = await seed(uow)
    async with uow() as work:
        await work.users.add(retired)
        members = await work.assignments.active_members(d.id)
        chosen = await work.assignments.active_members(d.id, [trainee.id, retired.id, stranger.id])
        await work.commit()
    assert set(members) == {admin.id, trainee.id}
    assert chosen == [trainee.id]
    second = await uow_assignment(uow, d, admin, admin)

    async def fetch(cursor: Cursor | None, limit: int) -> list[Assignment]:
        async with uow(read_only=True) as work:
            return await work.assignments.list_page(dealership_id=d.id, cursor=cursor, limit=limit)

    pages = await collect_pages(fetch, 1, lambda x: Cursor(created_at=x.created_at, id=x.id))
    assert {x.id for x in pages} == {a.id, second.id}
    newest = await collect_pages(
        fetch, 1, lambda x: cursor_after(x, newest_first=True), start=Cursor.newest()
    )
    assert [x.id for x in newest] == [x.id for x in reversed(pages)]
    async with uow(read_only=True) as work:
        own = await work.assignments.list_page(
            dealership_id=d.id, assignee_id=trainee.id, cursor=None, limit=10
        )
        assert [x.id for x in own] == [a.id]
        assert await work.assignments.get(a.id, dealership_id=stranger_dealership.id) is None

    c = msgspec.structs.replace(conversation(d, trainee), assignment_id=a.id)
    async with uow() as work:
        await work.conversations.add(c)
        assert not await work.assignments.delete(a.id, dealership_id=stranger_dealership.id)
        assert await work.assignments.delete(a.id, dealership_id=d.id)
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.assignments.get(a.id, dealership_id=d.id) is None
        assert await work.assignments.progress([a.id]) == []
        kept = await work.conversations.get(c.id, dealership_id=d.id, user_id=None)
        assert kept is not None
        assert kept.assignment_id is None


async def test_two_transactions_each_storing_one_needed_session_complete_it_once(
    postgres_database: PostgresDatabase,
) -> None:
    """Two scorers store the two sessions the assignment needs at the same moment, each
    recording completions before it commits: exactly one of them completes it, having
    seen both sessions. (Whichever lock makes the second wait, the assignee's row or
    the analytics rollup row both scorecards update, it must read the first's.)"""
    uow = PostgresUnitOfWorkFactory(postgres_database)
    d, _admin, trainee, a = await world(uow)
    sessions = [
        msgspec.structs.replace(conversation(d, trainee), assignment_id=a.id) for _ in range(2)
    ]
    async with uow() as work:
        for c in sessions:
            await work.conversations.add(c)
        await work.commit()
    both_stored = asyncio.Barrier(2)

    async def score(c: Conversation) -> list[AssigneeProgress]:
        async with uow() as work:
            await both_stored.wait()
            await work.scorecards.add(scorecard(c, ScorecardStatus.SCORED, 90, passed=True))
            done = await work.assignments.record_completions(a.id, user_ids=None, at=NOW)
            await work.commit()
            return done

    results = await asyncio.wait_for(asyncio.gather(*(score(c) for c in sessions)), 30)
    completed = [done for result in results for done in result]
    assert [(p.user_id, p.attempts) for p in completed] == [(trainee.id, 2)]

"""Contract of the scorecard repository and of completing a conversation, run against
every adapter: one scorecard per conversation, the body round trip, the lease (claim,
holder-only writes, due listing) and `completed_at`.

Fixtures are in `conftest.py`, builders in `builders.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

import msgspec

from avataradam.domain.model import Conversation
from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.training.rubrics import RubricRef
from avataradam.domain.training.scorecard import (
    CheckResult,
    CriterionResult,
    Evidence,
    Scorecard,
    ScorerRef,
)
from tests.contract.builders import NOW, conversation, seed

LEASE = timedelta(seconds=60)


def pending(c: Conversation, *, due_in: timedelta = timedelta(minutes=5)) -> StoredScorecard:
    return StoredScorecard(
        conversation_id=c.id,
        dealership_id=c.dealership_id,
        user_id=c.user_id,
        status=ScorecardStatus.PENDING,
        rubric_id="fi-office",
        rubric_version=1,
        scorer_kind="rules",
        lease_expires_at=NOW + due_in,
        created_at=NOW,
        updated_at=NOW,
    )


BODY = Scorecard(
    overall=72,
    passed=True,
    blockers_failed=(),
    criteria=(
        CriterionResult(
            id="discovery",
            title="Discovery",
            verdict="met",
            score=100,
            checks=(
                CheckResult(
                    id="asked_mileage",
                    passed=True,
                    evidence=(Evidence(message_id=str(uuid4()), quote="How many miles «a year»?"),),
                ),
                CheckResult(id="n_a", passed=False, applicable=False),
            ),
            advice="Ask first.",
        ),
    ),
    keep=("asked about mileage",),
    start=(),
    stop=(),
    rubric=RubricRef(id="fi-office", version=1),
    scorer=ScorerRef(kind="rules"),
)


async def due(work: UnitOfWork, now: datetime) -> list[UUID]:
    """Ids of the due scorecards (the database is shared: other tests' are there too)."""
    return [x.conversation_id for x in await work.scorecards.list_due(now=now, limit=10_000)]


async def started(uow: UnitOfWorkFactory) -> Conversation:
    d, u = await seed(uow)
    c = conversation(d, u)
    async with uow() as work:
        await work.conversations.add(c)
        await work.commit()
    return c


async def test_one_scorecard_per_conversation_and_completion_once(uow: UnitOfWorkFactory) -> None:
    c = await started(uow)
    async with uow() as work:
        assert await work.conversations.complete(c.id, NOW)
        assert await work.scorecards.add(pending(c))
        await work.commit()
    async with uow() as work:
        assert not await work.conversations.complete(c.id, NOW + LEASE)
        assert not await work.scorecards.add(msgspec.structs.replace(pending(c), rubric_version=2))
        await work.commit()
    async with uow(read_only=True) as work:
        stored = await work.conversations.get(c.id, dealership_id=c.dealership_id, user_id=None)
        card = await work.scorecards.get(c.id)
    assert stored is not None
    assert stored.completed_at == NOW
    assert card == pending(c)


async def test_claim_takes_a_pending_card_once_until_its_lease_lapses(
    uow: UnitOfWorkFactory,
) -> None:
    c = await started(uow)
    async with uow() as work:
        await work.scorecards.add(pending(c))
        await work.commit()
    first, second = uuid4(), uuid4()
    async with uow() as work:
        claimed = await work.scorecards.claim(c.id, token=first, now=NOW, until=NOW + LEASE)
        await work.commit()
    assert claimed is not None
    assert claimed.lease_token == first
    assert claimed.attempts == 1
    async with uow() as work:
        assert await work.scorecards.claim(c.id, token=second, now=NOW, until=NOW + LEASE) is None
        assert c.id not in await due(work, NOW + LEASE / 2)
        lapsed = NOW + LEASE
        assert c.id in await due(work, lapsed)
        taken = await work.scorecards.claim(c.id, token=second, now=lapsed, until=lapsed + LEASE)
        await work.commit()
    assert taken is not None
    assert taken.attempts == 2
    # The first run lost its lease: its answer is not written.
    async with uow() as work:
        assert not await work.scorecards.update_leased(
            claimed.scored(BODY, now=NOW), lease_token=first
        )
        assert await work.scorecards.update_leased(
            taken.scored(BODY, now=lapsed), lease_token=second
        )
        await work.commit()
    async with uow(read_only=True) as work:
        card = await work.scorecards.get(c.id)
    assert card is not None
    assert card.status is ScorecardStatus.SCORED
    assert card.body == BODY
    assert card.scored_at == lapsed
    assert card.lease_token is None
    async with uow() as work:
        assert await work.scorecards.claim(c.id, token=uuid4(), now=lapsed, until=lapsed) is None
        assert c.id not in await due(work, lapsed + LEASE * 10)


async def test_update_writes_failure_and_requeue(uow: UnitOfWorkFactory) -> None:
    c = await started(uow)
    async with uow() as work:
        await work.scorecards.add(pending(c))
        await work.commit()
    async with uow() as work:
        current = await work.scorecards.get_for_update(c.id)
        assert current is not None
        failed = current.failed(code="retries_exhausted", message="embedder down", now=NOW)
        await work.scorecards.update(failed)
        await work.commit()
    async with uow() as work:
        assert await work.scorecards.get(c.id) == failed
        requeued = failed.requeued(
            rubric=RubricRef(id="fi-office", version=2),
            scorer=ScorerRef(kind="rules"),
            now=NOW,
            redrive_after=LEASE,
        )
        await work.scorecards.update(requeued)
        await work.commit()
    async with uow(read_only=True) as work:
        card = await work.scorecards.get(c.id)
    assert card == requeued
    assert card.status is ScorecardStatus.PENDING
    assert card.rubric_version == 2
    assert card.error_code is None

"""Assignments on in-memory adapters with a manual clock: the status derivation, the
rules of creating and reading them, a roleplay started for one, `assignment.completed`
recorded once in the scorer's transaction, the overdue reminder once per due date, and
a lowered bar completing the assignees it lets through."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.system import UuidGenerator
from avataradam.domain.access import Principal
from avataradam.domain.errors import (
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from avataradam.domain.model import ConversationMode, Role
from avataradam.domain.model.assignments import (
    AssigneeProgress,
    Assignment,
    AssignmentStatus,
    AssignmentView,
)
from avataradam.domain.model.events import AssignmentCompleted, AssignmentOverdue
from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard
from avataradam.domain.training.fi_office import FI_OFFICE_V1
from avataradam.domain.training.rubrics import Rubric, RubricRef, RubricRegistry
from avataradam.domain.training.scorecard import Scorecard, ScorerRef, Transcript
from avataradam.domain.usecases.assignment_events import AnnounceAssignmentCompletion
from avataradam.domain.usecases.assignments import (
    AssignmentChanges,
    AssignmentDraft,
    AssignmentUseCases,
)
from avataradam.domain.usecases.conversations.start import NewConversation, StartConversation
from avataradam.domain.usecases.rubric_catalog import RubricCatalog
from avataradam.domain.usecases.scoring_run import ScoreConversation, ScoringRunOptions
from tests.contract.builders import dealership, user
from tests.support.fakes import ManualClock

DAY = timedelta(days=1)


def _assignment(min_score: int = 70, min_attempts: int = 2) -> Assignment:
    now = ManualClock().now()
    return Assignment(
        id=uuid.uuid4(),
        dealership_id=uuid.uuid4(),
        scenario_id="gap_negative_equity",
        due_at=now + DAY,
        min_score=min_score,
        min_attempts=min_attempts,
        created_by=uuid.uuid4(),
        created_at=now,
        updated_at=now,
    )


@pytest.mark.parametrize(
    ("attempts", "best_passing", "completed", "after_due", "expected"),
    [
        (0, None, False, False, AssignmentStatus.OPEN),
        (1, 90, False, False, AssignmentStatus.OPEN),  # one attempt short
        (2, 69, False, False, AssignmentStatus.OPEN),  # below the bar
        (2, None, False, True, AssignmentStatus.OVERDUE),  # none passed its blockers
        (2, 70, False, False, AssignmentStatus.DONE),  # the bar is inclusive
        (3, 95, False, True, AssignmentStatus.DONE),  # late sessions count
        (0, None, True, True, AssignmentStatus.DONE),  # recorded done stays done
        (1, 10, False, True, AssignmentStatus.OVERDUE),
    ],
)
def test_status_is_derived_from_progress_and_the_due_date(
    attempts: int,
    best_passing: int | None,
    completed: bool,
    after_due: bool,
    expected: AssignmentStatus,
) -> None:
    a = _assignment()
    progress = AssigneeProgress(
        assignment_id=a.id,
        user_id=uuid.uuid4(),
        attempts=attempts,
        best_score=best_passing,
        best_passing_score=best_passing,
        completed_at=a.created_at if completed else None,
    )
    now = a.due_at + timedelta(seconds=1) if after_due else a.due_at
    assert progress.status(a, now) is expected


class FixedScorer:
    """Answers the next of `results` ((overall, passed) pairs) for each session."""

    def __init__(self) -> None:
        self.results: list[tuple[int, bool]] = []

    async def score(self, rubric: Rubric, transcript: Transcript) -> Scorecard:  # noqa: ARG002 -- the Scorer port's signature
        overall, passed = self.results.pop(0)
        return Scorecard(
            overall=overall,
            passed=passed and overall >= 70,
            blockers_failed=() if passed else ("no_payment_packing",),
            criteria=(),
            keep=(),
            start=(),
            stop=(),
            rubric=RubricRef(id=rubric.id, version=rubric.version),
            scorer=ScorerRef(kind="rules"),
        )


class World:
    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.uow = InMemoryUnitOfWorkFactory(self.store)
        self.clock = ManualClock()
        self.ids = UuidGenerator()
        self.assignments = AssignmentUseCases(self.uow, self.clock, self.ids)
        self.start = StartConversation(self.uow, self.clock, self.ids)
        self.scorer = FixedScorer()
        self.score = ScoreConversation(
            self.uow,
            {"rules": self.scorer},
            RubricCatalog(RubricRegistry((FI_OFFICE_V1,))),
            self.clock,
            self.ids,
            InMemoryTelemetry(),
            ScoringRunOptions(lease=timedelta(seconds=60)),
            on_scored=AnnounceAssignmentCompletion(self.ids, self.clock),
        )

    async def dealership(self) -> tuple[Principal, Principal, Principal]:
        """(admin, trainee, second trainee) of a new dealership."""
        d = dealership()
        members = [user(d.id) for _ in range(3)]
        async with self.uow() as work:
            await work.dealerships.add(d)
            for member in members:
                await work.users.add(member)
            await work.commit()
        roles = (Role.DEALERSHIP_ADMIN, Role.USER, Role.USER)
        admin, first, second = (
            Principal(user_id=m.id, role=role, dealership_id=d.id)
            for m, role in zip(members, roles, strict=True)
        )
        return admin, first, second

    def draft(self, *assignees: Principal, **fields: object) -> AssignmentDraft:
        values: dict[str, object] = {
            "scenario_id": "gap_negative_equity",
            "assignee_ids": tuple(p.user_id for p in assignees),
            "due_at": self.clock.now() + DAY,
            "min_score": 70,
            "min_attempts": 2,
        }
        return AssignmentDraft(**(values | fields))  # type: ignore[arg-type]

    async def scored_session(
        self, trainee: Principal, assignment_id: uuid.UUID, overall: int, passed: bool = True
    ) -> uuid.UUID:
        started = await self.start(
            trainee,
            NewConversation(mode=ConversationMode.ROLEPLAY, assignment_id=assignment_id),
        )
        conversation = started.value
        now = self.clock.now()
        async with self.uow() as work:
            await work.conversations.complete(conversation.id, now)
            await work.scorecards.add(
                StoredScorecard(
                    conversation_id=conversation.id,
                    dealership_id=conversation.dealership_id,
                    user_id=conversation.user_id,
                    status=ScorecardStatus.PENDING,
                    rubric_id="fi-office",
                    rubric_version=1,
                    scorer_kind="rules",
                    created_at=now,
                    updated_at=now,
                )
            )
            await work.commit()
        self.scorer.results.append((overall, passed))
        assert (await self.score(conversation.id)).status == "scored"
        return conversation.id

    def events(self, kind: type[object]) -> list[object]:
        return [e.message for e in self.store.tables.outbox.values() if isinstance(e.message, kind)]


def statuses(view: AssignmentView) -> dict[uuid.UUID, AssignmentStatus]:
    return {p.user_id: p.status(view.assignment, view.as_of) for p in view.assignees}


async def test_creating_checks_role_due_date_assignees_and_scenario() -> None:
    world = World()
    admin, trainee, _ = await world.dealership()
    stranger_admin, stranger, _ = await world.dealership()
    with pytest.raises(PermissionDenied):
        await world.assignments.create(trainee, world.draft(trainee))
    with pytest.raises(InvalidInput, match="future"):
        await world.assignments.create(admin, world.draft(trainee, due_at=world.clock.now()))
    with pytest.raises(InvalidInput, match=str(stranger.user_id)):
        await world.assignments.create(admin, world.draft(trainee, stranger))
    with pytest.raises(InvalidInput, match="either"):
        await world.assignments.create(admin, world.draft())
    with pytest.raises(InvalidInput, match="either"):
        await world.assignments.create(admin, world.draft(trainee, everyone=True))
    with pytest.raises(NotFound, match="scenario"):
        await world.assignments.create(admin, world.draft(trainee, scenario_id="no_such_thing"))
    assert world.store.tables.assignments == {}
    everyone = await world.assignments.create(stranger_admin, world.draft(everyone=True))
    assert len(everyone.value.assignees) == 3


async def test_a_trainee_reads_only_their_own_progress() -> None:
    world = World()
    admin, trainee, colleague = await world.dealership()
    created = (await world.assignments.create(admin, world.draft(trainee))).value
    mine = await world.assignments.get(trainee, created.id)
    assert [p.user_id for p in mine.assignees] == [trainee.user_id]
    with pytest.raises(NotFound):
        await world.assignments.get(colleague, created.id)
    assert await world.assignments.list(colleague, cursor=None, limit=10) == []
    with pytest.raises(PermissionDenied):
        await world.assignments.list(colleague, user_id=trainee.user_id, cursor=None, limit=10)
    with pytest.raises(NotFound):
        await world.start(
            colleague, NewConversation(mode=ConversationMode.ROLEPLAY, assignment_id=created.id)
        )
    with pytest.raises(InvalidInput, match="scenario"):
        await world.start(
            trainee,
            NewConversation(
                mode=ConversationMode.ROLEPLAY,
                assignment_id=created.id,
                scenario_id="price_focused",
            ),
        )
    with pytest.raises(InvalidInput):
        await world.start(
            trainee, NewConversation(mode=ConversationMode.TRAINING, assignment_id=created.id)
        )


async def test_the_scorecard_that_meets_the_bar_completes_once_in_its_transaction() -> None:
    world = World()
    admin, trainee, colleague = await world.dealership()
    created = (await world.assignments.create(admin, world.draft(trainee, colleague))).value
    await world.scored_session(trainee, created.id, 99, passed=False)  # a blocker failed
    await world.scored_session(trainee, created.id, 65)
    assert world.events(AssignmentCompleted) == []
    last = await world.scored_session(trainee, created.id, 80)
    view = await world.assignments.get(admin, created.id)
    (progress,) = [p for p in view.assignees if p.user_id == trainee.user_id]
    assert (progress.attempts, progress.best_score, progress.best_passing_score) == (3, 99, 80)
    assert statuses(view) == {
        trainee.user_id: AssignmentStatus.DONE,
        colleague.user_id: AssignmentStatus.OPEN,
    }
    (event,) = world.events(AssignmentCompleted)
    assert isinstance(event, AssignmentCompleted)
    assert (event.user_id, event.attempts, event.best_score) == (trainee.user_id, 3, 99)
    conversation = world.store.tables.conversations[last]
    assert (conversation.assignment_id, conversation.scenario_id) == (
        created.id,
        "gap_negative_equity",
    )
    await world.scored_session(trainee, created.id, 100)
    assert len(world.events(AssignmentCompleted)) == 1


async def test_overdue_is_reminded_once_and_again_after_a_new_due_date() -> None:
    world = World()
    admin, trainee, colleague = await world.dealership()
    created = (await world.assignments.create(admin, world.draft(trainee, colleague))).value
    assert await world.assignments.remind_overdue() == []
    world.clock.advance(DAY.total_seconds() + 1)
    assert sorted(await world.assignments.remind_overdue()) == sorted(
        [(created.id, trainee.user_id), (created.id, colleague.user_id)]
    )
    assert await world.assignments.remind_overdue() == []
    assert len(world.events(AssignmentOverdue)) == 2
    view = await world.assignments.get(trainee, created.id)
    assert statuses(view) == {trainee.user_id: AssignmentStatus.OVERDUE}

    await world.assignments.update(
        admin, created.id, AssignmentChanges(due_at=world.clock.now() + DAY)
    )
    assert statuses(await world.assignments.get(trainee, created.id)) == {
        trainee.user_id: AssignmentStatus.OPEN
    }
    world.clock.advance(DAY.total_seconds() + 1)
    assert len(await world.assignments.remind_overdue()) == 2
    with pytest.raises(InvalidInput, match="future"):
        await world.assignments.update(
            admin, created.id, AssignmentChanges(due_at=world.clock.now())
        )


async def test_a_lowered_bar_completes_and_announces_who_now_meets_it() -> None:
    world = World()
    admin, trainee, _ = await world.dealership()
    created = (await world.assignments.create(admin, world.draft(trainee, min_attempts=1))).value
    await world.scored_session(trainee, created.id, 60)
    assert world.events(AssignmentCompleted) == []
    with pytest.raises(PermissionDenied):
        await world.assignments.update(trainee, created.id, AssignmentChanges(min_score=50))
    view = await world.assignments.update(admin, created.id, AssignmentChanges(min_score=50))
    assert statuses(view) == {trainee.user_id: AssignmentStatus.DONE}
    assert len(world.events(AssignmentCompleted)) == 1
    raised = await world.assignments.update(admin, created.id, AssignmentChanges(min_score=90))
    assert statuses(raised) == {trainee.user_id: AssignmentStatus.DONE}  # done stays done
    await world.assignments.delete(admin, created.id)
    with pytest.raises(NotFound):
        await world.assignments.get(admin, created.id)


async def test_a_repeated_creation_with_its_idempotency_key_replays_the_first() -> None:
    world = World()
    admin, trainee, _ = await world.dealership()
    draft = world.draft(trainee)
    first = await world.assignments.create(admin, draft, idempotency_key="assign-1")
    again = await world.assignments.create(admin, draft, idempotency_key="assign-1")
    assert (again.replayed, again.value.id) == (True, first.value.id)
    assert len(world.store.tables.assignments) == 1
    with pytest.raises(IdempotencyKeyReused):
        await world.assignments.create(
            admin, world.draft(trainee, min_score=10), idempotency_key="assign-1"
        )

"""Completing and scoring a roleplay session on in-memory adapters with a manual clock:
one scorecard per session, idempotent scoring under a lease, the re-drive of a crashed
run, failure after the retries, access rules, and the frozen rubric version when the
rubric gets a new one (the built-in registry is code-only, so v2 is registered here)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from avataradam.adapters.llm.sentences import sentence_spans
from avataradam.adapters.memory.queue import InMemoryTaskQueue
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.system import UuidGenerator
from avataradam.domain.access import Principal
from avataradam.domain.errors import NotARoleplay, NotFound, PermissionDenied
from avataradam.domain.model import (
    Conversation,
    ConversationMode,
    Message,
    MessageRole,
    Role,
)
from avataradam.domain.model.events import ConversationScored
from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard
from avataradam.domain.ports.knowledge import EmbedderUnavailable
from avataradam.domain.tasks import SCORE_CONVERSATION
from avataradam.domain.training.fi_office import FI_OFFICE_V1
from avataradam.domain.training.rubrics import Rubric, RubricRegistry
from avataradam.domain.training.rules import RulesScorer
from avataradam.domain.training.scorecard import Scorecard, ScorerRef, Transcript
from avataradam.domain.usecases.documents import TaskDispatcher
from avataradam.domain.usecases.rubric_catalog import RubricCatalog
from avataradam.domain.usecases.scoring import (
    CompleteConversation,
    GetScorecard,
    RescoreConversation,
    ScoringPolicy,
)
from avataradam.domain.usecases.scoring_run import (
    ReconcileScorecards,
    ScoreConversation,
    ScoringRunOptions,
)
from tests.contract.builders import dealership, user
from tests.support.fakes import ManualClock

TRANSCRIPT = Path(__file__).parents[1] / "data" / "transcripts" / "t01_exemplary_vsc_en.json"
LEASE = timedelta(seconds=60)
REDRIVE = timedelta(seconds=300)
FI_OFFICE_V2 = msgspec.structs.replace(
    FI_OFFICE_V1, version=2, criteria=FI_OFFICE_V1.criteria[:1], title="F&I office v2"
)
"""A new version of the rubric: only its first criterion."""


class FlakyScorer:
    """The rules scorer, failing (embedder down) the first `failures` calls; `during`
    runs (once) inside the next call, before it answers: a moment mid-scoring."""

    def __init__(self, failures: int = 0) -> None:
        self.inner = RulesScorer(spans=sentence_spans, embedder=None)
        self.failures = failures
        self.calls = 0
        self.during: list[object] = []

    async def score(self, rubric: Rubric, transcript: Transcript) -> Scorecard:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise EmbedderUnavailable("embedder down")
        while self.during:
            await self.during.pop()  # type: ignore[misc]
        return await self.inner.score(rubric, transcript)


class World:
    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.uow = InMemoryUnitOfWorkFactory(self.store)
        self.clock = ManualClock()
        self.ids = UuidGenerator()
        self.queue = InMemoryTaskQueue()
        self.telemetry = InMemoryTelemetry()
        self.rubrics = RubricRegistry((FI_OFFICE_V1,))
        self.scorer = FlakyScorer()
        policy = ScoringPolicy(scorer=ScorerRef(kind="rules"), redrive_after=REDRIVE)
        dispatcher = TaskDispatcher(self.queue, self.clock, self.ids)
        catalog = RubricCatalog(self.rubrics)  # reads `rubrics` live: tests register v2
        self.complete = CompleteConversation(self.uow, dispatcher, self.clock, catalog, policy)
        self.get = GetScorecard(self.uow)
        self.rescore = RescoreConversation(self.uow, dispatcher, self.clock, catalog, policy)
        self.score = ScoreConversation(
            self.uow,
            {"rules": self.scorer},
            catalog,
            self.clock,
            self.ids,
            self.telemetry,
            ScoringRunOptions(lease=LEASE),
        )
        self.reconcile = ReconcileScorecards(
            self.uow, self.queue, self.clock, redrive_after=REDRIVE
        )

    async def session(
        self, mode: ConversationMode = ConversationMode.ROLEPLAY
    ) -> tuple[Principal, Conversation, list[Message]]:
        d = dealership()
        u = user(d.id)
        now = self.clock.now()
        conversation = Conversation(
            id=uuid.uuid4(),
            dealership_id=d.id,
            user_id=u.id,
            mode=mode,
            scenario="think_about_it_vsc" if mode is ConversationMode.ROLEPLAY else None,
            scenario_id=None,
            created_at=now,
            updated_at=now,
        )
        lines = json.loads(TRANSCRIPT.read_text())["messages"]
        messages = [
            Message(
                id=uuid.uuid4(),
                conversation_id=conversation.id,
                role=MessageRole(line["role"]),
                content=line["text"],
                sources=(),
                created_at=now + timedelta(seconds=n),
            )
            for n, line in enumerate(lines)
        ]
        async with self.uow() as work:
            await work.dealerships.add(d)
            await work.users.add(u)
            await work.conversations.add(conversation)
            for message in messages:
                await work.conversations.add_message(message)
            await work.commit()
        owner = Principal(user_id=u.id, role=Role.USER, dealership_id=d.id)
        return owner, conversation, messages

    async def stored(self, conversation_id: uuid.UUID) -> StoredScorecard:
        async with self.uow(read_only=True) as work:
            card = await work.scorecards.get(conversation_id)
        assert card is not None
        return card

    def events(self) -> list[ConversationScored]:
        return [
            e.message
            for e in self.store.tables.outbox.values()
            if isinstance(e.message, ConversationScored)
        ]


def admin_of(principal: Principal) -> Principal:
    return Principal(
        user_id=uuid.uuid4(), role=Role.DEALERSHIP_ADMIN, dealership_id=principal.dealership_id
    )


async def test_complete_freezes_the_latest_rubric_and_enqueues_once() -> None:
    world = World()
    owner, conversation, _ = await world.session()
    first = await world.complete(owner, conversation.id)
    again = await world.complete(owner, conversation.id)
    assert first == again
    assert first.status is ScorecardStatus.PENDING
    assert (first.rubric_id, first.rubric_version, first.scorer_kind) == ("fi-office", 1, "rules")
    assert [t.payload["conversation_id"] for t in world.queue.take(SCORE_CONVERSATION)] == [
        str(conversation.id)
    ]
    assert len(world.store.tables.scorecards) == 1
    completed = world.store.tables.conversations[conversation.id].completed_at
    assert completed == world.clock.now()


async def test_only_the_owner_completes_and_only_a_roleplay() -> None:
    world = World()
    owner, conversation, _ = await world.session()
    with pytest.raises(NotFound):
        await world.complete(admin_of(owner), conversation.id)
    training_owner, training, _ = await world.session(ConversationMode.TRAINING)
    with pytest.raises(NotARoleplay):
        await world.complete(training_owner, training.id)
    assert world.store.tables.scorecards == {}


async def test_scoring_stores_verified_quotes_once_and_announces_it() -> None:
    world = World()
    owner, conversation, messages = await world.session()
    await world.complete(owner, conversation.id)
    outcome = await world.score(conversation.id)
    assert outcome.status == "scored"
    card = await world.stored(conversation.id)
    assert card.status is ScorecardStatus.SCORED
    assert card.body is not None
    assert card.attempts == 1
    assert card.lease_token is None
    trainee = {str(m.id): m.content for m in messages if m.role is MessageRole.USER}
    quotes = [e for c in card.body.criteria for k in c.checks for e in k.evidence]
    assert quotes, "an exemplary session cites the trainee"
    assert all(e.quote in trainee[e.message_id] for e in quotes)
    # A replayed message or a second delivery does nothing.
    assert (await world.score(conversation.id)).status == "skipped"
    assert await world.stored(conversation.id) == card
    assert world.scorer.calls == 1
    [event] = world.events()
    assert (event.status, event.overall, event.passed) == (
        "scored",
        card.body.overall,
        "true" if card.body.passed else "false",
    )
    assert [o for o, _ in world.telemetry.scorings] == ["scored"]


async def test_a_crashed_run_leaves_it_pending_and_the_reconciler_redrives_it() -> None:
    world = World()
    owner, conversation, _ = await world.session()
    await world.complete(owner, conversation.id)
    world.queue.take(SCORE_CONVERSATION)
    world.scorer.failures = 1
    with pytest.raises(EmbedderUnavailable):
        await world.score(conversation.id, retry_within=timedelta(seconds=30))
    card = await world.stored(conversation.id)
    assert card.status is ScorecardStatus.PENDING
    assert card.lease_token is None
    assert await world.reconcile() == []  # the task's retry comes first
    world.clock.advance(31)
    assert await world.reconcile() == [conversation.id]
    assert len(world.queue.take(SCORE_CONVERSATION)) == 1
    assert await world.reconcile() == []  # released for REDRIVE: not twice
    assert (await world.score(conversation.id)).status == "scored"
    assert (await world.stored(conversation.id)).attempts == 2
    assert len(world.events()) == 1


async def test_a_run_whose_lease_lapsed_writes_nothing() -> None:
    world = World()
    owner, conversation, _ = await world.session()
    await world.complete(owner, conversation.id)
    taken_over: list[str] = []

    async def takeover() -> None:
        world.clock.advance(LEASE.total_seconds() + 1)  # the first run stalled past its lease
        assert await world.reconcile() == [conversation.id]
        taken_over.append((await world.score(conversation.id)).status)

    world.scorer.during.append(takeover())
    assert (await world.score(conversation.id)).status == "superseded"
    assert taken_over == ["scored"]
    assert len(world.events()) == 1
    assert (await world.stored(conversation.id)).attempts == 2


async def test_failure_after_the_retries_keeps_the_error() -> None:
    world = World()
    owner, conversation, _ = await world.session()
    await world.complete(owner, conversation.id)
    world.scorer.failures = 1
    with pytest.raises(EmbedderUnavailable):
        await world.score(conversation.id)
    assert await world.score.fail(conversation.id, code="retries_exhausted", message="down")
    assert not await world.score.fail(conversation.id, code="retries_exhausted", message="down")
    card = await world.stored(conversation.id)
    assert (card.status, card.error_code, card.error_message) == (
        ScorecardStatus.FAILED,
        "retries_exhausted",
        "down",
    )
    assert [(e.status, e.error_code) for e in world.events()] == [("failed", "retries_exhausted")]
    assert (await world.score(conversation.id)).status == "skipped"


async def test_who_reads_and_rescores() -> None:
    world = World()
    owner, conversation, _ = await world.session()
    await world.complete(owner, conversation.id)
    admin = admin_of(owner)
    assert (await world.get(owner, conversation.id)).conversation_id == conversation.id
    assert (await world.get(admin, conversation.id)).conversation_id == conversation.id
    colleague = Principal(user_id=uuid.uuid4(), role=Role.USER, dealership_id=owner.dealership_id)
    stranger, _, _ = await world.session()
    for other in (colleague, stranger, admin_of(stranger)):
        with pytest.raises(NotFound):
            await world.get(other, conversation.id)
    with pytest.raises(PermissionDenied):
        await world.rescore(owner, conversation.id)
    with pytest.raises(NotFound):
        await world.rescore(admin_of(stranger), conversation.id)


async def test_scorecards_keep_their_frozen_version_when_the_rubric_gets_a_new_one() -> None:
    world = World()
    owner, conversation, _ = await world.session()
    await world.complete(owner, conversation.id)
    world.rubrics.register(FI_OFFICE_V2)
    await world.score(conversation.id)
    v1 = await world.stored(conversation.id)
    assert v1.rubric_version == 1
    assert v1.body is not None
    assert v1.body.rubric.version == 1
    assert len(v1.body.criteria) == len(FI_OFFICE_V1.criteria)

    admin = admin_of(owner)
    again = await world.rescore(admin, conversation.id)
    assert (again.status, again.rubric_version) == (ScorecardStatus.PENDING, 1)
    await world.score(conversation.id)
    rescored = await world.stored(conversation.id)
    assert rescored.body is not None
    assert rescored.body.criteria == v1.body.criteria
    assert rescored.body.rubric.version == 1

    latest = await world.rescore(admin, conversation.id, rubric="latest")
    assert latest.rubric_version == 2
    await world.score(conversation.id)
    v2 = await world.stored(conversation.id)
    assert v2.body is not None
    assert v2.body.rubric.version == 2
    assert [c.id for c in v2.body.criteria] == [FI_OFFICE_V1.criteria[0].id]

    # A session completed now freezes v2.
    other_owner, other, _ = await world.session()
    assert (await world.complete(other_owner, other.id)).rubric_version == 2

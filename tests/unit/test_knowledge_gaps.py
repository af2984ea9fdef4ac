"""Knowledge gaps on in-memory adapters: which answers are gaps (recorded with the reply
or the rating), how questions are grouped, and the admins' list and resolve."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from avataradam.adapters.memory.queue import InMemoryTaskQueue
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.system import UuidGenerator
from avataradam.domain.access import Principal
from avataradam.domain.knowledge_gaps import classify_rating, classify_reply, nearest, question_text
from avataradam.domain.model import ConversationMode, FeedbackRating, Role, Topic
from avataradam.domain.model.knowledge_gaps import (
    GapCentroid,
    GapReason,
    GapReasons,
    GapStatus,
    KnowledgeGap,
)
from avataradam.domain.tasks import GROUP_KNOWLEDGE_GAPS
from avataradam.domain.usecases.conversations.start import NewConversation
from avataradam.domain.usecases.knowledge_gap_reports import ListKnowledgeGaps, ResolveKnowledgeGap
from avataradam.domain.usecases.knowledge_gaps import (
    GapRecorder,
    GroupKnowledgeGaps,
    ReconcileKnowledgeGaps,
)
from tests.support.fakes import ManualClock
from tests.unit.test_conversations_usecases import GAP_PASSAGE, ScriptedModel, World


@pytest.mark.parametrize(
    ("training", "material", "grounded", "expected"),
    [
        (True, False, False, GapReason.NO_MATERIAL),
        (True, True, False, GapReason.WEAK_MATERIAL),
        (True, True, True, None),
        (True, True, None, None),
        (False, False, False, None),
        (False, True, False, None),
    ],
)
def test_a_training_reply_is_a_gap_without_material_or_support(
    training: bool, material: bool, grounded: bool | None, expected: GapReason | None
) -> None:
    assert classify_reply(training=training, material=material, grounded=grounded) is expected


def test_a_thumbs_down_is_a_gap_and_with_a_reason_a_report() -> None:
    assert classify_rating(FeedbackRating.DOWN, None) is GapReason.THUMBS_DOWN
    assert classify_rating(FeedbackRating.DOWN, "wrong price") is GapReason.REPORTED_INACCURATE
    assert classify_rating(FeedbackRating.UP, "great") is None


def test_a_stored_question_is_collapsed_and_cut() -> None:
    assert question_text("  Does GAP\n cover   it? ") == "Does GAP cover it?"
    long = question_text("word " * 300)
    assert len(long) == 500
    assert long.endswith("…")


def _gap(*centroid: float) -> GapCentroid:
    return GapCentroid(id=uuid.uuid4(), title="t", centroid=centroid, member_count=1)


def test_a_question_joins_the_most_similar_gap_at_the_threshold_else_none() -> None:
    near, far = _gap(1.0, 0.0), _gap(0.0, 1.0)
    found = nearest((0.9, 0.1), [far, near], threshold=0.9)
    assert found is not None
    assert found[0] is near
    assert found[1] == pytest.approx(0.9939, abs=1e-4)
    assert nearest((0.9, 0.1), [far, near], threshold=0.995) is None
    assert nearest((1.0, 0.0), [], threshold=0.0) is None
    # A centroid is a sum: its length does not matter, only its direction.
    assert nearest((1.0, 0.0), [_gap(5.0, 0.0)], threshold=0.999) is not None


class MapEmbedder:
    """`Embedder` whose vectors the test gives per text (unknown texts: a fresh axis)."""

    model_name = "map"
    dimension = 4

    def __init__(self, vectors: dict[str, tuple[float, ...]]) -> None:
        self.vectors = vectors
        self.calls: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [list(self.vectors[text]) for text in texts]


GROUNDED_REPLY = "GAP pays the loan gap [1]."
"""A reply the citation check supports with `GAP_PASSAGE`."""

QUESTIONS: dict[str, tuple[float, ...]] = {
    "Does GAP cover my deductible?": (1.0, 0.0, 0.0, 0.0),
    "¿Cubre el GAP el deducible?": (0.96, 0.28, 0.0, 0.0),
    "Is the deductible part of GAP?": (0.98, 0.0, 0.2, 0.0),
    "How do I explain negative equity?": (0.0, 0.0, 0.0, 1.0),
}


class GapWorld:
    """The chat (a scripted model saying `reply`; without documents every training
    question is no material), the recorder and the grouping on one in-memory store."""

    def __init__(self, reply: str = "Sure thing [1].") -> None:
        self.queue = InMemoryTaskQueue()
        self.recorder = GapRecorder(self.queue, InMemoryTelemetry())
        self.chat = World(ScriptedModel(words=(reply,)), gaps=self.recorder)
        self.started = datetime.now(UTC)  # the chat stores with the system clock
        self.clock = ManualClock(self.started)
        self.embedder = MapEmbedder(QUESTIONS)
        self.group = GroupKnowledgeGaps(
            self.chat.uow, self.embedder, self.clock, UuidGenerator(), threshold=0.9, batch=2
        )
        self.list = ListKnowledgeGaps(self.chat.uow, self.clock)
        self.resolve = ResolveKnowledgeGap(self.chat.uow, self.clock)

    async def ask(self, trainee: Principal, question: str) -> uuid.UUID:
        conversation = await self.chat.start(
            trainee, NewConversation(mode=ConversationMode.TRAINING)
        )
        done = await self.chat.send(trainee, conversation.id, question)
        return done.message.id

    async def gaps(self, admin: Principal, **kwargs: object) -> list[KnowledgeGap]:
        page = await self.list(admin, **kwargs)  # type: ignore[arg-type]
        return page.items


async def test_a_question_without_material_is_recorded_with_its_reply_and_announced() -> None:
    world = GapWorld()
    dealership = await world.chat.dealership()
    trainee = await world.chat.user(dealership)

    reply_id = await world.ask(trainee, "Does GAP cover my deductible?")

    [row] = world.chat.store.tables.gap_questions.values()
    question = row.question
    assert (question.message_id, question.reason) == (reply_id, GapReason.NO_MATERIAL)
    assert question.question == "Does GAP cover my deductible?"
    assert question.user_id == trainee.user_id
    assert question.top_score is None, "nothing was retrieved"
    assert row.gap_id is None, "grouping is the worker's"
    assert [(t.task, t.payload) for t in world.queue.sent] == [
        (GROUP_KNOWLEDGE_GAPS, {"dealership_id": str(dealership)})
    ]


async def test_an_answer_from_material_is_no_gap_and_roleplay_never_is() -> None:
    world = GapWorld(reply=GROUNDED_REPLY)
    dealership = await world.chat.dealership()
    await world.chat.document(dealership, GAP_PASSAGE, Topic.OBJECTION_HANDLING)
    trainee = await world.chat.user(dealership)

    await world.ask(trainee, "What does GAP pay?")
    roleplay = await world.chat.start(trainee, NewConversation(mode=ConversationMode.ROLEPLAY))
    await world.chat.send(trainee, roleplay.id, "Hello, let me show you GAP.")

    assert world.chat.store.tables.gap_questions == {}
    assert world.queue.sent == []


async def test_an_unsupported_reply_from_material_is_weak_material_with_its_score() -> None:
    world = GapWorld()
    dealership = await world.chat.dealership()
    await world.chat.document(dealership, GAP_PASSAGE, Topic.OBJECTION_HANDLING)
    trainee = await world.chat.user(dealership)

    await world.ask(trainee, "What does GAP pay?")  # the model says "Sure thing [1]."

    [row] = world.chat.store.tables.gap_questions.values()
    assert row.question.reason is GapReason.WEAK_MATERIAL
    assert row.question.top_score is not None
    assert 0 < row.question.top_score <= 1


async def test_ratings_record_change_and_forget_a_gap_but_never_hide_a_retrieval_gap() -> None:
    world = GapWorld(reply=GROUNDED_REPLY)
    dealership = await world.chat.dealership()
    await world.chat.document(dealership, GAP_PASSAGE, Topic.OBJECTION_HANDLING)
    trainee = await world.chat.user(dealership)
    answered = await world.ask(trainee, "What does GAP pay?")

    def reason(message_id: uuid.UUID = answered) -> GapReason | None:
        row = world.chat.store.tables.gap_questions.get(message_id)
        return None if row is None else row.question.reason

    await world.chat.rate(trainee, answered, rating=FeedbackRating.DOWN, reason=None)
    assert reason() is GapReason.THUMBS_DOWN
    assert world.chat.store.tables.gap_questions[answered].question.question == (
        "What does GAP pay?"
    )
    await world.chat.rate(trainee, answered, rating=FeedbackRating.DOWN, reason="Out of date")
    assert reason() is GapReason.REPORTED_INACCURATE
    await world.chat.rate(trainee, answered, rating=FeedbackRating.UP, reason=None)
    assert reason() is None

    other = await world.chat.dealership()
    asker = await world.chat.user(other)
    refused = await world.ask(asker, "Does GAP cover my deductible?")
    assert reason(refused) is GapReason.NO_MATERIAL
    await world.chat.rate(asker, refused, rating=FeedbackRating.UP, reason=None)
    await world.chat.rate(asker, refused, rating=FeedbackRating.DOWN, reason="nothing")
    assert reason(refused) is GapReason.NO_MATERIAL, "the retrieval's reason stands"


async def test_paraphrases_share_a_gap_other_questions_open_their_own_once() -> None:
    world = GapWorld()
    dealership = await world.chat.dealership()
    trainee = await world.chat.user(dealership)
    admin = await world.chat.user(dealership, Role.DEALERSHIP_ADMIN)
    for question in (*QUESTIONS, "Does GAP cover my deductible?"):
        await world.ask(trainee, question)

    assert await world.group(dealership) == 5, "in batches of 2 until none is left"
    assert await world.group(dealership) == 0, "idempotent: each question is grouped once"

    gaps = await world.gaps(admin)
    assert [g.count for g in gaps] == [4, 1]
    deductible, equity = gaps
    assert deductible.reasons == GapReasons(no_material=4)
    assert deductible.title == "Does GAP cover my deductible?", "nearest the centroid"
    assert set(deductible.examples) == {
        "Does GAP cover my deductible?",
        "¿Cubre el GAP el deducible?",
        "Is the deductible part of GAP?",
    }, "distinct examples"
    assert equity.title == "How do I explain negative equity?"
    assert (deductible.status, deductible.recurred) == (GapStatus.OPEN, False)


async def test_a_resolved_gap_asked_again_stays_resolved_and_recurs() -> None:
    world = GapWorld()
    dealership = await world.chat.dealership()
    trainee = await world.chat.user(dealership)
    admin = await world.chat.user(dealership, Role.DEALERSHIP_ADMIN)
    await world.ask(trainee, "Does GAP cover my deductible?")
    await world.group(dealership)
    [gap] = await world.gaps(admin)

    world.clock.current = world.started - timedelta(days=400)  # resolved before any question's time
    resolved = await world.resolve(admin, gap.id, note="  Uploaded the GAP guide  ")
    assert (resolved.status, resolved.resolve_note, resolved.recurred) == (
        GapStatus.RESOLVED,
        "Uploaded the GAP guide",
        True,
    )
    assert resolved.resolved_by == admin.user_id
    world.clock.current = datetime.now(UTC)  # after the question
    again = await world.resolve(admin, gap.id)
    assert again.recurred is False

    await world.ask(trainee, "¿Cubre el GAP el deducible?")
    await world.group(dealership)
    [recurred] = await world.gaps(admin, status=GapStatus.RESOLVED)
    assert (recurred.id, recurred.status, recurred.recurred) == (gap.id, GapStatus.RESOLVED, True)
    assert await world.gaps(admin, status=GapStatus.OPEN) == []


async def test_the_reconciler_re_drives_questions_left_ungrouped() -> None:
    world = GapWorld()
    dealership = await world.chat.dealership()
    trainee = await world.chat.user(dealership)
    await world.ask(trainee, "Does GAP cover my deductible?")
    queue = InMemoryTaskQueue()
    reconcile = ReconcileKnowledgeGaps(world.chat.uow, queue, world.clock, after=timedelta(hours=1))

    world.clock.current = world.started - timedelta(days=365)
    assert await reconcile() == [], "not ungrouped for long enough yet"
    world.clock.current = world.started + timedelta(days=365)
    assert await reconcile() == [dealership]
    assert [t.payload for t in queue.sent] == [{"dealership_id": str(dealership)}]
    world.clock.advance(60)
    assert await reconcile() == [], "re-driven once per hour (`after`) while still pending"
    world.clock.advance(3600)
    assert await reconcile() == [dealership]
    await world.group(dealership)
    world.clock.advance(7200)
    assert await reconcile() == []


async def test_a_queue_outage_loses_no_question() -> None:
    world = GapWorld()
    world.queue.available = False
    dealership = await world.chat.dealership()
    trainee = await world.chat.user(dealership)

    await world.ask(trainee, "Does GAP cover my deductible?")

    assert len(world.chat.store.tables.gap_questions) == 1

"""A roleplay reply and the session's completion, on in-memory adapters (issue 17): a
reply still being written when the session is completed is not stored, nor the
trainee's message, and its stream ends with ConversationCompleted; a reply stored
before the completion is in the transcript, before `completed_at`, and may still be
rated."""

from __future__ import annotations

from datetime import timedelta

import pytest

from avataradam.adapters.memory.queue import InMemoryTaskQueue
from avataradam.adapters.system import SystemClock, UuidGenerator
from avataradam.domain.access import Principal
from avataradam.domain.errors import ConversationCompleted
from avataradam.domain.model import Conversation, ConversationMode, FeedbackRating
from avataradam.domain.tasks import SCORE_CONVERSATION
from avataradam.domain.training.fi_office import FI_OFFICE_V1
from avataradam.domain.training.rubrics import RubricRegistry
from avataradam.domain.training.scorecard import ScorerRef
from avataradam.domain.usecases.conversations.replies import (
    ReplyDelta,
    ReplyEvent,
    ReplyFailed,
    ReplySources,
    ReplyStream,
)
from avataradam.domain.usecases.conversations.start import NewConversation
from avataradam.domain.usecases.documents import TaskDispatcher
from avataradam.domain.usecases.rubric_catalog import RubricCatalog
from avataradam.domain.usecases.scoring import CompleteConversation, ScoringPolicy
from tests.unit.test_conversations_usecases import ScriptedModel, World


class Session:
    """A trainee's roleplay in the chat tests' world, with the completion use case."""

    def __init__(self, model: ScriptedModel) -> None:
        self.world = World(model)
        self.queue = InMemoryTaskQueue()
        clock = SystemClock()
        self.complete = CompleteConversation(
            self.world.uow,
            TaskDispatcher(self.queue, clock, UuidGenerator()),
            clock,
            RubricCatalog(RubricRegistry((FI_OFFICE_V1,))),
            ScoringPolicy(scorer=ScorerRef(kind="rules"), redrive_after=timedelta(minutes=5)),
        )

    async def begin(self) -> tuple[Principal, Conversation]:
        dealership = await self.world.dealership()
        trainee = await self.world.user(dealership)
        conversation = await self.world.start(
            trainee, NewConversation(mode=ConversationMode.ROLEPLAY, scenario="already_covered")
        )
        return trainee, conversation

    async def stored(self, conversation: Conversation) -> Conversation:
        async with self.world.uow(read_only=True) as work:
            found = await work.conversations.get(
                conversation.id, dealership_id=conversation.dealership_id, user_id=None
            )
        assert found is not None
        return found


async def _rest(stream: ReplyStream) -> list[ReplyEvent]:
    return [event async for event in stream]


async def test_a_reply_in_flight_at_completion_is_not_stored_and_ends_the_stream() -> None:
    model = ScriptedModel(words=("Well, ", "I already have coverage."))
    model.release.clear()
    session = Session(model)
    trainee, conversation = await session.begin()

    stream = await session.world.send.start(trainee, conversation.id, "Can I show you GAP?")
    assert await stream.next_event() == ReplyDelta(text="Well, ")
    scorecard = await session.complete(trainee, conversation.id)
    model.release.set()
    rest = await _rest(stream)

    assert [type(e) for e in rest] == [ReplyDelta, ReplySources, ReplyFailed]
    failed = rest[-1]
    assert isinstance(failed, ReplyFailed)
    assert isinstance(failed.error, ConversationCompleted)
    detail = await session.world.get(trainee, conversation.id)
    assert detail.messages == []
    assert session.world.store.tables.usage_records == {}
    assert scorecard.conversation_id == conversation.id
    assert len(session.queue.take(SCORE_CONVERSATION)) == 1
    [(_, fields)] = [e for e in session.world.telemetry.events if e[0] == "chat_failed"]
    assert fields["code"] == "conversation_completed"
    with pytest.raises(ConversationCompleted):
        await session.world.send(trainee, conversation.id, "One more thing.")


async def test_a_reply_stored_before_completion_is_in_the_transcript_before_completed_at() -> None:
    session = Session(ScriptedModel(words=("Well, ", "I already have coverage.")))
    trainee, conversation = await session.begin()

    done = await session.world.send(trainee, conversation.id, "Can I show you GAP?")
    await session.complete(trainee, conversation.id)

    detail = await session.world.get(trainee, conversation.id)
    assert [m.content for m in detail.messages] == [
        "Can I show you GAP?",
        "Well, I already have coverage.",
    ]
    assert detail.messages[-1] == done.message
    completed_at = (await session.stored(conversation)).completed_at
    assert completed_at is not None
    assert all(m.created_at <= completed_at for m in detail.messages)
    # A rating is about an answer, not the transcript: still taken after completion.
    rated = await session.world.rate(
        trainee, done.message.id, rating=FeedbackRating.UP, reason=None
    )
    assert rated.feedback.message_id == done.message.id

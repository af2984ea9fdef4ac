"""Conversation use cases on in-memory adapters: start, read, feedback; and the `World`
the chat tests (test_chat_usecases.py) share."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime

import msgspec
import pytest

from avataradam.adapters.caching.answers import SharedAnswerCache
from avataradam.adapters.caching.retrieval import knowledge_base_retriever
from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.llm.sentences import sentence_spans, sentences
from avataradam.adapters.memory.cache import InMemoryCache
from avataradam.adapters.memory.identity import InMemoryGenerationReader
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex
from avataradam.adapters.system import SystemClock, UuidGenerator
from avataradam.domain.access import Principal
from avataradam.domain.citations import CitationChecker, Sentences, SentenceSpans
from avataradam.domain.errors import IdempotencyKeyReused, InvalidInput, NotFound, PermissionDenied
from avataradam.domain.model import (
    Chunk,
    Conversation,
    ConversationMode,
    Dealership,
    Document,
    DocumentStatus,
    FeedbackRating,
    Role,
    Topic,
    User,
)
from avataradam.domain.ports.knowledge import VectorRecord, vector_id
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import (
    ChatDelta,
    ChatModel,
    ChatModelUnavailable,
    ChatTurn,
    ChatUsage,
    Grounding,
)
from avataradam.domain.usecases.conversations.chat import ChatOptions, SendMessage
from avataradam.domain.usecases.conversations.feedback import ListFeedback, RateMessage
from avataradam.domain.usecases.conversations.start import (
    GetConversation,
    NewConversation,
    StartConversation,
)
from avataradam.domain.usecases.knowledge_gaps import GapRecorder
from avataradam.domain.usecases.search import SearchKnowledgeBase
from avataradam.domain.usecases.usage import UsageBudget
from tests.support.world import answer_cache_options, cache_options, chat_options

NOW = datetime(2025, 3, 1, tzinfo=UTC)


class ScriptedModel:
    """Replies with fixed words; records prompts; can fail or wait for a go signal."""

    name = "scripted"
    generative = True

    def __init__(self, words: Sequence[str] = ("Sure ", "thing [1]."), fail: bool = False) -> None:
        self.words, self.fail = list(words), fail
        self.prompts: list[tuple[ChatTurn, ...]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def stream(
        self,
        turns: Sequence[ChatTurn],
        *,
        max_tokens: int,  # noqa: ARG002 -- the port's signature
        grounding: Grounding | None = None,  # noqa: ARG002 -- the port's signature
        reply_format: object = None,  # noqa: ARG002 -- the port's signature
        temperature: float | None = None,  # noqa: ARG002 -- the port's signature
    ) -> AsyncIterator[ChatDelta]:
        self.prompts.append(tuple(turns))
        for i, word in enumerate(self.words):
            if i == 1:
                await self.release.wait()
            if self.fail:
                raise ChatModelUnavailable("model down")
            yield ChatDelta(text=word)
        yield ChatDelta(text="", usage=ChatUsage(prompt_tokens=50, completion_tokens=2))


SUPPORT_THRESHOLD = 0.5
GAP_PASSAGE = "GAP pays the loan gap."


class World:
    def __init__(
        self,
        model: ChatModel,
        options: ChatOptions | None = None,
        *,
        answer_cache: bool = False,
        budget: Callable[[UnitOfWorkFactory], UsageBudget] | None = None,
        spans: SentenceSpans = sentence_spans,
        split: Sentences = sentences,
        gaps: GapRecorder | None = None,
    ) -> None:
        store = InMemoryStore()
        self.store = store
        self.uow = InMemoryUnitOfWorkFactory(store)
        self.embedder = HashingEmbedder(dimension=64)
        self.index = InMemoryVectorIndex(64)
        self.telemetry = InMemoryTelemetry()
        clock, ids = SystemClock(), UuidGenerator()
        retriever = knowledge_base_retriever(
            self.uow,
            self.embedder,
            self.index,
            cache=InMemoryCache(),
            telemetry=self.telemetry,
            clock=clock,
            options=cache_options(),
        )
        search = SearchKnowledgeBase(
            InMemoryGenerationReader(store), retriever, self.telemetry, clock
        )
        self.start_conversation = StartConversation(
            self.uow, clock, ids, choose=lambda keys: sorted(keys)[0]
        )
        self.get = GetConversation(self.uow)
        citations = CitationChecker(
            spans=spans,
            sentences=split,
            embed=self.embedder.embed,
            threshold=SUPPORT_THRESHOLD,
        )
        answers = (
            SharedAnswerCache(InMemoryCache(), self.telemetry, clock, answer_cache_options())
            if answer_cache
            else None
        )
        self.budget = budget(self.uow) if budget else None
        self.send = SendMessage(
            self.uow,
            search,
            model,
            clock,
            ids,
            self.telemetry,
            citations,
            options or chat_options(),
            answers=answers,
            budget=self.budget,
            gaps=gaps,
        )
        self.rate = RateMessage(self.uow, clock, ids, self.telemetry, gaps)
        self.feedback = ListFeedback(self.uow)

    async def start(self, principal: Principal, new: NewConversation) -> Conversation:
        return (await self.start_conversation(principal, new)).value

    async def dealership(self) -> uuid.UUID:
        dealership_id = uuid.uuid4()
        async with self.uow() as uow:
            await uow.dealerships.add(
                Dealership(
                    id=dealership_id,
                    name="D",
                    active=True,
                    knowledge_base_generation=1,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            await uow.commit()
        return dealership_id

    async def user(self, dealership_id: uuid.UUID, role: Role = Role.USER) -> Principal:
        user_id = uuid.uuid4()
        async with self.uow() as uow:
            await uow.users.add(
                User(
                    id=user_id,
                    email=f"{user_id}@example.com",
                    password_hash="x",
                    role=role,
                    dealership_id=dealership_id,
                    first_name=None,
                    last_name=None,
                    active=True,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            await uow.commit()
        return Principal(user_id=user_id, role=role, dealership_id=dealership_id)

    async def document(self, dealership_id: uuid.UUID, text: str, topic: Topic) -> uuid.UUID:
        document_id = uuid.uuid4()
        chunk = Chunk(
            id=vector_id(document_id, 0),
            document_id=document_id,
            dealership_id=dealership_id,
            index=0,
            text=text,
            topic=topic,
            filename=f"{topic.value}.txt",
        )
        async with self.uow() as uow:
            await uow.documents.add(
                Document(
                    id=document_id,
                    dealership_id=dealership_id,
                    topic=topic,
                    filename=chunk.filename,
                    content_type="text/plain",
                    size_bytes=len(text),
                    sha256=uuid.uuid4().hex,
                    status=DocumentStatus.READY,
                    stage=None,
                    progress=1.0,
                    chunk_count=1,
                    attempts=1,
                    error=None,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            await uow.chunks.replace(document_id, [chunk])
            await uow.commit()
        [vector] = await self.embedder.embed([text])
        await self.index.upsert(
            str(dealership_id),
            [VectorRecord(id=chunk.id, values=vector, document_id=document_id, topic=topic)],
        )
        return document_id


async def test_conversations_of_others_are_not_found() -> None:
    world = World(ScriptedModel())
    dealership = await world.dealership()
    owner = await world.user(dealership)
    conversation = await world.start(owner, NewConversation(mode=ConversationMode.TRAINING))

    for stranger in (await world.user(dealership), await world.user(await world.dealership())):
        with pytest.raises(NotFound):
            await world.get(stranger, conversation.id)
        with pytest.raises(NotFound):
            await world.send(stranger, conversation.id, "hi")


async def test_a_repeated_idempotency_key_replays_the_first_conversation() -> None:
    world = World(ScriptedModel())
    trainee = await world.user(await world.dealership())
    roleplay = NewConversation(mode=ConversationMode.ROLEPLAY)

    first = await world.start_conversation(trainee, roleplay, idempotency_key="k-1")
    again = await world.start_conversation(trainee, roleplay, idempotency_key="k-1")
    other = await world.start_conversation(trainee, roleplay, idempotency_key="k-2")

    assert (first.replayed, again.replayed, other.replayed) == (False, True, False)
    assert again.value == first.value
    assert other.value.id != first.value.id
    with pytest.raises(IdempotencyKeyReused):
        await world.start_conversation(
            trainee, NewConversation(mode=ConversationMode.TRAINING), idempotency_key="k-1"
        )
    stranger = await world.user(await world.dealership())
    theirs = await world.start_conversation(stranger, roleplay, idempotency_key="k-1")
    assert not theirs.replayed, "a key is the caller's own"


async def test_roleplay_without_scenario_picks_a_persona() -> None:
    world = World(ScriptedModel())
    dealership = await world.dealership()

    conversation = await world.start(
        await world.user(dealership), NewConversation(mode=ConversationMode.ROLEPLAY)
    )

    assert conversation.scenario == "already_covered"  # the chooser takes the first key


async def test_feedback_rates_own_assistant_messages_and_admins_read_it_with_context() -> None:
    world = World(ScriptedModel())
    dealership = await world.dealership()
    await world.document(dealership, GAP_PASSAGE, Topic.PRODUCT_KNOWLEDGE)
    trainee = await world.user(dealership)
    conversation = await world.start(trainee, NewConversation(mode=ConversationMode.TRAINING))
    done = await world.send(trainee, conversation.id, "What is GAP?")
    question = (await world.get(trainee, conversation.id)).messages[0]

    rated = await world.rate(trainee, done.message.id, rating=FeedbackRating.DOWN, reason=" off ")

    assert (rated.feedback.reason, rated.replaced) == ("off", False)
    again = await world.rate(trainee, done.message.id, rating=FeedbackRating.UP, reason=None)
    assert again.replaced
    assert again.feedback == msgspec.structs.replace(
        rated.feedback,
        rating=FeedbackRating.UP,
        reason=None,
        updated_at=again.feedback.updated_at,
    )
    with pytest.raises(InvalidInput):
        await world.rate(trainee, question.id, rating=FeedbackRating.UP, reason=None)
    with pytest.raises(NotFound):
        await world.rate(
            await world.user(dealership), done.message.id, rating=FeedbackRating.UP, reason=None
        )
    with pytest.raises(PermissionDenied):
        await world.feedback(trainee, cursor=None, limit=10)
    [report] = await world.feedback(
        await world.user(dealership, Role.DEALERSHIP_ADMIN), cursor=None, limit=10
    )
    assert report.feedback.rating is FeedbackRating.UP, "the latest rating wins"
    assert report.question == "What is GAP?"
    assert report.answer == done.message.content
    assert report.mode is ConversationMode.TRAINING


async def test_text_storage_cannot_hold_is_refused_before_the_model_runs() -> None:
    model = ScriptedModel()
    world = World(model)
    dealership = await world.dealership()
    await world.document(dealership, GAP_PASSAGE, Topic.PRODUCT_KNOWLEDGE)
    trainee = await world.user(dealership)
    conversation = await world.start(trainee, NewConversation(mode=ConversationMode.TRAINING))
    done = await world.send(trainee, conversation.id, "What is GAP?")

    with pytest.raises(InvalidInput) as content:
        await world.send.start(trainee, conversation.id, "GAP\x00?")
    with pytest.raises(InvalidInput) as scenario:
        await world.start(trainee, NewConversation(mode=ConversationMode.TRAINING, scenario="\x00"))
    with pytest.raises(InvalidInput) as reason:
        await world.rate(trainee, done.message.id, rating=FeedbackRating.UP, reason="a\x00b")

    assert [e.value.details["field"] for e in (content, scenario, reason)] == [
        "content",
        "scenario",
        "reason",
    ]
    assert len(model.prompts) == 1
    assert len((await world.get(trainee, conversation.id)).messages) == 2


async def test_a_whitespace_only_message_is_refused_saying_whitespace_does_not_count() -> None:
    world = World(ScriptedModel())
    dealership = await world.dealership()
    trainee = await world.user(dealership)
    conversation = await world.start(trainee, NewConversation(mode=ConversationMode.TRAINING))

    with pytest.raises(InvalidInput) as refused:
        await world.send.start(trainee, conversation.id, "   \n ")

    assert refused.value.details["field"] == "content"
    assert "whitespace" in refused.value.message

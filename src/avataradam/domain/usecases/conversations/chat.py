"""A trainee's message, up to the prompt, in the request.

Chat flow: load server-side history -> retrieve (shared cache) -> prompt for the mode
-> model -> persist both messages. Everything up to the prompt runs in the request, so
a bad conversation id or an unreachable vector store answers with a proper status.
Generation and persistence then run in a task of their own that a reader merely
follows (`generation`): a client that disconnects mid-stream does not stop it, and the
reply is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope
from avataradam.domain.answers import answer_key
from avataradam.domain.citations import CitationChecker
from avataradam.domain.errors import ConversationCompleted, InvalidInput, NotFound
from avataradam.domain.model import (
    Conversation,
    ConversationMode,
    Dealership,
    Message,
    MessageRole,
    Topic,
)
from avataradam.domain.passages import TokenCounter, fit_passages
from avataradam.domain.personas import CustomerPersona
from avataradam.domain.ports.caching import AnswerCache
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import ChatModel, Telemetry
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.prompts import (
    Prompt,
    approximate_tokens,
    roleplay_prompt,
    training_prompt,
)
from avataradam.domain.retrieval import SearchHit, normalise_query
from avataradam.domain.usecases.conversations.generation import ReplyGenerator
from avataradam.domain.usecases.conversations.replies import (
    EXTRACTIVE_NOTICE,
    ModelInfo,
    ReplyDone,
    ReplyStream,
    calls_model,
    source_of,
)
from avataradam.domain.usecases.conversations.start import require_storable
from avataradam.domain.usecases.knowledge_gaps import GapRecorder
from avataradam.domain.usecases.scenario_rules import practised_persona
from avataradam.domain.usecases.search import SearchKnowledgeBase
from avataradam.domain.usecases.usage import UsageBudget
from avataradam.domain.vectors import active_vectors

MAX_MESSAGE_CHARS = 4000
ROLEPLAY_TOPICS = (Topic.OBJECTION_HANDLING, Topic.PRODUCT_KNOWLEDGE)


def relevance_floor(options: ChatOptions, profile: str | None) -> float:
    """The floor for passages of vectors made by `profile` (None: the configured one)."""
    if profile is None:
        return options.min_relevance
    return options.relevance_floors.get(profile.partition(":")[0], options.min_relevance)


class ChatOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Built from Settings (entrypoints/options.py), which hold the defaults."""

    top_k: int
    roleplay_top_k: int
    history_budget_tokens: int
    history_fetch_limit: int
    """Newest messages loaded from storage before the token window is applied."""
    max_reply_tokens: int
    roleplay_max_reply_tokens: int
    min_relevance: float
    """Training: passages less similar than this to the question (the vector store's
    cosine score) are not material; with none left Adam answers `NO_MATERIAL_REPLY`.
    0 or less keeps every retrieved passage, however dissimilar."""
    relevance_floors: dict[str, float] = msgspec.field(default_factory=dict)
    """Unless the floor was set: each embedder's own (scores of two models are not
    comparable), applied to a dealership whose vectors another embedder made than the
    configured one (`min_relevance`'s): during a change of model."""
    passage_budget_tokens: int
    """Training: tokens of passage text the model reads, in whole sentences
    (`passages.fit_passages`); 0 = whole passages."""


class SendMessage:
    """Answers a trainee's message in their conversation; see the module docstring.
    `start` returns as soon as the reply's task runs; `__call__` waits for its end."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        search: SearchKnowledgeBase,
        model: ChatModel,
        clock: Clock,
        ids: IdGenerator,
        telemetry: Telemetry,
        citations: CitationChecker,
        options: ChatOptions,
        count_tokens: TokenCounter = approximate_tokens,
        answers: AnswerCache | None = None,
        budget: UsageBudget | None = None,
        gaps: GapRecorder | None = None,
    ) -> None:
        """`gaps`: records training questions the knowledge base could not answer."""
        self._uow, self._search, self._model = uow, search, model
        self._citations, self._answers, self._budget = citations, answers, budget
        self._clock, self._ids, self._telemetry = clock, ids, telemetry
        self._options = options
        self._count = count_tokens
        self._tasks: set[asyncio.Task[None]] = set()
        self.model_info = ModelInfo(
            name=model.name,
            generative=model.generative,
            notice=None if model.generative else EXTRACTIVE_NOTICE,
        )
        self._generator = ReplyGenerator(
            uow,
            model,
            clock,
            ids,
            telemetry,
            citations,
            count_tokens=count_tokens,
            answers=answers,
            budget=budget,
            model_info=self.model_info,
            gaps=gaps,
        )

    async def start(
        self,
        principal: Principal,
        conversation_id: UUID,
        content: str,
        *,
        dealership_id: UUID | None = None,
    ) -> ReplyStream:
        started = self._clock.monotonic()
        text = content.strip()
        if not text or len(text) > MAX_MESSAGE_CHARS:
            raise InvalidInput(
                f"content must be 1 to {MAX_MESSAGE_CHARS} characters, not counting leading "
                "and trailing whitespace",
                field="content",
            )
        require_storable(text, "content")
        scope = dealership_scope(principal, dealership_id)
        # The primary, not a replica: the history must hold the caller's previous turn
        # and the generation must be current for the retrieval cache key.
        async with self._uow() as uow:
            conversation = await uow.conversations.get(
                conversation_id, dealership_id=scope, user_id=principal.user_id
            )
            if conversation is None:
                raise NotFound("conversation not found")
            if conversation.completed_at is not None:
                raise ConversationCompleted("this roleplay session was completed")
            dealership = await uow.dealerships.get(scope)
            if dealership is None:
                raise NotFound("conversation not found")
            history = await uow.conversations.messages(
                conversation_id, last=self._options.history_fetch_limit
            )
            persona = (
                await practised_persona(uow, conversation)
                if conversation.mode is ConversationMode.ROLEPLAY
                else None
            )
        prompt, hits, cache, max_tokens, top_score = await self._prepare(
            conversation, history, text, dealership, persona
        )
        key = self._answer_key(conversation, history, hits, text, dealership)
        hold = None
        if self._budget is not None and self._model.generative and calls_model(prompt):
            # Refused here, before anything streams: the answer is a plain 429.
            hold = await self._budget.hold(
                dealership, self._generator.estimate(prompt) + max_tokens
            )
        user_message = Message(
            id=self._ids.new_id(),
            conversation_id=conversation.id,
            role=MessageRole.USER,
            content=text,
            sources=(),
            created_at=self._clock.now(),
        )
        stream = ReplyStream(self.model_info)
        task = asyncio.create_task(
            self._generator.run(
                stream,
                conversation=conversation,
                user_message=user_message,
                prompt=prompt,
                sources=tuple(source_of(hit) for hit in hits),
                max_tokens=max_tokens,
                started=started,
                cache=cache,
                answer_key=key,
                hold=hold,
                top_score=top_score,
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return stream

    async def __call__(
        self,
        principal: Principal,
        conversation_id: UUID,
        content: str,
        *,
        dealership_id: UUID | None = None,
    ) -> ReplyDone:
        stream = await self.start(principal, conversation_id, content, dealership_id=dealership_id)
        return await stream.result()

    def _answer_key(
        self,
        conversation: Conversation,
        history: list[Message],
        hits: list[SearchHit],
        text: str,
        dealership: Dealership,
    ) -> str | None:
        """The answer-cache key of a first training question with material, else None."""
        if (
            self._answers is None
            or not self._answers.enabled
            or conversation.mode is not ConversationMode.TRAINING
            or history
            or not hits
        ):
            return None
        options = self._options
        return answer_key(
            dealership_id=conversation.dealership_id,
            generation=dealership.knowledge_base_generation,
            model=self._model.name,
            shape=(
                f"{options.top_k}:{options.min_relevance}:{options.max_reply_tokens}:"
                f"{self._citations.threshold}:{options.passage_budget_tokens}:"
                f"{conversation.language.value}"
            ),
            focus=conversation.scenario,
            normalised=normalise_query(text),
        )

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Lets replies in flight finish and be stored (call at shutdown)."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def _prepare(
        self,
        conversation: Conversation,
        history: list[Message],
        text: str,
        dealership: Dealership,
        persona: CustomerPersona | None,
    ) -> tuple[Prompt, list[SearchHit], str, int, float | None]:
        """`persona`: the roleplay customer (None in training). Also returns the best
        retrieved passage's score, floor or not (None when nothing was retrieved)."""
        options = self._options
        generation, vectors = dealership.knowledge_base_generation, active_vectors(dealership)
        if persona is not None:
            result = await self._search.retrieve(
                dealership_id=conversation.dealership_id,
                generation=generation,
                vectors=vectors,
                normalised=normalise_query(f"{persona.concerns} {text}"),
                topics=ROLEPLAY_TOPICS,
                top_k=options.roleplay_top_k,
            )
            prompt = roleplay_prompt(
                persona=persona,
                history=history,
                message=text,
                hits=result.hits,
                history_budget_tokens=options.history_budget_tokens,
                count=self._count,
                language=conversation.language.value,
            )
            return prompt, result.hits, result.cache, options.roleplay_max_reply_tokens, None
        result = await self._search.retrieve(
            dealership_id=conversation.dealership_id,
            generation=generation,
            vectors=vectors,
            normalised=normalise_query(text),
            topics=None,
            top_k=options.top_k,
        )
        floor = relevance_floor(options, vectors.profile)
        hits = [hit for hit in result.hits if floor <= 0 or hit.score >= floor]
        prompt = training_prompt(
            history=history,
            question=text,
            hits=hits,
            focus=conversation.scenario,
            history_budget_tokens=options.history_budget_tokens,
            count=self._count,
            fitted=fit_passages(
                hits,
                question=text,
                budget_tokens=options.passage_budget_tokens,
                sentences=self._citations.sentences,
                count=self._count,
            ),
            language=conversation.language.value,
        )
        top_score = max((hit.score for hit in result.hits), default=None)
        return prompt, hits, result.cache, options.max_reply_tokens, top_score

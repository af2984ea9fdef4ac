"""Conversations with Adam: training answers grounded in the knowledge base, roleplay
customers, and feedback on answers.

Chat flow: load server-side history -> retrieve (shared cache) -> prompt for the mode
-> model -> persist both messages. Everything up to the prompt runs in the request, so
a bad conversation id or an unreachable vector store answers with a proper status.
Generation and persistence then run in a task of their own that a reader merely
follows: a client that disconnects mid-stream does not stop it, and the reply is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.citations import CitationChecker
from avataradam.domain.compliance import Contradiction, contradictions
from avataradam.domain.errors import DomainError, InvalidInput, NotFound
from avataradam.domain.idempotency import Answer, IdempotentRequest, first_answer
from avataradam.domain.model import (
    Conversation,
    ConversationMode,
    Dealership,
    FeedbackRating,
    Message,
    MessageFeedback,
    MessageRole,
    Role,
    Source,
    Topic,
    UsageRecord,
)
from avataradam.domain.pagination import Cursor
from avataradam.domain.personas import PERSONAS, persona_for
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.services import (
    ChatModel,
    ChatModelUnavailable,
    ChatUsage,
    Telemetry,
)
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.prompts import (
    Prompt,
    TokenCounter,
    approximate_tokens,
    message_cost,
    roleplay_prompt,
    training_prompt,
)
from avataradam.domain.usecases.answers import AnswerCache, CachedAnswer, answer_key
from avataradam.domain.usecases.search import SearchHit, SearchKnowledgeBase, normalise_query
from avataradam.domain.usecases.usage import Hold, UsageBudget

MAX_MESSAGE_CHARS = 4000
MAX_SCENARIO_CHARS = 200
MAX_REASON_CHARS = 2000
ROLEPLAY_TOPICS = (Topic.OBJECTION_HANDLING, Topic.PRODUCT_KNOWLEDGE)
EXTRACTIVE_NOTICE = (
    "Extractive mode: no language model is configured, so this reply was assembled from "
    "passages of your knowledge base (training) or from objection documents and scripted "
    "customer lines (roleplay). It is not written for your question and cannot reason, "
    "summarise or follow up."
)


NO_MATERIAL_REPLY = (
    "I couldn't find anything on that in your dealership's knowledge base, so I won't guess. "
    "Ask an admin to upload the playbook or guide that covers it, then ask me again. / "
    "No encontré nada sobre eso en la base de conocimientos de tu concesionario, así que no "
    "voy a adivinar. Pide a un administrador que suba la guía que lo cubra y vuelve a "
    "preguntarme."
)
"""Adam's training reply, whatever the model, when retrieval finds no passage at least
`ChatOptions.min_relevance` similar to the question: no model is asked, so nothing is
invented. In English and Spanish, the languages of the dealerships' staff."""


RULES_PREAMBLE = (
    "I won't put this in my own words, because my draft could have contradicted your "
    "dealership's rules; here is what your material says:"
)


def rules_reply(broken: Sequence[Contradiction]) -> str:
    """What Adam says instead of a draft that contradicts rules (`domain.compliance`):
    the rules themselves, each quoted whole once with its passage's marker."""
    quoted = dict.fromkeys(f"{c.rule} [{c.marker}]" for c in broken)
    return "\n".join([RULES_PREAMBLE, *quoted])


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


class NewConversation(msgspec.Struct, frozen=True, kw_only=True):
    mode: ConversationMode
    scenario: str | None = None
    """Roleplay: a persona key (random when absent). Training: an optional focus."""
    dealership_id: UUID | None = None


class ConversationDetail(msgspec.Struct, frozen=True, kw_only=True):
    conversation: Conversation
    messages: list[Message]


class ModelInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    generative: bool
    notice: str | None


class ReplyDelta(msgspec.Struct, frozen=True, kw_only=True):
    text: str


class ReplySources(msgspec.Struct, frozen=True, kw_only=True):
    sources: tuple[Source, ...]


class ReplyDone(msgspec.Struct, frozen=True, kw_only=True):
    message: Message
    usage: ChatUsage | None
    model: ModelInfo


class ReplyFailed(msgspec.Struct, frozen=True, kw_only=True):
    error: Exception


ReplyEvent = ReplyDelta | ReplySources | ReplyDone | ReplyFailed


class ReplyStream:
    """The events of one reply: deltas, then sources, then done (or failed).

    Written by the generating task, read by at most one reader, who may stop at any
    time without affecting the task.
    """

    def __init__(self, model: ModelInfo) -> None:
        self.model = model
        self._queue: asyncio.Queue[ReplyEvent] = asyncio.Queue()

    def put(self, event: ReplyEvent) -> None:
        self._queue.put_nowait(event)

    async def next_event(self) -> ReplyEvent:
        return await self._queue.get()

    async def __aiter__(self) -> AsyncIterator[ReplyEvent]:
        while True:
            event = await self._queue.get()
            yield event
            if isinstance(event, ReplyDone | ReplyFailed):
                return

    async def result(self) -> ReplyDone:
        """Waits for the stored reply; re-raises what made generation fail."""
        async for event in self:
            if isinstance(event, ReplyFailed):
                raise event.error
            if isinstance(event, ReplyDone):
                return event
        raise RuntimeError("reply stream ended without an outcome")  # pragma: no cover


def source_of(hit: SearchHit) -> Source:
    _, _, index = hit.chunk_id.rpartition(":")
    return Source(
        chunk_id=hit.chunk_id,
        document_id=hit.document_id,
        filename=hit.filename,
        topic=hit.topic,
        index=int(index) if index.isdigit() else 0,
        page=hit.page,
    )


def require_storable(text: str, field: str) -> None:
    """Refuses, before any work starts, text that storage cannot hold (PostgreSQL
    `text` cannot contain U+0000), rather than failing when the reply is stored."""
    if "\x00" in text:
        raise InvalidInput(f"{field} must not contain the NUL character (U+0000)", field=field)


def _owner_scope(principal: Principal, dealership_id: UUID | None) -> UUID:
    return dealership_scope(principal, dealership_id)


class StartConversation:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        choose: Callable[[Sequence[str]], str] = random.choice,
    ) -> None:
        self._uow, self._clock, self._ids, self._choose = uow, clock, ids, choose

    async def __call__(
        self, principal: Principal, new: NewConversation, *, idempotency_key: str | None = None
    ) -> Answer[Conversation]:
        """A new conversation; with an idempotency key (the caller's own), repeats
        replay the first answer instead of starting another one."""
        dealership_id = _owner_scope(principal, new.dealership_id)
        scenario = (new.scenario or "").strip() or None
        if scenario is not None and len(scenario) > MAX_SCENARIO_CHARS:
            raise InvalidInput(f"scenario is at most {MAX_SCENARIO_CHARS} characters")
        require_storable(scenario or "", "scenario")
        if new.mode is ConversationMode.ROLEPLAY:
            scenario = persona_for(scenario).scenario if scenario else self._choose(list(PERSONAS))
        now = self._clock.now()
        conversation = Conversation(
            id=self._ids.new_id(),
            dealership_id=dealership_id,
            user_id=principal.user_id,
            mode=new.mode,
            scenario=scenario,
            created_at=now,
            updated_at=now,
        )
        request = IdempotentRequest.of(f"conversations:{principal.user_id}", idempotency_key, new)
        async with self._uow() as uow:
            replay = await first_answer(uow, request, conversation, status_code=201, now=now)
            if replay is not None:
                return replay
            if await uow.dealerships.get(dealership_id) is None:
                raise NotFound("dealership not found")
            await uow.conversations.add(conversation)
            await uow.commit()
        return Answer(value=conversation)


class ListConversations:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Conversation]:
        scope = _owner_scope(principal, dealership_id)
        async with self._uow(read_only=True) as uow:
            return await uow.conversations.list_page(
                dealership_id=scope, user_id=principal.user_id, cursor=cursor, limit=limit
            )


class GetConversation:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self, principal: Principal, conversation_id: UUID, *, dealership_id: UUID | None = None
    ) -> ConversationDetail:
        scope = _owner_scope(principal, dealership_id)
        async with self._uow(read_only=True) as uow:
            conversation = await uow.conversations.get(
                conversation_id, dealership_id=scope, user_id=principal.user_id
            )
            if conversation is None:
                raise NotFound("conversation not found")
            messages = await uow.conversations.messages(conversation_id)
        return ConversationDetail(conversation=conversation, messages=messages)


class SendMessage:
    """Answers a trainee's message in their conversation; see the module docstring."""

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
    ) -> None:
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

    async def start(
        self,
        principal: Principal,
        conversation_id: UUID,
        content: str,
        *,
        dealership_id: UUID | None = None,
    ) -> ReplyStream:
        started = time.perf_counter()
        text = content.strip()
        if not text or len(text) > MAX_MESSAGE_CHARS:
            raise InvalidInput(
                f"content must be 1 to {MAX_MESSAGE_CHARS} characters", field="content"
            )
        require_storable(text, "content")
        scope = _owner_scope(principal, dealership_id)
        # The primary, not a replica: the history must hold the caller's previous turn
        # and the generation must be current for the retrieval cache key.
        async with self._uow() as uow:
            conversation = await uow.conversations.get(
                conversation_id, dealership_id=scope, user_id=principal.user_id
            )
            if conversation is None:
                raise NotFound("conversation not found")
            dealership = await uow.dealerships.get(scope)
            if dealership is None:
                raise NotFound("conversation not found")
            history = await uow.conversations.messages(
                conversation_id, last=self._options.history_fetch_limit
            )
        prompt, hits, cache, max_tokens = await self._prepare(
            conversation, history, text, dealership.knowledge_base_generation
        )
        key = self._answer_key(conversation, history, hits, text, dealership)
        hold = None
        if self._budget is not None and self._model.generative and _calls_model(prompt):
            # Refused here, before anything streams: the answer is a plain 429.
            hold = await self._budget.hold(dealership, self._estimate(prompt) + max_tokens)
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
            self._generate(
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
                f"{self._citations.threshold}"
            ),
            focus=conversation.scenario,
            normalised=normalise_query(text),
        )

    def _estimate(self, prompt: Prompt) -> int:
        """The prompt's tokens as the service counts them (for holds and for models
        that report no usage)."""
        return sum(message_cost(turn.content, self._count) for turn in prompt.turns)

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Lets replies in flight finish and be stored (call at shutdown)."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def _prepare(
        self, conversation: Conversation, history: list[Message], text: str, generation: int
    ) -> tuple[Prompt, list[SearchHit], str, int]:
        options = self._options
        if conversation.mode is ConversationMode.ROLEPLAY:
            persona = persona_for(conversation.scenario or next(iter(PERSONAS)))
            result = await self._search.retrieve(
                dealership_id=conversation.dealership_id,
                generation=generation,
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
            )
            return prompt, result.hits, result.cache, options.roleplay_max_reply_tokens
        result = await self._search.retrieve(
            dealership_id=conversation.dealership_id,
            generation=generation,
            normalised=normalise_query(text),
            topics=None,
            top_k=options.top_k,
        )
        floor = options.min_relevance
        hits = [hit for hit in result.hits if floor <= 0 or hit.score >= floor]
        prompt = training_prompt(
            history=history,
            question=text,
            hits=hits,
            focus=conversation.scenario,
            history_budget_tokens=options.history_budget_tokens,
            count=self._count,
        )
        return prompt, hits, result.cache, options.max_reply_tokens

    async def _generate(
        self,
        stream: ReplyStream,
        *,
        conversation: Conversation,
        user_message: Message,
        prompt: Prompt,
        sources: tuple[Source, ...],
        max_tokens: int,
        started: float,
        cache: str,
        answer_key: str | None,
        hold: Hold | None = None,
    ) -> None:
        timing = _Timing(started)
        settled: int | None = None
        try:
            reply, usage = await self._reply(
                stream, conversation, user_message, prompt, sources, max_tokens, timing, answer_key
            )
            record = self._usage_record(conversation, prompt, reply, usage, timing)
            used = None
            if hold is not None and self._budget is not None:
                spent = record.tokens if record else 0
                try:
                    used = await self._budget.settle(hold, spent)
                    settled = spent
                except DomainError as exc:
                    # The reply is not lost for it; the hold stays counted (stricter).
                    self._telemetry.event("usage_budget_settle_failed", code=exc.code, tokens=spent)
            alerts = await self._store(conversation, user_message, reply, record, hold, used)
        except asyncio.CancelledError:
            stream.put(ReplyFailed(error=ChatModelUnavailable("the reply was cancelled")))
            await self._give_back(hold, settled)
            raise
        except Exception as exc:  # noqa: BLE001 -- handed to the reader, who re-raises it
            await self._give_back(hold, settled)
            self._telemetry.event(
                "chat_failed",
                conversation_id=str(conversation.id),
                mode=conversation.mode.value,
                model=self._model.name,
                code=exc.code if isinstance(exc, DomainError) else "internal_error",
                error_type=type(exc).__name__,
                latency_ms=timing.elapsed_ms(),
            )
            stream.put(ReplyFailed(error=exc))
            return
        self._telemetry.event(
            "chat_request",
            conversation_id=str(conversation.id),
            message_id=str(reply.id),
            mode=conversation.mode.value,
            model=self._model.name,
            generative=self._model.generative,
            results_count=len(sources),
            cited_count=len(reply.sources),
            answer_cache=reply.cached,
            grounded=reply.grounded,
            supported_share=reply.supported_share,
            cache=cache,
            history_messages=len(prompt.turns) - 2,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            first_delta_ms=timing.first_delta_ms,
            latency_ms=timing.elapsed_ms(),
        )
        if alerts and self._budget is not None:
            self._budget.alerts_raised(conversation.dealership_id, alerts)
        stream.put(ReplyDone(message=reply, usage=usage, model=self.model_info))

    async def _give_back(self, hold: Hold | None, settled: int | None) -> None:
        """A failed reply stores no usage: its hold is released, or its settlement
        taken back. A failure to do so only leaves the counter high (stricter)."""
        if hold is None or self._budget is None:
            return
        with contextlib.suppress(DomainError):
            if settled is None:
                await self._budget.release(hold)
            else:
                await self._budget.take_back(hold, settled)

    def _usage_record(
        self,
        conversation: Conversation,
        prompt: Prompt,
        reply: Message,
        usage: ChatUsage | None,
        timing: _Timing,
    ) -> UsageRecord | None:
        """What the reply cost; None when no model was asked (nothing relevant found).
        A generative model that reports no usage is charged the service's estimate."""
        if not _calls_model(prompt):
            return None
        if reply.cached:
            prompt_tokens = completion_tokens = 0
        elif usage is not None:
            prompt_tokens, completion_tokens = usage.prompt_tokens, usage.completion_tokens
        elif self._model.generative:
            prompt_tokens, completion_tokens = self._estimate(prompt), self._count(reply.content)
        else:
            prompt_tokens = completion_tokens = 0
        return UsageRecord(
            id=self._ids.new_id(),
            dealership_id=conversation.dealership_id,
            conversation_id=conversation.id,
            message_id=reply.id,
            model=self._model.name,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=timing.elapsed_ms(),
            cached=reply.cached,
            created_at=reply.created_at,
        )

    async def _reply(
        self,
        stream: ReplyStream,
        conversation: Conversation,
        user_message: Message,
        prompt: Prompt,
        sources: tuple[Source, ...],
        max_tokens: int,
        timing: _Timing,
        answer_key: str | None,
    ) -> tuple[Message, ChatUsage | None]:
        training = prompt.grounding.mode == ConversationMode.TRAINING.value
        passages = prompt.grounding.passages

        async def generate() -> tuple[CachedAnswer, ChatUsage | None]:
            content, usage = await self._stream_model(stream, prompt, max_tokens, timing)
            if not training:
                return CachedAnswer(
                    content=content, sources=sources, grounded=None, supported_share=None
                ), usage
            broken = contradictions(
                content,
                passages,
                spans=self._citations.spans,
                sentences=self._citations.sentences,
            )
            if broken:
                self._telemetry.event(
                    "compliance_guard",
                    conversation_id=str(conversation.id),
                    model=self._model.name,
                    rules=len({c.rule for c in broken}),
                )
                content = rules_reply(broken)
            checked = await self._citations.check(content, passages)
            return CachedAnswer(
                content=checked.content,
                sources=tuple(sources[marker - 1] for marker in checked.cited),
                grounded=checked.grounded,
                supported_share=checked.supported_share,
            ), usage

        usage: ChatUsage | None = None
        cached = False
        if training and not passages:
            # Nothing relevant was found: no model is asked, so nothing is invented.
            timing.first_delta()
            stream.put(ReplyDelta(text=NO_MATERIAL_REPLY))
            answer = CachedAnswer(
                content=NO_MATERIAL_REPLY, sources=(), grounded=False, supported_share=None
            )
        elif answer_key is not None and self._answers is not None:
            spent: list[ChatUsage | None] = []

            async def generate_once() -> CachedAnswer:
                generated, reported = await generate()
                spent.append(reported)
                return generated

            answer, outcome = await self._answers.answer(answer_key, generate_once)
            cached = outcome == "hit"
            if cached:
                timing.first_delta()
                stream.put(ReplyDelta(text=answer.content))
            usage = spent[0] if spent else None
        else:
            answer, usage = await generate()
        stream.put(ReplySources(sources=answer.sources))
        reply = Message(
            id=self._ids.new_id(),
            conversation_id=conversation.id,
            role=MessageRole.ASSISTANT,
            content=answer.content,
            sources=answer.sources,
            created_at=max(self._clock.now(), user_message.created_at),
            grounded=answer.grounded,
            supported_share=answer.supported_share,
            cached=cached,
        )
        return reply, usage

    async def _stream_model(
        self, stream: ReplyStream, prompt: Prompt, max_tokens: int, timing: _Timing
    ) -> tuple[str, ChatUsage | None]:
        """The model's reply to `prompt`, streamed to `stream` as it comes."""
        parts: list[str] = []
        usage: ChatUsage | None = None
        async for delta in self._model.stream(
            prompt.turns, max_tokens=max_tokens, grounding=prompt.grounding
        ):
            if delta.usage is not None:
                usage = delta.usage
            # Storage cannot hold NUL: it is neither streamed nor stored. (The stored reply
            # may still differ from the deltas: its citations are checked at the end.)
            text = delta.text.replace("\x00", "")
            if text:
                timing.first_delta()
                parts.append(text)
                stream.put(ReplyDelta(text=text))
        content = "".join(parts).strip()
        if not content:
            raise ChatModelUnavailable("the chat model returned an empty reply")
        return content, usage

    async def _store(
        self,
        conversation: Conversation,
        user_message: Message,
        reply: Message,
        record: UsageRecord | None,
        hold: Hold | None,
        used: int | None,
    ) -> list[int]:
        """Stores both messages, the reply's usage and any budget alert it raises, in
        one transaction; returns the thresholds raised."""
        async with self._uow() as uow:
            await uow.conversations.add_message(user_message)
            await uow.conversations.add_message(reply)
            await uow.conversations.touch(conversation.id, reply.created_at)
            alerts: list[int] = []
            if record is not None:
                await uow.usage.add(record)
            if hold is not None and self._budget is not None:
                alerts = await self._budget.record_alerts(uow, hold, used)
            await uow.commit()
        return alerts


def _calls_model(prompt: Prompt) -> bool:
    """False for a training question without relevant passages: Adam refuses without
    asking the model (`NO_MATERIAL_REPLY`)."""
    return bool(
        prompt.grounding.mode != ConversationMode.TRAINING.value or prompt.grounding.passages
    )


class _Timing:
    def __init__(self, started: float) -> None:
        self._started = started
        self.first_delta_ms: float | None = None

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self._started) * 1000, 2)

    def first_delta(self) -> None:
        if self.first_delta_ms is None:
            self.first_delta_ms = self.elapsed_ms()


class FeedbackReport(msgspec.Struct, frozen=True, kw_only=True):
    """A rating with the exchange it is about, for the dealership's admins."""

    feedback: MessageFeedback
    mode: ConversationMode | None
    scenario: str | None
    question: str | None
    answer: str | None
    sources: tuple[Source, ...]

    @property
    def id(self) -> UUID:
        return self.feedback.id

    @property
    def created_at(self) -> datetime:
        return self.feedback.created_at


async def _find_own_message(
    uow: UnitOfWork, *, dealership_id: UUID, user_id: UUID, message_id: UUID
) -> tuple[Conversation, list[Message], Message] | None:
    """Searches the caller's conversations for the message.

    The conversation port has no lookup by message id; a user has few conversations,
    and a rating is rare, so this walk is cheap enough until the port grows one.
    """
    cursor: Cursor | None = None
    while True:
        page = await uow.conversations.list_page(
            dealership_id=dealership_id, user_id=user_id, cursor=cursor, limit=200
        )
        for conversation in page:
            messages = await uow.conversations.messages(conversation.id)
            for message in messages:
                if message.id == message_id:
                    return conversation, messages, message
        if len(page) < 200:
            return None
        cursor = Cursor(created_at=page[-1].created_at, id=page[-1].id)


class Rating(msgspec.Struct, frozen=True, kw_only=True):
    """The caller's rating as stored; `replaced` when it replaced an earlier one."""

    feedback: MessageFeedback
    replaced: bool


class RateMessage:
    """Thumbs up/down on an assistant message of one's own conversation.

    One rating per user and message: rating again (or concurrently) replaces the
    rating and reason, the latest wins, and the rating keeps its id.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, telemetry: Telemetry
    ) -> None:
        self._uow, self._clock, self._ids, self._telemetry = uow, clock, ids, telemetry

    async def __call__(
        self,
        principal: Principal,
        message_id: UUID,
        *,
        rating: FeedbackRating,
        reason: str | None,
        dealership_id: UUID | None = None,
    ) -> Rating:
        scope = _owner_scope(principal, dealership_id)
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(f"reason is at most {MAX_REASON_CHARS} characters", field="reason")
        require_storable(reason or "", "reason")
        async with self._uow() as uow:
            found = await _find_own_message(
                uow, dealership_id=scope, user_id=principal.user_id, message_id=message_id
            )
            if found is None:
                raise NotFound("message not found")
            conversation, _, message = found
            if message.role is not MessageRole.ASSISTANT:
                raise InvalidInput("only assistant messages can be rated", field="message_id")
            now = self._clock.now()
            feedback = MessageFeedback(
                id=self._ids.new_id(),
                message_id=message.id,
                conversation_id=conversation.id,
                dealership_id=scope,
                user_id=principal.user_id,
                rating=rating,
                reason=reason,
                created_at=now,
                updated_at=now,
            )
            stored = await uow.feedback.rate(feedback)
            await uow.commit()
        self._telemetry.event(
            "message_rated",
            message_id=str(message.id),
            conversation_id=str(conversation.id),
            rating=rating.value,
        )
        return Rating(feedback=stored, replaced=stored.id != feedback.id)


class ListFeedback:
    """Ratings of a dealership's answers with their context; admins only."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[FeedbackReport]:
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        scope = dealership_scope(principal, dealership_id)
        reports: list[FeedbackReport] = []
        async with self._uow(read_only=True) as uow:
            rows = await uow.feedback.list_page(dealership_id=scope, cursor=cursor, limit=limit)
            for feedback in rows:
                conversation = await uow.conversations.get(
                    feedback.conversation_id, dealership_id=scope, user_id=None
                )
                messages = (
                    await uow.conversations.messages(feedback.conversation_id)
                    if conversation
                    else []
                )
                reports.append(_report(feedback, conversation, messages))
        return reports


def _report(
    feedback: MessageFeedback, conversation: Conversation | None, messages: list[Message]
) -> FeedbackReport:
    position = next((i for i, m in enumerate(messages) if m.id == feedback.message_id), None)
    answer = messages[position] if position is not None else None
    question = next(
        (m.content for m in reversed(messages[: position or 0]) if m.role is MessageRole.USER),
        None,
    )
    return FeedbackReport(
        feedback=feedback,
        mode=conversation.mode if conversation else None,
        scenario=conversation.scenario if conversation else None,
        question=question,
        answer=answer.content if answer else None,
        sources=answer.sources if answer else (),
    )

"""A reply's generation, in a task of its own that a reader merely follows: the model
(or the answer cache), the compliance and citation checks, the usage budget, and the
storage of both messages. A client that disconnects mid-stream does not stop it."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec

from avataradam.domain.answers import CachedAnswer
from avataradam.domain.citations import CitationChecker
from avataradam.domain.compliance import contradictions
from avataradam.domain.errors import ConversationCompleted, DomainError
from avataradam.domain.model import (
    Conversation,
    ConversationMode,
    Message,
    MessageRole,
    Source,
    UsageRecord,
)
from avataradam.domain.passages import TokenCounter
from avataradam.domain.ports.caching import AnswerCache
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import ChatModel, ChatModelUnavailable, ChatUsage, Telemetry
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.prompts import Prompt, message_cost
from avataradam.domain.usecases.conversations.replies import (
    NO_MATERIAL_REPLY,
    ModelInfo,
    ReplyDelta,
    ReplyDone,
    ReplyFailed,
    ReplySources,
    ReplyStream,
    Timing,
    calls_model,
    rules_reply,
)
from avataradam.domain.usecases.knowledge_gaps import GapRecorder
from avataradam.domain.usecases.usage import Hold, UsageBudget


class ReplyGenerator:
    """Generates, checks and stores one reply per `run`, streaming it as it comes."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        model: ChatModel,
        clock: Clock,
        ids: IdGenerator,
        telemetry: Telemetry,
        citations: CitationChecker,
        *,
        count_tokens: TokenCounter,
        answers: AnswerCache | None,
        budget: UsageBudget | None,
        model_info: ModelInfo,
        gaps: GapRecorder | None = None,
    ) -> None:
        self._uow, self._model, self._gaps = uow, model, gaps
        self._citations, self._answers, self._budget = citations, answers, budget
        self._clock, self._ids, self._telemetry = clock, ids, telemetry
        self._count = count_tokens
        self.model_info = model_info

    def estimate(self, prompt: Prompt) -> int:
        """The prompt's tokens as the service counts them (for holds and for models
        that report no usage)."""
        return sum(message_cost(turn.content, self._count) for turn in prompt.turns)

    async def run(
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
        top_score: float | None = None,
    ) -> None:
        """Generates the reply to `user_message` (streamed to `stream` as it comes), then
        stores both messages with the reply's usage and settles `hold`. Ends `stream`
        with `ReplyDone`, or `ReplyFailed` carrying what was raised (the hold given
        back); never raises but `CancelledError`. `started` is the request's
        `Clock.monotonic` reading; `cache` the retrieval's outcome (for telemetry)."""
        timing = Timing(self._clock, started)
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
            elif self._budget is not None and record is not None:
                await self._budget.count_unheld(conversation.dealership_id, record.tokens)
            found = (bool(prompt.grounding.passages), top_score)
            alerts = await self._store(conversation, user_message, reply, record, hold, used, found)
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
        timing: Timing,
    ) -> UsageRecord | None:
        """What the reply cost; None when no model was asked (nothing relevant found).
        A generative model that reports no usage is charged the service's estimate."""
        if not calls_model(prompt):
            return None
        if reply.cached:
            prompt_tokens = completion_tokens = 0
        elif usage is not None:
            prompt_tokens, completion_tokens = usage.prompt_tokens, usage.completion_tokens
        elif self._model.generative:
            prompt_tokens, completion_tokens = self.estimate(prompt), self._count(reply.content)
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
        timing: Timing,
        answer_key: str | None,
    ) -> tuple[Message, ChatUsage | None]:
        training = prompt.grounding.mode == ConversationMode.TRAINING.value
        passages = prompt.grounding.passages

        async def generate() -> tuple[CachedAnswer, ChatUsage | None]:
            # Each text is segmented once on this path: the passages before a model that
            # answers from their sentences (else after the stream, not delaying it), the
            # reply once for the compliance guard and the citation check together.
            given = prompt
            if not self._model.generative and passages:
                grounding = msgspec.structs.replace(
                    prompt.grounding, passages=self._citations.segment(passages)
                )
                given = msgspec.structs.replace(prompt, grounding=grounding)
            content, usage = await self._stream_model(stream, given, max_tokens, timing)
            if not training:
                return CachedAnswer(
                    content=content, sources=sources, grounded=None, supported_share=None
                ), usage
            segmented = self._citations.segment(given.grounding.passages)
            reply_spans: list[tuple[int, int]] | None = self._citations.spans(content)
            broken = contradictions(
                content,
                segmented,
                spans=self._citations.spans,
                sentences=self._citations.sentences,
                reply_spans=reply_spans,
            )
            if broken:
                self._telemetry.event(
                    "compliance_guard",
                    conversation_id=str(conversation.id),
                    model=self._model.name,
                    rules=len({c.rule for c in broken}),
                )
                content, reply_spans = rules_reply(broken), None
            checked = await self._citations.check(content, segmented, reply_spans=reply_spans)
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
        self, stream: ReplyStream, prompt: Prompt, max_tokens: int, timing: Timing
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
        retrieved: tuple[bool, float | None],
    ) -> list[int]:
        """Stores both messages, the usage, any budget alert and a knowledge-gap question
        (`retrieved`: passages above the floor?, best score) in one transaction; returns
        the thresholds raised. ConversationCompleted, storing nothing, if the session was
        completed meanwhile: the row is held from check to commit (see `complete`)."""
        async with self._uow() as uow:
            if not await uow.conversations.touch_open(conversation.id, reply.created_at):
                raise ConversationCompleted(
                    "this roleplay session was completed while the reply was written; "
                    "neither the message nor the reply was stored"
                )
            await uow.conversations.add_message(user_message)
            await uow.conversations.add_message(reply)
            alerts: list[int] = []
            if record is not None:
                await uow.usage.add(record)
            if hold is not None and self._budget is not None:
                alerts = await self._budget.record_alerts(uow, hold, used)
            gap = None
            if self._gaps is not None:
                gap = await self._gaps.record_reply(
                    uow, conversation, user_message, reply, retrieved=retrieved
                )
            await uow.commit()
        if self._gaps is not None:
            await self._gaps.announce(gap)
        return alerts

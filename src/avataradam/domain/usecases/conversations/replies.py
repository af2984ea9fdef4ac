"""What a reply streams and says: the events a reader follows, Adam's fixed replies,
and the reply's timing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import msgspec

from avataradam.domain.compliance import Contradiction
from avataradam.domain.model import ConversationMode, Language, Message, Source
from avataradam.domain.ports.services import ChatUsage
from avataradam.domain.ports.system import Clock
from avataradam.domain.prompts import Prompt
from avataradam.domain.retrieval import SearchHit

EXTRACTIVE_NOTICE = (
    "Extractive mode: no language model is configured, so this reply was assembled from "
    "passages of your knowledge base (training) or from objection documents and scripted "
    "customer lines (roleplay). It is not written for your question and cannot reason, "
    "summarise or follow up."
)


NO_MATERIAL_REPLIES = {
    Language.EN: (
        "I couldn't find anything on that in your dealership's knowledge base, so I won't "
        "guess. Ask an admin to upload the playbook or guide that covers it, then ask me again."
    ),
    Language.ES: (
        "No encontré nada sobre eso en la base de conocimientos de su concesionario, así que "
        "no voy a adivinar. Pida a un administrador que suba la guía que lo cubra y vuelva a "
        "preguntarme."
    ),
}
NO_MATERIAL_REPLY = f"{NO_MATERIAL_REPLIES[Language.EN]} / {NO_MATERIAL_REPLIES[Language.ES]}"
"""Adam's training reply, whatever the model, when retrieval finds no passage at least
`ChatOptions.min_relevance` similar to the question: no model is asked, so nothing is
invented. In English and Spanish, the languages of the dealerships' staff (written in
both: a question may come in either language whatever the conversation's); the Spanish
addresses the trainee as "usted", as Adam's Spanish answers do."""


def spoken_words(content: str, language: Language) -> str:
    """What of a reply's `content` is spoken in a conversation held in `language`: the
    whole, but for `NO_MATERIAL_REPLY`, whose half in `language` alone is spoken (the
    voice speaks that language, and the " / " between the halves is not read out)."""
    return NO_MATERIAL_REPLIES[language] if content.strip() == NO_MATERIAL_REPLY else content


RULES_PREAMBLE = (
    "I won't put this in my own words, because my draft could have contradicted your "
    "dealership's rules; here is what your material says:"
)


def rules_reply(broken: Sequence[Contradiction]) -> str:
    """What Adam says instead of a draft that contradicts rules (`domain.compliance`):
    the rules themselves, each quoted whole once with its passage's marker."""
    quoted = dict.fromkeys(f"{c.rule} [{c.marker}]" for c in broken)
    return "\n".join([RULES_PREAMBLE, *quoted])


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


def calls_model(prompt: Prompt) -> bool:
    """False for a training question without relevant passages: Adam refuses without
    asking the model (`NO_MATERIAL_REPLY`)."""
    return bool(
        prompt.grounding.mode != ConversationMode.TRAINING.value or prompt.grounding.passages
    )


class Timing:
    """Milliseconds since `started` (a `Clock.monotonic` reading), and to the first delta."""

    def __init__(self, clock: Clock, started: float) -> None:
        self._clock, self._started = clock, started
        self.first_delta_ms: float | None = None

    def elapsed_ms(self) -> float:
        return round((self._clock.monotonic() - self._started) * 1000, 2)

    def first_delta(self) -> None:
        if self.first_delta_ms is None:
            self.first_delta_ms = self.elapsed_ms()

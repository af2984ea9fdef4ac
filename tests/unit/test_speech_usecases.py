"""The speech use cases on the in-memory adapters and speech twins: text streamed as one
WAV sentence by sentence, a reply spoken once and kept, transcriptions, voices, the
usage recorded and the budget held and settled, and failures that record nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import uuid
import wave
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
import pytest

from avataradam.adapters.memory.budget import InMemoryBudgetLedger
from avataradam.adapters.memory.cache import InMemoryCache
from avataradam.adapters.memory.speech import (
    InMemoryRecognizer,
    InMemorySynthesizer,
    wav_with_text,
)
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.system import SystemClock, UuidGenerator
from avataradam.domain.access import Principal
from avataradam.domain.audio import pcm_of
from avataradam.domain.errors import (
    BudgetExhausted,
    FeatureDisabled,
    InvalidInput,
    NotFound,
    UnsupportedMediaType,
)
from avataradam.domain.model import (
    Conversation,
    ConversationMode,
    Dealership,
    Language,
    Message,
    MessageRole,
    Role,
    UsageKind,
    UsageRecord,
)
from avataradam.domain.ports.speech import (
    NoSpeech,
    Speech,
    SpeechUnavailable,
    Voice,
)
from avataradam.domain.usecases.conversations.replies import (
    NO_MATERIAL_REPLIES,
    NO_MATERIAL_REPLY,
)
from avataradam.domain.usecases.speech import (
    Engines,
    ReplyWaits,
    SpeakingParts,
    SpeakReply,
    SpeakText,
    SpeechAccounting,
    StartAvatarSession,
    Transcribe,
)
from avataradam.domain.usecases.speech_stream import SpeechAudio
from avataradam.domain.usecases.usage import UsageBudget
from avataradam.domain.voices import adam_voice
from tests.contract.builders import dealership, user
from tests.support.fakes import FakeAvatarProvider

SENTENCES = ("The service contract is optional.", "It covers repairs.", "Shall we add it?")
TEXT = " ".join(SENTENCES)
RATE = 50


def split(text: str) -> list[str]:
    """A stand-in for the project's splitter: one sentence per full stop or question."""
    found, current = [], ""
    for word in text.split():
        current = f"{current} {word}".strip()
        if word.endswith((".", "?")):
            found.append(current)
            current = ""
    return [*found, current] if current else found


class GatedSynthesizer(InMemorySynthesizer):
    """Speaks a sentence only once `allow` lets it; `fail_at` makes that call fail."""

    def __init__(self, voices: Sequence[Voice] | None = None) -> None:
        super().__init__(*(() if voices is None else (voices,)))
        self.allowed = asyncio.Semaphore(0)
        self.fail_at: int | None = None
        self.calls = 0

    def allow(self, sentences: int = 1) -> None:
        for _ in range(sentences):
            self.allowed.release()

    async def synthesize(self, text: str, *, voice: str) -> Speech:
        await self.allowed.acquire()
        self.calls += 1
        if self.fail_at == self.calls:
            raise SpeechUnavailable("the engine stopped")
        return await super().synthesize(text, voice=voice)


class World:
    def __init__(self, *, budget: int = 0, synthesizer: InMemorySynthesizer | None = None) -> None:
        self.store = InMemoryStore()
        self.uow = InMemoryUnitOfWorkFactory(self.store)
        self.telemetry = InMemoryTelemetry()
        clock, ids = SystemClock(), UuidGenerator()
        self.ledger = InMemoryBudgetLedger(clock)
        self.synthesizer = synthesizer or InMemorySynthesizer()
        self.recognizer = InMemoryRecognizer()
        self.avatar = FakeAvatarProvider()
        self.engines = Engines(
            synthesizer=self.synthesizer,
            recognizer=self.recognizer,
            avatar=self.avatar,
            adam=adam_voice(self.synthesizer.voices),
            avatar_id="adam-avatar",
        )
        usage = UsageBudget(
            self.uow, self.ledger, clock, ids, self.telemetry, default_budget=budget
        )
        accounting = SpeechAccounting(
            self.uow, usage, clock, ids, self.telemetry, tokens_per_second=RATE
        )
        self.tasks: set[asyncio.Task[None]] = set()
        self.speaking = SpeakingParts(
            self.uow, self.engines, accounting, split, clock, self.telemetry, self.tasks
        )
        self.speak = SpeakText(self.speaking, max_text_chars=200)
        self.cache = InMemoryCache()
        self.reply = SpeakReply(
            self.speaking, cache=self.cache, waits=ReplyWaits(lock_ttl_s=120, poll_interval_s=0.01)
        )
        self.transcribe = Transcribe(
            self.uow, self.engines, accounting, clock, self.telemetry, max_duration_s=60
        )
        self.avatar_session = StartAvatarSession(self.engines, self.telemetry)

    async def tenant(self) -> tuple[Dealership, Principal]:
        d = dealership()
        u = user(d.id)
        async with self.uow() as uow:
            await uow.dealerships.add(d)
            await uow.users.add(u)
            await uow.commit()
        return d, Principal(user_id=u.id, role=Role.USER, dealership_id=d.id)

    async def reply_of(
        self,
        principal: Principal,
        content: str = TEXT,
        *,
        mode: ConversationMode = ConversationMode.TRAINING,
        language: Language = Language.EN,
        scenario_id: str | None = None,
    ) -> Message:
        assert principal.dealership_id is not None
        now = datetime.now(UTC)
        conversation = Conversation(
            id=uuid.uuid4(),
            dealership_id=principal.dealership_id,
            user_id=principal.user_id,
            mode=mode,
            scenario=scenario_id,
            scenario_id=scenario_id,
            created_at=now,
            updated_at=now,
            language=language,
        )
        message = Message(
            id=uuid.uuid4(),
            conversation_id=conversation.id,
            role=MessageRole.ASSISTANT,
            content=content,
            sources=(),
            created_at=now,
        )
        async with self.uow() as uow:
            await uow.conversations.add(conversation)
            await uow.conversations.add_message(message)
            await uow.commit()
        return message

    def usage(self) -> list[UsageRecord]:
        return list(self.store.tables.usage_records.values())

    async def drained(self) -> None:
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=5)


async def read(audio: SpeechAudio) -> bytes:
    return b"".join([chunk async for chunk in audio.chunks()])


def seconds_of(wav: bytes) -> float:
    rate, pcm = pcm_of(wav)
    return len(pcm) / 2 / rate


async def test_text_streams_as_one_wav_and_records_its_seconds() -> None:
    world = World(budget=100_000)
    d, principal = await world.tenant()

    audio = await world.speak(principal, TEXT)
    body = await read(audio)

    assert [text for text, _ in world.synthesizer.spoken] == list(SENTENCES)
    assert audio.voice == "memory-adam"
    with wave.open(io.BytesIO(body), "rb") as reader:
        frames = reader.readframes(2**31)
    assert len(frames) == len(body) - 44
    [record] = world.usage()
    assert record.kind is UsageKind.SYNTHESIS
    assert record.dealership_id == d.id
    assert record.speech_seconds == pytest.approx(len(frames) / 2 / 16_000)
    assert record.speech_tokens == round(record.speech_seconds * RATE)
    assert record.message_id is None
    assert world.telemetry.first_audio[0][0] == "memory"
    assert [(e, s) for e, s, _ in world.telemetry.speech_seconds] == [("memory", "synthesized")]


async def test_the_first_audio_leaves_before_the_rest_is_spoken() -> None:
    synthesizer = GatedSynthesizer()
    world = World(synthesizer=synthesizer)
    _, principal = await world.tenant()
    synthesizer.allow(1)

    audio = await world.speak(principal, TEXT)
    chunks = audio.chunks()
    first = await anext(chunks)

    assert first[:4] == b"RIFF"
    assert synthesizer.calls == 1
    synthesizer.allow(2)
    rest = [chunk async for chunk in chunks]
    assert len(rest) == 2
    assert synthesizer.calls == 3


async def test_a_listener_who_leaves_stops_the_speaking_and_is_charged_what_was_spoken() -> None:
    synthesizer = GatedSynthesizer()
    world = World(budget=100_000, synthesizer=synthesizer)
    _, principal = await world.tenant()
    synthesizer.allow(1)
    audio = await world.speak(principal, TEXT)
    chunks = audio.chunks()
    first = await anext(chunks)

    await chunks.aclose()
    await world.drained()

    assert synthesizer.calls == 1
    [record] = world.usage()
    assert record.speech_seconds == pytest.approx(seconds_of(first))


async def test_an_engine_that_fails_at_once_is_503_and_nothing_is_recorded_or_held() -> None:
    synthesizer = GatedSynthesizer()
    world = World(budget=100_000, synthesizer=synthesizer)
    d, principal = await world.tenant()
    synthesizer.fail_at = 1
    synthesizer.allow(3)

    with pytest.raises(SpeechUnavailable):
        await world.speak(principal, TEXT)
    await world.drained()

    assert world.usage() == []
    assert world.telemetry.speech_failures[0] == ("synthesize", "speech_unavailable")
    # Everything held was given back: the whole budget can be held again.
    key = f"{d.id}:{datetime.now(UTC):%Y-%m}"
    again = await world.ledger.reserve(key, 100_000, 100_000, seed=None, ttl_s=60)
    assert again is not None
    assert again.allowed


async def test_an_engine_that_fails_mid_way_ends_the_stream_with_what_was_spoken() -> None:
    synthesizer = GatedSynthesizer()
    world = World(synthesizer=synthesizer)
    _, principal = await world.tenant()
    synthesizer.fail_at = 2
    synthesizer.allow(3)

    body = await read(await world.speak(principal, TEXT))
    await world.drained()

    [record] = world.usage()
    assert record.speech_seconds == pytest.approx(len(body[44:]) / 2 / 16_000)
    assert record.speech_seconds == pytest.approx(0.08 * len(SENTENCES[0]))


async def test_an_exhausted_budget_refuses_before_anything_is_spoken() -> None:
    world = World(budget=10)
    _, principal = await world.tenant()

    with pytest.raises(BudgetExhausted):
        await world.speak(principal, TEXT)
    assert world.synthesizer.spoken == []


async def test_text_and_voices_are_checked_and_speech_off_is_a_disabled_feature() -> None:
    world = World()
    _, principal = await world.tenant()
    with pytest.raises(InvalidInput, match="memory-lucia"):
        await world.speak(principal, TEXT, voice="nobody")
    with pytest.raises(InvalidInput):
        await world.speak(principal, " " * 3)
    with pytest.raises(InvalidInput):
        await world.speak(principal, "a" * 201)
    off = msgspec.structs.replace(world.engines, synthesizer=None, adam=None, avatar=None)
    speak_off = SpeakText(
        dataclasses.replace(world.speaking, engines=off, clock=SystemClock(), tasks=set()),
        max_text_chars=200,
    )
    with pytest.raises(FeatureDisabled) as disabled:
        await speak_off(principal, TEXT)
    assert disabled.value.details == {"feature": "speech"}
    with pytest.raises(FeatureDisabled) as no_avatar:
        await StartAvatarSession(off, world.telemetry)(principal)
    assert no_avatar.value.details == {"feature": "avatar"}


async def test_a_reply_is_spoken_once_kept_whole_and_read_back() -> None:
    """Given a reply with citation markers, its first play streams without the markers
    and keeps the WAV (true sizes, its digest); the next answers what was kept."""
    world = World(budget=100_000)
    _, principal = await world.tenant()
    message = await world.reply_of(principal, "GAP is optional [1]. It pays the loan gap [1, 2].")

    first = await world.reply(principal, message.id)
    assert first.stream is not None
    streamed = await read(first.stream)
    again = await world.reply(principal, message.id)

    assert [t for t, _ in world.synthesizer.spoken] == ["GAP is optional.", "It pays the loan gap."]
    assert again.stored is not None
    assert again.stream is None
    kept = await world.reply.read(again.stored)
    assert kept[44:] == streamed[44:]
    assert kept[:4] == b"RIFF"
    with wave.open(io.BytesIO(kept), "rb") as reader:
        assert reader.getnframes() * 2 == len(kept) - 44
    assert again.stored.size_bytes == len(kept)
    [record] = world.usage()
    assert (record.message_id, record.kind) == (message.id, UsageKind.SYNTHESIS)


async def test_a_reply_whose_listener_left_is_finished_and_kept() -> None:
    synthesizer = GatedSynthesizer()
    world = World(synthesizer=synthesizer)
    _, principal = await world.tenant()
    message = await world.reply_of(principal)
    synthesizer.allow(1)
    first = await world.reply(principal, message.id)
    assert first.stream is not None
    chunks = first.stream.chunks()
    await anext(chunks)
    await chunks.aclose()

    synthesizer.allow(2)
    await world.drained()

    again = await world.reply(principal, message.id)
    assert again.stored is not None
    assert again.stored.duration_s == pytest.approx(0.08 * sum(len(s) for s in SENTENCES))


async def test_two_first_plays_at_once_speak_the_reply_once_and_both_hear_it() -> None:
    """Given a reply whose first play is still being spoken, a second first play (of any
    instance: the lock is in the shared cache) waits for the kept audio and answers it:
    each sentence is spoken once, one usage record, the same samples for both."""
    synthesizer = GatedSynthesizer()
    world = World(budget=100_000, synthesizer=synthesizer)
    _, principal = await world.tenant()
    message = await world.reply_of(principal)
    synthesizer.allow(1)
    first = await world.reply(principal, message.id)
    assert first.stream is not None
    second_play = asyncio.create_task(world.reply(principal, message.id))
    await asyncio.sleep(0.05)
    assert not second_play.done(), "the second play waits while the first speaks"

    synthesizer.allow(2)
    streamed = await asyncio.wait_for(read(first.stream), 5)
    second = await asyncio.wait_for(second_play, 5)

    assert [t for t, _ in synthesizer.spoken] == list(SENTENCES)
    assert second.stream is None
    assert second.stored is not None
    assert (await world.reply.read(second.stored))[44:] == streamed[44:]
    [record] = world.usage()
    assert record.message_id == message.id
    assert not world.cache._values, "the lock is let go"


async def test_a_waiting_play_speaks_the_reply_itself_when_the_first_fails() -> None:
    """Given a first play whose engine fails at once (nothing kept), a play waiting for
    it takes over and speaks the reply; an exhausted budget lets the lock go too."""
    synthesizer = GatedSynthesizer()
    world = World(budget=100_000, synthesizer=synthesizer)
    _, principal = await world.tenant()
    message = await world.reply_of(principal)
    synthesizer.fail_at = 1
    failing = asyncio.create_task(world.reply(principal, message.id))
    await asyncio.sleep(0.02)
    waiting = asyncio.create_task(world.reply(principal, message.id))
    await asyncio.sleep(0.05)
    assert not waiting.done()

    synthesizer.allow(4)
    with pytest.raises(SpeechUnavailable):
        await failing
    taken_over = await asyncio.wait_for(waiting, 5)
    assert taken_over.stream is not None
    assert seconds_of(await read(taken_over.stream)) == pytest.approx(
        0.08 * sum(len(s) for s in SENTENCES)
    )
    await world.drained()
    assert len(world.usage()) == 1

    poor = World(budget=1, synthesizer=InMemorySynthesizer())
    _, someone = await poor.tenant()
    other = await poor.reply_of(someone)
    with pytest.raises(BudgetExhausted):
        await poor.reply(someone, other.id)
    assert not poor.cache._values, "a refused play holds no lock"


async def test_without_the_shared_cache_a_first_play_still_speaks() -> None:
    world = World(budget=100_000)
    _, principal = await world.tenant()
    message = await world.reply_of(principal)
    world.cache.available = False

    first = await world.reply(principal, message.id)

    assert first.stream is not None
    await read(first.stream)
    assert (await world.reply(principal, message.id)).stored is not None


@pytest.mark.parametrize("language", [Language.EN, Language.ES])
async def test_the_two_language_refusal_is_spoken_in_the_conversations_language_alone(
    language: Language,
) -> None:
    """Given Adam's fixed reply when nothing in the knowledge base matches (written in
    English / Spanish), the conversation's language alone is spoken, and no slash."""
    world = World(budget=100_000)
    _, principal = await world.tenant()
    message = await world.reply_of(principal, NO_MATERIAL_REPLY, language=language)

    played = await world.reply(principal, message.id)

    assert played.stream is not None
    await read(played.stream)
    said = " ".join(t for t, _ in world.synthesizer.spoken)
    assert said == NO_MATERIAL_REPLIES[language]
    assert "/" not in said


async def test_only_the_owner_hears_a_reply_and_only_replies_are_spoken() -> None:
    world = World()
    _, owner = await world.tenant()
    _, stranger = await world.tenant()
    message = await world.reply_of(owner)
    colleague = msgspec.structs.replace(owner, user_id=uuid.uuid4())
    for other in (stranger, colleague):
        with pytest.raises(NotFound):
            await world.reply(other, message.id)
    own = msgspec.structs.replace(message, id=uuid.uuid4(), role=MessageRole.USER)
    async with world.uow() as uow:
        await uow.conversations.add_message(own)
        await uow.commit()
    with pytest.raises(InvalidInput):
        await world.reply(owner, own.id)


async def test_roleplay_customers_keep_their_voice_and_speak_the_sessions_language() -> None:
    world = World()
    _, principal = await world.tenant()
    voices = []
    for language in (Language.EN, Language.EN, Language.ES):
        message = await world.reply_of(
            principal,
            "I'll think about it.",
            mode=ConversationMode.ROLEPLAY,
            language=language,
            scenario_id="price_focused",
        )
        answer = await world.reply(principal, message.id)
        assert answer.stream is not None
        voices.append(answer.stream.voice)
        await read(answer.stream)
    assert voices[0] == voices[1] != "memory-adam"
    assert voices[2] == "memory-lucia"
    training = await world.reply_of(principal, "Hola.", language=Language.ES)
    spanish = await world.reply(principal, training.id)
    assert spanish.stream is not None
    assert spanish.stream.voice == "memory-lucia"


async def test_a_recording_is_transcribed_and_its_seconds_recorded() -> None:
    world = World(budget=100_000)
    _, principal = await world.tenant()
    recording = wav_with_text("Is it optional?", seconds=1.5)

    heard = await world.transcribe(
        principal, recording, declared_type="application/octet-stream", language="es"
    )

    assert (heard.text, heard.language, heard.duration_s) == ("Is it optional?", "es", 1.5)
    [record] = world.usage()
    assert (record.kind, record.speech_seconds, record.speech_tokens) == (
        UsageKind.TRANSCRIPTION,
        1.5,
        75,
    )


@pytest.mark.parametrize(
    ("audio", "declared", "error"),
    [
        (b"%PDF-1.7 not audio", "application/pdf", UnsupportedMediaType),
        (b"just some bytes", "application/octet-stream", UnsupportedMediaType),
        (b"", "audio/wav", Exception),
    ],
    ids=["declared-pdf", "undeclared-garbage", "empty"],
)
async def test_what_is_not_a_recording_is_refused_and_nothing_is_held(
    audio: bytes, declared: str, error: type[Exception]
) -> None:
    world = World(budget=100_000)
    _, principal = await world.tenant()
    with pytest.raises(error):
        await world.transcribe(principal, audio, declared_type=declared)
    assert world.usage() == []
    assert world.recognizer.heard == []


async def test_silence_is_no_speech_and_gives_its_hold_back() -> None:
    world = World(budget=RATE * 60)  # exactly one hold of the longest recording
    _, principal = await world.tenant()
    silent = io.BytesIO()
    with wave.open(silent, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(b"\0\0" * 16_000)
    for _ in range(2):  # the hold of the first is given back, so the second is held
        with pytest.raises(NoSpeech):
            await world.transcribe(principal, silent.getvalue(), declared_type="audio/wav")
    assert world.usage() == []
    assert world.telemetry.speech_failures == [("transcribe", "no_speech")] * 2


async def test_an_avatar_session_comes_from_the_provider() -> None:
    world = World()
    _, principal = await world.tenant()
    session = await world.avatar_session(principal)
    assert (session.provider, world.avatar.created) == ("fake-avatar", [("adam-avatar", None)])
    world.avatar.down = True
    with pytest.raises(SpeechUnavailable):
        await world.avatar_session(principal)
    assert world.telemetry.speech_failures == [("avatar_session", "speech_unavailable")]

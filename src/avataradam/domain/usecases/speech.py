"""Speech (issue 20): speaking text and stored replies, transcribing recordings, the
voices, and avatar sessions.

Speaking. Text is split into sentences (the project's splitter) and spoken sentence by
sentence into one WAV stream (`speech_stream.py`): the first audio leaves as soon as the
first sentence is spoken. A stored reply (`SpeakReply`) is spoken once per engine and
voice: its first play streams while it is spoken, and the whole WAV is then kept in the
blob store (its row in `message_audio`); later plays read it from there. A reply is
spoken once across every instance: the first play holds a lock in the shared cache
(`ReplyWaits.lock_ttl_s` at most) while it speaks; a second first play, on any
instance, waits for the kept audio and serves it (nothing spoken or counted twice). It
speaks itself only when the lock is let go with nothing kept (the first play's engine
failed) or expires (its instance died), or when the cache is unreachable.

Who may hear a reply: the owner of its conversation, as who may read it
(`GetConversation`); a reply of another user or dealership is 404. Replies only: a
trainee's own message is 422.

Voices (`domain/voices.py`): Adam's in training, the scenario's customer's in roleplay,
in the conversation's language where the engine has a voice for it.

Usage and budget. Every second spoken or transcribed is recorded in the usage table
(per dealership and day, `UsageKind.SYNTHESIS` / `TRANSCRIPTION`) and counts
`tokens_per_second` tokens against the dealership's monthly budget (`UsageBudget`):
before the work, a hold of the estimated seconds (text: `ESTIMATED_S_PER_CHARACTER`;
a recording: the longest one transcribed) is taken, refused with `BudgetExhausted`
(429) when the budget cannot cover it; after, it is settled to the seconds really
spoken or heard. Work that fails records nothing and gives its hold back; a stream its
reader left records what was spoken until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import math
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope
from avataradam.domain.audio import HEADER_BYTES, WAV, recording_type, wav_header
from avataradam.domain.citations import Sentences, without_markers
from avataradam.domain.errors import DomainError, FeatureDisabled, InvalidInput, NotFound
from avataradam.domain.model import (
    Conversation,
    ConversationMode,
    Dealership,
    MessageRole,
    UsageKind,
    UsageRecord,
)
from avataradam.domain.model.speech import StoredAudio, audio_blob_id
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.services import Cache, CacheUnavailable, Telemetry
from avataradam.domain.ports.speech import (
    AvatarProvider,
    AvatarSession,
    SpeechRecognizer,
    SpeechSynthesizer,
    Transcript,
    UnreadableAudio,
    Voice,
)
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.usecases.conversations.replies import spoken_words
from avataradam.domain.usecases.conversations.start import language_of, require_storable
from avataradam.domain.usecases.scenario_rules import practised_persona
from avataradam.domain.usecases.speech_stream import SpeechAudio, Spoken, Synthesis
from avataradam.domain.usecases.usage import Hold, UsageBudget
from avataradam.domain.voices import adam_voice_in, customer_voice

ESTIMATED_S_PER_CHARACTER = 0.1
"""Seconds a character of text is held for before it is spoken: speech runs at about 14
characters a second, so the hold errs high and is settled to the true seconds."""
SNIFF_BYTES = 64


class SpeechOptions(msgspec.Struct, frozen=True, kw_only=True):
    max_text_chars: int
    max_transcription_s: float
    tokens_per_second: int
    """Budget tokens one second of speech counts (0: speech is free)."""


class Engines(msgspec.Struct, frozen=True, kw_only=True):
    """The configured engines (None: off) and the voices Adam speaks with."""

    synthesizer: SpeechSynthesizer | None
    recognizer: SpeechRecognizer | None
    avatar: AvatarProvider | None
    adam: Voice | None
    """Adam's voice: one of the synthesizer's (None when it is off)."""
    avatar_id: str = "adam"
    """The provider's avatar that plays Adam."""


def require_synthesizer(engines: Engines) -> tuple[SpeechSynthesizer, Voice]:
    if engines.synthesizer is None or engines.adam is None:
        raise FeatureDisabled("speech synthesis is not configured on this server", feature="speech")
    return engines.synthesizer, engines.adam


class SpeechAccounting:
    """Holds, settles and records the budget of speech (module docstring)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        budget: UsageBudget,
        clock: Clock,
        ids: IdGenerator,
        telemetry: Telemetry,
        *,
        tokens_per_second: int,
    ) -> None:
        self._uow, self._budget, self._clock, self._ids = uow, budget, clock, ids
        self._telemetry, self._rate = telemetry, tokens_per_second

    def tokens(self, seconds: float) -> int:
        return round(seconds * self._rate)

    async def hold(self, dealership: Dealership, seconds: float) -> Hold | None:
        """Raises BudgetExhausted when the month's budget cannot cover `seconds`."""
        if self._rate == 0:
            return None
        return await self._budget.hold(dealership, max(1, math.ceil(seconds * self._rate)))

    async def release(self, hold: Hold | None) -> None:
        if hold is not None:
            with contextlib.suppress(DomainError):
                await self._budget.release(hold)

    async def record(
        self,
        hold: Hold | None,
        kind: UsageKind,
        dealership_id: UUID,
        *,
        engine: str,
        seconds: float,
        elapsed_s: float,
        conversation_id: UUID | None = None,
        message_id: UUID | None = None,
        also: Callable[[UnitOfWork], Awaitable[None]] | None = None,
    ) -> None:
        """Records `seconds` of `kind` by `engine` (`elapsed_s` the work took): settles
        `hold` to their tokens and stores the usage record, with `also`'s writes, in one
        transaction; the settlement is taken back when that fails."""
        record = UsageRecord(
            id=self._ids.new_id(),
            dealership_id=dealership_id,
            conversation_id=conversation_id,
            message_id=message_id,
            model=engine,
            prompt_tokens=0,
            completion_tokens=0,
            latency_ms=round(elapsed_s * 1000, 3),
            cached=False,
            created_at=self._clock.now(),
            speech_seconds=seconds,
            kind=kind,
            speech_tokens=self.tokens(seconds),
        )
        await self._store(hold, record, also)

    async def _store(
        self,
        hold: Hold | None,
        record: UsageRecord,
        also: Callable[[UnitOfWork], Awaitable[None]] | None,
    ) -> None:
        spent, used = record.tokens, None
        settled = False
        if hold is not None:
            try:
                used = await self._budget.settle(hold, spent)
                settled = True
            except DomainError as exc:
                self._telemetry.event("usage_budget_settle_failed", code=exc.code, tokens=spent)
        elif self._rate:
            await self._budget.count_unheld(record.dealership_id, spent)
        try:
            async with self._uow() as uow:
                if also is not None:
                    await also(uow)
                await uow.usage.add(record)
                alerts = await self._budget.record_alerts(uow, hold, used) if hold else []
                await uow.commit()
        except BaseException:
            if hold is not None and settled:
                with contextlib.suppress(DomainError):
                    await self._budget.take_back(hold, spent)
            raise
        if alerts:
            self._budget.alerts_raised(record.dealership_id, alerts)


async def _dealership(uow_factory: UnitOfWorkFactory, dealership_id: UUID) -> Dealership:
    async with uow_factory(read_only=True) as uow:
        dealership = await uow.dealerships.get(dealership_id)
    if dealership is None:
        raise NotFound("dealership not found")
    return dealership


@contextlib.contextmanager
def _failures_counted(telemetry: Telemetry, operation: str) -> Iterator[None]:
    """Counts a DomainError raised in the block as a failed `operation`, and raises it."""
    try:
        yield
    except DomainError as exc:
        telemetry.speech_failed(operation, exc.code)
        raise


@dataclass(frozen=True)
class SpeakingParts:
    """What the speaking use cases (`SpeakText`, `SpeakReply`) are built of; `tasks`
    holds the syntheses that are running."""

    uow: UnitOfWorkFactory
    engines: Engines
    accounting: SpeechAccounting
    sentences: Sentences
    clock: Clock
    telemetry: Telemetry
    tasks: set[asyncio.Task[None]]


class _Speaking:
    """What the speaking use cases share: sentences, voices checked, syntheses run."""

    def __init__(self, parts: SpeakingParts) -> None:
        self._uow, self._engines, self._accounting = parts.uow, parts.engines, parts.accounting
        self._sentences, self._clock = parts.sentences, parts.clock
        self._telemetry, self._tasks = parts.telemetry, parts.tasks

    async def _speak(
        self,
        text: str,
        voice: str,
        *,
        hold: Hold | None,
        dealership_id: UUID,
        started: float,
        conversation_id: UUID | None = None,
        message_id: UUID | None = None,
        keep: Callable[[Spoken], Callable[[UnitOfWork], Awaitable[None]]] | None = None,
        after: Callable[[], Awaitable[None]] | None = None,
    ) -> SpeechAudio:
        """`started`: the request's `Clock.monotonic` reading (time to first audio). What
        is spoken is recorded as the dealership's usage (of the conversation and message
        when given) with the writes of `keep(spoken)`; with `keep`, the synthesis goes on
        when its reader leaves. `after()` runs once that is recorded (or failed), and
        must not raise. A DomainError is counted as a failed synthesis."""
        with _failures_counted(self._telemetry, "synthesize"):
            synthesizer, _ = require_synthesizer(self._engines)
            parts = self._sentences(text) or [text]

            async def ended(spoken: Spoken) -> None:
                try:
                    await record(spoken)
                finally:
                    if after is not None:
                        await after()

            async def record(spoken: Spoken) -> None:
                if spoken.error is not None:
                    code = getattr(spoken.error, "code", "internal_error")
                    self._telemetry.speech_failed("synthesize", str(code))
                    self._telemetry.event(
                        "speech_failed",
                        engine=synthesizer.name,
                        code=str(code),
                        spoken_s=spoken.seconds,
                    )
                if not spoken.pcm:
                    await self._accounting.release(hold)
                    return
                self._telemetry.speech_audio(synthesizer.name, "synthesized", spoken.seconds)
                try:
                    await self._accounting.record(
                        hold,
                        UsageKind.SYNTHESIS,
                        dealership_id,
                        engine=synthesizer.name,
                        seconds=spoken.seconds,
                        elapsed_s=spoken.elapsed_s,
                        conversation_id=conversation_id,
                        message_id=message_id,
                        also=None if keep is None else keep(spoken),
                    )
                except DomainError as exc:  # the audio was heard; only its record is lost
                    self._telemetry.event(
                        "speech_usage_not_recorded", code=exc.code, spoken_s=spoken.seconds
                    )

            synthesis = Synthesis(
                synthesizer,
                parts,
                voice=voice,
                clock=self._clock,
                on_end=ended,
                finish_when_abandoned=keep is not None,
            )
            synthesis.start(self._tasks)
            audio = await synthesis.first_audio(voice)
            self._telemetry.speech_first_audio(synthesizer.name, self._clock.monotonic() - started)
            return audio


class SpeakText(_Speaking):
    """`POST /v1/speech`: text spoken with a voice of the engine (Adam's by default)."""

    def __init__(self, parts: SpeakingParts, *, max_text_chars: int) -> None:
        super().__init__(parts)
        self._max_chars = max_text_chars

    async def __call__(
        self,
        principal: Principal,
        text: str,
        *,
        voice: str | None = None,
        dealership_id: UUID | None = None,
    ) -> SpeechAudio:
        """The WAV stream of `text`, its first sentence spoken. Raises FeatureDisabled
        (no synthesizer), InvalidInput (empty or too long a text, an unknown voice:
        the message lists the voices), BudgetExhausted, SpeechUnavailable."""
        started = self._clock.monotonic()
        synthesizer, adam = require_synthesizer(self._engines)
        said = text.strip()
        if not said or len(said) > self._max_chars:
            raise InvalidInput(
                f"text must be 1 to {self._max_chars} characters, not counting leading and "
                "trailing whitespace",
                field="text",
            )
        require_storable(said, "text")
        chosen = adam.id if voice is None else voice
        if chosen not in {v.id for v in synthesizer.voices}:
            names = ", ".join(v.id for v in synthesizer.voices)
            raise InvalidInput(f"unknown voice; choose one of {names}", field="voice")
        dealership = await _dealership(self._uow, dealership_scope(principal, dealership_id))
        hold = await self._accounting.hold(dealership, len(said) * ESTIMATED_S_PER_CHARACTER)

        return await self._speak(
            said, chosen, hold=hold, dealership_id=dealership.id, started=started
        )


class ReplyAudio(msgspec.Struct, frozen=True, kw_only=True):
    """A reply's audio: `stored` (read it with `SpeakReply.read`), or, the first time
    it is played, `stream`, spoken now and kept once complete."""

    stored: StoredAudio | None = None
    stream: SpeechAudio | None = None


class ReplyWaits(msgspec.Struct, frozen=True, kw_only=True):
    """How a reply's first play is shared (module docstring): the lock is held
    `lock_ttl_s` at most (longer than the longest reply takes to speak: past it, a
    waiting play speaks too), and a waiting play looks for the kept audio every
    `poll_interval_s`. Built from Settings (`AVATARADAM_SPEECH_REPLY_*`), which hold the
    defaults."""

    lock_ttl_s: float
    poll_interval_s: float


class SpeakReply(_Speaking):
    """`GET /v1/messages/{id}/audio`: a stored reply, spoken once (module docstring)."""

    def __init__(self, parts: SpeakingParts, *, cache: Cache, waits: ReplyWaits) -> None:
        super().__init__(parts)
        self._cache, self._waits = cache, waits

    async def __call__(
        self, principal: Principal, message_id: UUID, *, dealership_id: UUID | None = None
    ) -> ReplyAudio:
        """Raises FeatureDisabled, NotFound (no such reply of the caller's), InvalidInput
        (a message of the trainee's), BudgetExhausted, SpeechUnavailable."""
        started = self._clock.monotonic()
        synthesizer, _ = require_synthesizer(self._engines)
        scope = dealership_scope(principal, dealership_id)
        async with self._uow() as uow:
            message = await uow.conversations.get_message(
                message_id, dealership_id=scope, user_id=principal.user_id
            )
            conversation = (
                await uow.conversations.get(
                    message.conversation_id, dealership_id=scope, user_id=principal.user_id
                )
                if message is not None
                else None
            )
            if message is None or conversation is None:
                raise NotFound("message not found")
            if message.role is not MessageRole.ASSISTANT:
                raise InvalidInput("only replies are spoken, not the trainee's own messages")
            voice = await self._voice(uow, conversation)
            stored = await uow.message_audio.get(
                message_id, engine=synthesizer.name, voice=voice.id
            )
            dealership = await uow.dealerships.get(scope)
        if stored is not None:
            return ReplyAudio(stored=stored)
        if dealership is None:
            raise NotFound("message not found")
        text = without_markers(spoken_words(message.content, conversation.language)).strip()
        if not text:
            raise InvalidInput("this reply has no words to speak")
        lock = f"avataradam:speaking:{message_id}:{synthesizer.name}:{voice.id}"
        stored, token = await self._first_play(lock, message_id, synthesizer.name, voice.id)
        if stored is not None:
            return ReplyAudio(stored=stored)

        def keep(spoken: Spoken) -> Callable[[UnitOfWork], Awaitable[None]]:
            audio = wav_header(spoken.sample_rate, len(spoken.pcm)) + spoken.pcm
            stored = StoredAudio(
                message_id=message_id,
                engine=synthesizer.name,
                voice=voice.id,
                blob_id=audio_blob_id(message_id, synthesizer.name, voice.id),
                dealership_id=conversation.dealership_id,
                content_type=WAV,
                size_bytes=len(audio),
                duration_s=spoken.seconds,
                sample_rate=spoken.sample_rate,
                sha256=hashlib.sha256(audio).hexdigest(),
                created_at=self._clock.now(),
            )

            async def store(uow: UnitOfWork) -> None:
                if spoken.complete and await uow.message_audio.add(stored):
                    await uow.audio_blobs.write(stored.blob_id, _parts(audio))

            return store

        try:
            hold = await self._accounting.hold(dealership, len(text) * ESTIMATED_S_PER_CHARACTER)
            stream = await self._speak(
                text,
                voice.id,
                hold=hold,
                dealership_id=conversation.dealership_id,
                started=started,
                conversation_id=conversation.id,
                message_id=message_id,
                keep=keep,
                after=functools.partial(self._let_go, lock, token),
            )
        except BaseException:  # refused, or failed before speaking: nothing to wait for
            await self._let_go(lock, token)  # once more when the synthesis ends: a no-op
            raise
        return ReplyAudio(stream=stream)

    async def _first_play(
        self, lock: str, message_id: UUID, engine: str, voice: str
    ) -> tuple[StoredAudio | None, bytes | None]:
        """(stored, token): the audio another play kept while this one waited for its
        lock, or this play's lock token to speak it (token None: the cache is
        unreachable, so it speaks without one)."""
        token = secrets.token_hex(8).encode()
        while True:
            try:
                if await self._cache.set_if_absent(lock, token, ttl_s=self._waits.lock_ttl_s):
                    break
            except CacheUnavailable:
                return None, None
            await asyncio.sleep(self._waits.poll_interval_s)
            if (stored := await self._stored(message_id, engine, voice)) is not None:
                return stored, None
        # Kept by a play that let go just before this one took the lock: give it back.
        if (stored := await self._stored(message_id, engine, voice)) is not None:
            await self._let_go(lock, token)
            return stored, None
        return None, token

    async def _let_go(self, lock: str, token: bytes | None) -> None:
        """Releases this play's lock (none: nothing to do); an unreachable cache lets it
        expire on its own."""
        if token is not None:
            with contextlib.suppress(CacheUnavailable):
                await self._cache.delete_if_equal(lock, token)

    async def _stored(self, message_id: UUID, engine: str, voice: str) -> StoredAudio | None:
        """Read on the primary: a replica behind it would have a waiting play speak."""
        async with self._uow() as uow:
            return await uow.message_audio.get(message_id, engine=engine, voice=voice)

    async def read(self, stored: StoredAudio) -> bytes:
        """The stored WAV, whole (a reply's audio is a few MB at most). Raises NotFound
        when its blob is gone."""
        async with self._uow() as uow:
            data = b"".join([part async for part in uow.audio_blobs.read(stored.blob_id)])
        if len(data) != stored.size_bytes or len(data) < HEADER_BYTES:
            raise NotFound("the reply's audio is gone; ask again")
        return data

    async def _voice(self, uow: UnitOfWork, conversation: Conversation) -> Voice:
        synthesizer, adam = require_synthesizer(self._engines)
        voices, language = synthesizer.voices, conversation.language.value
        if conversation.mode is not ConversationMode.ROLEPLAY:
            return adam_voice_in(voices, adam, language)
        persona = await practised_persona(uow, conversation)
        return customer_voice(
            voices,
            key=conversation.scenario_id or persona.scenario,
            language=language,
            gender=persona.voice_gender,
            adam=adam,
        )


async def _parts(data: bytes, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Transcribe:
    """`POST /v1/transcriptions`: a recording's words (module docstring for the budget)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        engines: Engines,
        accounting: SpeechAccounting,
        clock: Clock,
        telemetry: Telemetry,
        *,
        max_duration_s: float,
    ) -> None:
        self._uow, self._engines, self._accounting = uow, engines, accounting
        self._clock, self._telemetry, self._max_s = clock, telemetry, max_duration_s

    async def __call__(
        self,
        principal: Principal,
        audio: bytes,
        *,
        declared_type: str | None,
        language: str | None = None,
        dealership_id: UUID | None = None,
    ) -> Transcript:
        """What was said in `audio` (sent as `declared_type`), in `language` (`en`,
        `es`; None: detected). Raises FeatureDisabled, UnsupportedMediaType (415),
        UnreadableAudio, NoSpeech (422), AudioTooLong (413), InvalidInput (another
        language), BudgetExhausted, SpeechUnavailable."""
        recognizer = self._engines.recognizer
        if recognizer is None:
            raise FeatureDisabled(
                "speech recognition is not configured on this server", feature="transcription"
            )
        with _failures_counted(self._telemetry, "transcribe"):
            return await self._transcribe(
                recognizer, principal, audio, declared_type, language, dealership_id
            )

    async def _transcribe(
        self,
        recognizer: SpeechRecognizer,
        principal: Principal,
        audio: bytes,
        declared_type: str | None,
        language: str | None,
        dealership_id: UUID | None,
    ) -> Transcript:
        if language is not None:
            language = language_of(language).value
        scope = dealership_scope(principal, dealership_id)
        if not audio:
            raise UnreadableAudio("the recording is empty")
        content_type = recording_type(declared_type, audio[:SNIFF_BYTES])
        dealership = await _dealership(self._uow, scope)
        hold = await self._accounting.hold(dealership, self._max_s)
        started = self._clock.monotonic()
        try:
            heard = await recognizer.transcribe(
                audio, content_type=content_type, language=language, max_duration_s=self._max_s
            )
        except BaseException:
            await self._accounting.release(hold)
            raise
        elapsed = self._clock.monotonic() - started
        await self._accounting.record(
            hold,
            UsageKind.TRANSCRIPTION,
            dealership.id,
            engine=recognizer.name,
            seconds=heard.duration_s,
            elapsed_s=elapsed,
        )
        self._telemetry.speech_audio(recognizer.name, "transcribed", heard.duration_s)
        return heard


class VoiceList(msgspec.Struct, frozen=True, kw_only=True):
    """What speech this server offers: the synthesizer (`engine`, None when off), Adam's
    voice id and the voices (empty when off), and the recogniser (None when off)."""

    engine: str | None
    adam: str | None
    voices: Sequence[Voice]
    recognizer: str | None


class ListVoices:
    """`GET /v1/speech/voices`: what speech is on, the synthesizer's voices and Adam's.
    Never refused: a client reads here whether to offer speaking and listening."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    def __call__(self, principal: Principal) -> VoiceList:  # noqa: ARG002 -- any user
        synthesizer, recognizer = self._engines.synthesizer, self._engines.recognizer
        adam = self._engines.adam
        return VoiceList(
            engine=None if synthesizer is None else synthesizer.name,
            adam=None if synthesizer is None or adam is None else adam.id,
            voices=() if synthesizer is None else synthesizer.voices,
            recognizer=None if recognizer is None else recognizer.name,
        )


class StartAvatarSession:
    """`POST /v1/avatar/sessions`: a short-lived session of the avatar provider for the
    browser (never our key). FeatureDisabled (`avatar`) without a provider;
    SpeechUnavailable when it is down or refuses."""

    def __init__(self, engines: Engines, telemetry: Telemetry) -> None:
        self._engines, self._telemetry = engines, telemetry

    async def __call__(self, principal: Principal) -> AvatarSession:  # noqa: ARG002 -- any user
        provider = self._engines.avatar
        if provider is None:
            raise FeatureDisabled(
                "no avatar provider is configured on this server", feature="avatar"
            )
        with _failures_counted(self._telemetry, "avatar_session"):
            return await provider.create_session(avatar_id=self._engines.avatar_id, voice=None)

"""Wiring of speech and the avatar (issue 20): the configured engines
(`AVATARADAM_SPEECH_*`, precedence in `settings/speech.py`) and the use cases the API
calls. Kept out of `container.py` like `scoring.py`.

The local engines are an optional install (`just setup-speech`; their factories only
look on the disk and answer None when missing), the cloud ones need nothing installed
but their keys. Closing them (a Piper or recogniser process, an HTTP client)
and warming them up (loading a model) are their capabilities (`Closable`, `WarmsUp`);
a warm-up that fails is logged and leaves speech to fail per request (503
`speech_unavailable`), never the API's readiness.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from avataradam.adapters.avatar.heygen import HeyGenAvatars
from avataradam.adapters.memory.avatar import InMemoryAvatarProvider
from avataradam.adapters.memory.speech import InMemoryRecognizer, InMemorySynthesizer
from avataradam.adapters.speech.elevenlabs import ElevenLabsSpeech
from avataradam.adapters.speech.local import local_recognizer, local_synthesizer
from avataradam.adapters.speech.openai import OpenAISpeech
from avataradam.domain.ports.capabilities import Closable, WarmsUp
from avataradam.domain.ports.speech import AvatarProvider, SpeechRecognizer, SpeechSynthesizer
from avataradam.domain.ports.system import Clock
from avataradam.domain.usecases.speech import (
    Engines,
    ListVoices,
    ReplyWaits,
    SpeakingParts,
    SpeakReply,
    SpeakText,
    SpeechAccounting,
    StartAvatarSession,
    Transcribe,
)
from avataradam.domain.voices import adam_voice
from avataradam.entrypoints.settings import Settings

if TYPE_CHECKING:
    from avataradam.entrypoints.container import Container


@dataclass(frozen=True)
class SpeechEngines:
    """The engines a deployment speaks and listens with; None is off."""

    synthesizer: SpeechSynthesizer | None = None
    recognizer: SpeechRecognizer | None = None
    avatar: AvatarProvider | None = None


@dataclass
class Speech:
    """The speech use cases of the API, and the engines' lifecycle."""

    engines: Engines
    speak: SpeakText
    reply: SpeakReply
    transcribe: Transcribe
    voices: ListVoices
    avatar_session: StartAvatarSession
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    """Syntheses in flight (a reply being spoken and kept outlives its request)."""

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Lets syntheses in flight end and be recorded (call at shutdown)."""
        if self.tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(set(self.tasks), timeout=timeout_s)

    async def aclose(self) -> None:
        """Closes the engines' processes and clients."""
        for engine in (self.engines.synthesizer, self.engines.recognizer, self.engines.avatar):
            if isinstance(engine, Closable):
                await engine.aclose()

    async def warm_up(self, log: Callable[..., object]) -> None:
        """Loads the engines' models: a blocking warm-up off the event loop, a coroutine
        one (Piper's, whose processes belong to the loop) on it; a failure is logged
        with `log` (event, fields) and leaves the engine to fail per request."""
        for engine in (self.engines.synthesizer, self.engines.recognizer):
            if isinstance(engine, WarmsUp):
                try:
                    if inspect.iscoroutinefunction(engine.warm_up):
                        await engine.warm_up()
                    else:
                        await asyncio.to_thread(engine.warm_up)
                except Exception as exc:  # noqa: BLE001 -- speech fails per request instead
                    log("speech_warm_up_failed", engine=engine.name, error_type=type(exc).__name__)


def synthesizer(settings: Settings) -> SpeechSynthesizer | None:
    """The configured synthesizer; None for `off`, or `auto` without a key or a local
    engine. Raises ValueError for a local engine asked for by name but not installed."""
    engine = settings.speech.synthesizer_engine()
    if engine == "off":
        return None
    if engine == "memory":
        return InMemorySynthesizer()
    if engine in ("openai", "elevenlabs"):
        return _cloud(settings, engine)
    if engine not in ("auto", "piper", "espeak-ng"):
        raise ValueError(f"AVATARADAM_SPEECH_SYNTHESIZER={engine} is no synthesizer")
    found = local_synthesizer(engine)
    if found is None and engine != "auto":
        raise ValueError(
            f"AVATARADAM_SPEECH_SYNTHESIZER={engine}, which is not installed: just setup-speech"
        )
    return found


def recognizer(settings: Settings) -> SpeechRecognizer | None:
    """As `synthesizer`, for the recogniser."""
    speech = settings.speech
    engine = speech.recognizer_engine()
    if engine == "off":
        return None
    if engine == "memory":
        return InMemoryRecognizer()
    if engine in ("openai", "elevenlabs"):
        return _cloud(settings, engine)
    found = local_recognizer(cpu_threads=speech.stt_cpu_threads)
    if found is None and engine != "auto":
        raise ValueError(
            f"AVATARADAM_SPEECH_RECOGNIZER={engine}, which is not installed: just setup-speech"
        )
    return found


def _cloud(settings: Settings, engine: str) -> OpenAISpeech | ElevenLabsSpeech:
    """The cloud adapter `engine` names; it implements both ports."""
    speech = settings.speech
    if engine == "openai":
        return OpenAISpeech(
            base_url=speech.openai_base_url,
            api_key=speech.openai_api_key or "",
            tts_model=speech.openai_tts_model,
            stt_model=speech.openai_stt_model,
            timeout_s=speech.timeout_s,
        )
    return ElevenLabsSpeech(
        api_key=speech.elevenlabs_api_key or "",
        base_url=speech.elevenlabs_base_url,
        tts_model=speech.elevenlabs_tts_model,
        stt_model=speech.elevenlabs_stt_model,
        timeout_s=speech.timeout_s,
    )


def avatar_provider(settings: Settings, clock: Clock) -> AvatarProvider | None:
    speech = settings.speech
    engine = speech.avatar_engine()
    if engine == "heygen":
        return HeyGenAvatars(
            api_key=speech.heygen_api_key or "",
            base_url=speech.heygen_base_url,
            timeout_s=min(speech.timeout_s, 15.0),
            clock=clock,
        )
    if engine == "memory":
        return InMemoryAvatarProvider(clock)
    return None


def speech_engines(settings: Settings, clock: Clock) -> SpeechEngines:
    """The engines `settings` configure (see `settings/speech.py`). One adapter that
    implements both ports (a cloud API) serves both when both name it."""
    synthesizing = synthesizer(settings)
    speech = settings.speech
    engine = speech.synthesizer_engine()
    same_cloud = engine in ("openai", "elevenlabs") and engine == speech.recognizer_engine()
    return SpeechEngines(
        synthesizer=synthesizing,
        recognizer=cast("SpeechRecognizer", synthesizing) if same_cloud else recognizer(settings),
        avatar=avatar_provider(settings, clock),
    )


def wire_speech(container: Container, engines: SpeechEngines) -> Speech:
    """The speech use cases over `engines`; Adam's voice is `AVATARADAM_SPEECH_VOICE`
    (ValueError when the synthesizer has no such voice) or the engine's default
    (`domain/voices.py`)."""
    settings = container.settings.speech
    synthesizing = engines.synthesizer
    adam = adam_voice(synthesizing.voices, settings.voice) if synthesizing is not None else None
    wired = Engines(
        synthesizer=synthesizing,
        recognizer=engines.recognizer,
        avatar=engines.avatar,
        adam=adam,
        avatar_id=settings.heygen_avatar_id or "adam",
    )
    uow, clock, telemetry = container.uow, container.clock, container.telemetry
    accounting = SpeechAccounting(
        uow,
        container.usage_budget,
        clock,
        container.ids,
        telemetry,
        tokens_per_second=settings.budget_tokens_per_second,
    )
    tasks: set[asyncio.Task[None]] = set()
    speaking = SpeakingParts(uow, wired, accounting, container.sentences, clock, telemetry, tasks)
    return Speech(
        engines=wired,
        speak=SpeakText(speaking, max_text_chars=settings.max_text_chars),
        reply=SpeakReply(
            speaking,
            cache=container.cache,
            waits=ReplyWaits(
                lock_ttl_s=settings.reply_lock_ttl_s,
                poll_interval_s=settings.reply_poll_interval_s,
            ),
        ),
        transcribe=Transcribe(
            uow, wired, accounting, clock, telemetry, max_duration_s=settings.max_transcription_s
        ),
        voices=ListVoices(wired),
        avatar_session=StartAvatarSession(wired, telemetry),
        tasks=tasks,
    )

"""Which adapters the speech settings build (`entrypoints/speech.py`): the cloud engines
by their keys, one adapter for both ports when both name it, the in-memory twins, and
Adam's voice checked against the engine's."""

from __future__ import annotations

import asyncio
import threading

import msgspec
import pytest

from avataradam.adapters.avatar.heygen import HeyGenAvatars
from avataradam.adapters.memory.avatar import InMemoryAvatarProvider
from avataradam.adapters.memory.speech import InMemoryRecognizer, InMemorySynthesizer
from avataradam.adapters.speech.elevenlabs import ElevenLabsSpeech
from avataradam.adapters.speech.openai import OpenAISpeech
from avataradam.adapters.system import SystemClock
from avataradam.entrypoints.settings import load_settings
from avataradam.entrypoints.speech import SpeechEngines, speech_engines
from tests.support.world import in_memory_container


def engines(**variables: str) -> SpeechEngines:
    settings = load_settings(
        {f"AVATARADAM_SPEECH_{name}": value for name, value in variables.items()}, env_file=None
    )
    return speech_engines(settings, SystemClock())


async def test_keys_build_the_cloud_engines_one_adapter_serving_both_ports() -> None:
    openai = engines(OPENAI_API_KEY="k")
    assert isinstance(openai.synthesizer, OpenAISpeech)
    assert openai.recognizer is openai.synthesizer
    both = engines(OPENAI_API_KEY="k", ELEVENLABS_API_KEY="k")
    assert isinstance(both.synthesizer, ElevenLabsSpeech)
    assert isinstance(both.recognizer, OpenAISpeech)
    heygen = engines(HEYGEN_API_KEY="k", HEYGEN_AVATAR_ID="adam", SYNTHESIZER="off")
    assert isinstance(heygen.avatar, HeyGenAvatars)
    for built in (openai, both, heygen):
        for engine in (built.synthesizer, built.recognizer, built.avatar):
            close = getattr(engine, "aclose", None)
            if close is not None:
                await close()


def test_the_twins_and_off() -> None:
    twins = engines(SYNTHESIZER="memory", RECOGNIZER="memory", AVATAR_PROVIDER="memory")
    assert isinstance(twins.synthesizer, InMemorySynthesizer)
    assert isinstance(twins.recognizer, InMemoryRecognizer)
    assert isinstance(twins.avatar, InMemoryAvatarProvider)
    assert engines(SYNTHESIZER="off", RECOGNIZER="off") == SpeechEngines()


def test_adams_voice_must_be_one_of_the_engines() -> None:
    settings = load_settings(
        {
            "AVATARADAM_EMBEDDER": "hashing",
            "AVATARADAM_SPEECH_SYNTHESIZER": "memory",
            "AVATARADAM_SPEECH_VOICE": "memory-bruno",
        },
        env_file=None,
    )
    adam = in_memory_container(settings).speech.engines.adam
    assert adam is not None
    assert adam.id == "memory-bruno"
    wrong = load_settings(
        {
            "AVATARADAM_EMBEDDER": "hashing",
            "AVATARADAM_SPEECH_SYNTHESIZER": "memory",
            "AVATARADAM_SPEECH_VOICE": "nobody",
        },
        env_file=None,
    )
    with pytest.raises(ValueError, match="memory-adam"):
        in_memory_container(wrong)


class _WarmedSynthesizer(InMemorySynthesizer):
    """A twin whose warm-up is a coroutine, as Piper's is (its processes belong to the
    event loop)."""

    def __init__(self) -> None:
        super().__init__()
        self.warmed = 0

    async def warm_up(self) -> None:
        await asyncio.sleep(0)
        self.warmed += 1


class _BlockingRecognizer(InMemoryRecognizer):
    """A twin whose warm-up blocks, as faster-whisper's model load does."""

    def __init__(self) -> None:
        super().__init__()
        self.warmed_in: list[str] = []

    def warm_up(self) -> None:
        self.warmed_in.append(threading.current_thread().name)


async def test_a_coroutine_warm_up_is_awaited_and_a_blocking_one_runs_off_the_loop() -> None:
    """Given a synthesizer whose warm-up is a coroutine and a recogniser whose warm-up
    blocks, when the speech engines are warmed up, then the coroutine has run (not been
    dropped un-awaited) and the blocking one ran in another thread; nothing is logged."""
    settings = load_settings(
        {"AVATARADAM_EMBEDDER": "hashing", "AVATARADAM_SPEECH_SYNTHESIZER": "memory"},
        env_file=None,
    )
    speech = in_memory_container(settings).speech
    synthesizer, recognizer = _WarmedSynthesizer(), _BlockingRecognizer()
    speech.engines = msgspec.structs.replace(
        speech.engines, synthesizer=synthesizer, recognizer=recognizer
    )
    logged: list[object] = []

    await speech.warm_up(lambda event, **fields: logged.append((event, fields)))

    assert synthesizer.warmed == 1
    assert len(recognizer.warmed_in) == 1
    assert recognizer.warmed_in[0] != threading.current_thread().name
    assert logged == []

"""The cloud speech adapters under test (OpenAI's audio API, ElevenLabs), each with its
local emulation, for the tests every such adapter must pass (`test_speech_cloud.py`)
and each provider's own (`test_speech_openai.py`, `test_speech_elevenlabs.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from avataradam.adapters.speech.elevenlabs import ElevenLabsSpeech
from avataradam.adapters.speech.openai import OpenAISpeech
from tests.emulators import elevenlabs, openai_audio
from tests.emulators.audio import ListeningApi, tone_pcm16, wav_bytes
from tests.emulators.http_server import serving

CloudSpeech = OpenAISpeech | ElevenLabsSpeech


@dataclass(frozen=True)
class Cloud:
    """A provider: its emulation, its adapter against it (`adapter(emulator,
    **overrides)`), a voice it speaks, its transcription route and the form the adapter
    sends there for `language="en"`, and the message of its refusal of a file it cannot
    decode."""

    name: str
    emulator: Callable[[], ListeningApi]
    adapter: Callable[..., Any]
    voice: str
    transcription_path: str
    transcription_form: Mapping[str, str]
    language_field: str
    undecodable: str
    heard_length_slack_s: float
    """How far before the recording's end the length it reports may fall."""

    def __str__(self) -> str:
        return self.name


def _openai(emulator: ListeningApi, **overrides: object) -> OpenAISpeech:
    options: dict[str, object] = {
        "base_url": f"{emulator.base_url}/v1/",
        "api_key": openai_audio.API_KEY,
        "timeout_s": 2.0,
    }
    return OpenAISpeech(**(options | overrides))  # type: ignore[arg-type]


def _elevenlabs(emulator: ListeningApi, **overrides: object) -> ElevenLabsSpeech:
    options: dict[str, object] = {
        "api_key": elevenlabs.API_KEY,
        "base_url": emulator.base_url,
        "timeout_s": 2.0,
    }
    return ElevenLabsSpeech(**(options | overrides))  # type: ignore[arg-type]


OPENAI = Cloud(
    name="openai",
    emulator=openai_audio.OpenAIAudioEmulator,
    adapter=_openai,
    voice="alloy",
    transcription_path="/v1/audio/transcriptions",
    transcription_form={"model": "whisper-1", "response_format": "verbose_json", "language": "en"},
    language_field="language",
    undecodable="could not be decoded",
    heard_length_slack_s=0.0,
)
ELEVENLABS = Cloud(
    name="elevenlabs",
    emulator=elevenlabs.ElevenLabsEmulator,
    adapter=_elevenlabs,
    voice="JBFqnCBsd6RMkjVDRZzb",  # George
    transcription_path="/v1/speech-to-text",
    transcription_form={
        "model_id": "scribe_v1",
        "tag_audio_events": "false",
        "timestamps_granularity": "word",
        "language_code": "en",
    },
    language_field="language_code",
    undecodable="could not be processed",
    heard_length_slack_s=0.1,  # the end of the last word heard
)


def recording(seconds: float = 1.5) -> bytes:
    """A WAV of a tone (16 kHz)."""
    return wav_bytes(tone_pcm16(seconds, 16_000), 16_000)


def fixtures(*clouds: Cloud) -> tuple[Any, Any, Any]:
    """The fixtures `cloud` (one of `clouds`, as a parameter), `emulator` (its emulation,
    served for the module) and `speech` (its adapter, the emulation reset first)."""

    @pytest.fixture(scope="module", params=clouds, ids=str)
    def cloud(request: pytest.FixtureRequest) -> Cloud:
        chosen: Cloud = request.param
        return chosen

    @pytest.fixture(scope="module")
    def emulator(cloud: Cloud) -> Iterator[ListeningApi]:
        service = cloud.emulator()
        with serving(service):
            yield service

    @pytest.fixture
    async def speech(cloud: Cloud, emulator: ListeningApi) -> AsyncIterator[CloudSpeech]:
        emulator.reset()
        adapter = cloud.adapter(emulator)
        yield adapter
        await adapter.aclose()

    return cloud, emulator, speech

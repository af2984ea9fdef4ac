"""Contract of the SpeechSynthesizer and SpeechRecognizer ports for the cloud adapters
(openai, elevenlabs), each against the local emulation of its provider's API: what
every synthesizer and recognizer promises, whatever the engine."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from avataradam.adapters.speech.elevenlabs import ElevenLabsSpeech
from avataradam.adapters.speech.openai import OpenAISpeech
from avataradam.domain.ports.speech import (
    WAV,
    AudioTooLong,
    NoSpeech,
    SpeechRecognizer,
    SpeechSynthesizer,
    UnreadableAudio,
)
from tests.emulators import elevenlabs, openai_audio
from tests.emulators.audio import silence_pcm16, tone_pcm16, wav_bytes
from tests.emulators.http_server import EmulatedApi, serving

SENTENCE = "Every product on the menu is optional."


@dataclass
class Engine:
    synthesizer: SpeechSynthesizer
    recognizer: SpeechRecognizer
    emulator: Any


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, EmulatedApi]]:
    services: dict[str, EmulatedApi] = {
        "openai": openai_audio.OpenAIAudioEmulator(),
        "elevenlabs": elevenlabs.ElevenLabsEmulator(),
    }
    with serving(services["openai"]), serving(services["elevenlabs"]):
        yield services


@pytest.fixture(params=["openai", "elevenlabs"])
async def engine(
    request: pytest.FixtureRequest, emulators: dict[str, EmulatedApi]
) -> AsyncIterator[Engine]:
    emulator = emulators[request.param]
    emulator.reset()
    adapter: OpenAISpeech | ElevenLabsSpeech
    if request.param == "openai":
        adapter = OpenAISpeech(
            base_url=f"{emulator.base_url}/v1", api_key=openai_audio.API_KEY, timeout_s=2
        )
    else:
        adapter = ElevenLabsSpeech(
            api_key=elevenlabs.API_KEY, base_url=emulator.base_url, timeout_s=2
        )
    try:
        yield Engine(adapter, adapter, emulator)
    finally:
        await adapter.aclose()


async def test_speech_is_a_wav_of_pcm16_mono_whose_duration_is_its_frames(engine: Engine) -> None:
    synthesizer = engine.synthesizer
    assert synthesizer.voices, "an engine lists at least one voice"
    assert {voice.gender for voice in synthesizer.voices} <= {"male", "female", "neutral"}

    spoken = await synthesizer.synthesize(SENTENCE, voice=synthesizer.voices[0].id)

    assert spoken.content_type == WAV
    with wave.open(io.BytesIO(spoken.audio)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        assert reader.getframerate() == spoken.sample_rate
        frames = reader.getnframes()
        assert len(reader.readframes(frames + 1)) == 2 * frames, "header sizes are exact"
    assert spoken.duration_s == pytest.approx(frames / spoken.sample_rate)
    assert spoken.duration_s > 0


async def test_a_recording_becomes_its_trimmed_text_language_and_length(engine: Engine) -> None:
    recording = wav_bytes(tone_pcm16(1.25, 16_000), 16_000)
    engine.emulator.say(recording, "  Can I skip the service contract?  ")

    transcript = await engine.recognizer.transcribe(
        recording, content_type="audio/wav", max_duration_s=30
    )

    assert transcript.text == "Can I skip the service contract?"
    assert transcript.language == "en"
    assert transcript.duration_s == pytest.approx(1.25)


async def test_the_language_asked_for_is_the_one_answered(engine: Engine) -> None:
    recording = wav_bytes(tone_pcm16(1.0, 16_000), 16_000)
    engine.emulator.say(recording, "¿Es opcional?", language="es")

    transcript = await engine.recognizer.transcribe(
        recording, content_type="audio/wav", language="es", max_duration_s=30
    )

    assert transcript.language == "es"


@pytest.mark.parametrize(
    ("audio", "content_type", "error"),
    [
        (wav_bytes(tone_pcm16(2.0, 8_000), 8_000), "audio/wav", AudioTooLong),
        (wav_bytes(silence_pcm16(1.0, 8_000), 8_000), "audio/wav", NoSpeech),
        (b"RIFF\x10\x00\x00\x00WAVEjunk", "audio/wav", UnreadableAudio),
        (b"", "audio/webm", UnreadableAudio),
    ],
    ids=["too-long", "silence", "truncated", "empty"],
)
async def test_bad_recordings_raise_the_ports_errors(
    engine: Engine, audio: bytes, content_type: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await engine.recognizer.transcribe(audio, content_type=content_type, max_duration_s=1.5)

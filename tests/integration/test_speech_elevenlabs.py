"""ElevenLabsSpeech over real HTTP against the local emulation of ElevenLabs' API: the
speech request, the WAV it makes of the PCM, its voices and its own error mapping (what
every cloud adapter does: test_speech_cloud.py)."""

from __future__ import annotations

import io
import wave

import pytest

from avataradam.adapters.speech.elevenlabs import ELEVENLABS_VOICES, ElevenLabsSpeech
from avataradam.domain.ports.speech import (
    WAV,
    NoSpeech,
    SpeechUnavailable,
    Voice,
)
from tests.emulators.audio import (
    silence_pcm16,
    tone_pcm16,
    wav_bytes,
)
from tests.emulators.elevenlabs import API_KEY, SECONDS_PER_CHARACTER, ElevenLabsEmulator
from tests.integration.cloud_speech import ELEVENLABS, fixtures
from tests.integration.cloud_speech import recording as _recording

SENTENCE = "GAP covers the difference between what you owe and what the car is worth."
GEORGE = ELEVENLABS.voice


cloud, emulator, speech = fixtures(ELEVENLABS)
_adapter = ELEVENLABS.adapter


async def test_synthesis_asks_for_pcm_and_wraps_it_in_a_strict_wav(
    speech: ElevenLabsSpeech, emulator: ElevenLabsEmulator
) -> None:
    spoken = await speech.synthesize(SENTENCE, voice=GEORGE)

    [request] = emulator.requests
    assert request.path == f"/v1/text-to-speech/{GEORGE}"
    assert request.query == {"output_format": "pcm_22050"}
    assert request.headers["xi-api-key"] == API_KEY
    assert request.json == {"text": SENTENCE, "model_id": "eleven_multilingual_v2"}
    assert (spoken.content_type, spoken.sample_rate) == (WAV, 22_050)
    with wave.open(io.BytesIO(spoken.audio)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (
            1,
            2,
            22_050,
        )
        frames = reader.getnframes()
        assert reader.readframes(frames) == tone_pcm16(
            len(SENTENCE) * SECONDS_PER_CHARACTER, 22_050
        )
    assert spoken.duration_s == pytest.approx(frames / 22_050)


async def test_every_default_voice_is_a_premade_voice_of_the_api(
    speech: ElevenLabsSpeech,
) -> None:
    assert speech.voices == ELEVENLABS_VOICES
    assert {voice.gender for voice in speech.voices} == {"male", "female"}
    for voice in speech.voices:
        assert (await speech.synthesize("Hello.", voice=voice.id)).duration_s > 0


async def test_an_accounts_own_voices_replace_the_defaults(emulator: ElevenLabsEmulator) -> None:
    emulator.reset()
    own = Voice(id="own-voice-1", language="es", gender="female")
    emulator.voices.add(own.id)
    adapter = _adapter(emulator, voices=[own])
    try:
        assert list(adapter.voices) == [own]
        assert (await adapter.synthesize("Hola.", voice=own.id)).duration_s > 0
    finally:
        await adapter.aclose()
    with pytest.raises(ValueError, match="at least one"):
        _adapter(emulator, voices=[])


async def test_an_unknown_voice_is_speech_unavailable(speech: ElevenLabsSpeech) -> None:
    with pytest.raises(SpeechUnavailable, match="was not found") as raised:
        await speech.synthesize(SENTENCE, voice="no-such-voice")
    assert raised.value.details["status"] == 404


async def test_a_refused_key_or_a_spent_quota_is_speech_unavailable(
    emulator: ElevenLabsEmulator,
) -> None:
    emulator.reset()
    adapter = _adapter(emulator, api_key="xi-wrong")
    try:
        with pytest.raises(SpeechUnavailable) as refused:
            await adapter.synthesize(SENTENCE, voice=GEORGE)
    finally:
        await adapter.aclose()
    assert refused.value.details["status"] == 401
    assert "xi-wrong" not in str(refused.value)

    emulator.quota_exceeded = True
    adapter = _adapter(emulator)
    try:
        with pytest.raises(SpeechUnavailable, match="exceeds your quota"):
            await adapter.transcribe(_recording(), content_type="audio/wav", max_duration_s=60)
    finally:
        await adapter.aclose()
        emulator.quota_exceeded = False
    assert len(emulator.requests) == 2, "a 401 is not retried"


async def test_a_busy_service_that_stays_busy_is_speech_unavailable(
    speech: ElevenLabsSpeech, emulator: ElevenLabsEmulator
) -> None:
    emulator.fail_next(429, times=3)
    with pytest.raises(SpeechUnavailable, match="concurrent requests") as raised:
        await speech.synthesize(SENTENCE, voice=GEORGE)
    assert raised.value.details["status"] == 429


async def test_silence_is_no_speech_and_audio_events_are_not_asked_for(
    speech: ElevenLabsSpeech, emulator: ElevenLabsEmulator
) -> None:
    silent = wav_bytes(silence_pcm16(1.0, 16_000), 16_000)
    with pytest.raises(NoSpeech):
        await speech.transcribe(silent, content_type="audio/wav", max_duration_s=60)
    assert emulator.requests[0].form["tag_audio_events"] == "false"


async def test_an_unknown_model_is_speech_unavailable(emulator: ElevenLabsEmulator) -> None:
    emulator.reset()
    adapter = _adapter(emulator, stt_model="scribe_v9")
    try:
        with pytest.raises(SpeechUnavailable) as raised:
            await adapter.transcribe(_recording(), content_type="audio/wav", max_duration_s=60)
    finally:
        await adapter.aclose()
    assert raised.value.details["status"] == 400

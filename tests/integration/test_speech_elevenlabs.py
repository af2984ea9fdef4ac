"""ElevenLabsSpeech over real HTTP against the local emulation of ElevenLabs' API:
request shapes, the WAV it makes of the PCM, and every error mapping."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import AsyncIterator, Iterator

import pytest

from avataradam.adapters.speech.elevenlabs import ELEVENLABS_VOICES, ElevenLabsSpeech
from avataradam.domain.ports.speech import (
    WAV,
    AudioTooLong,
    NoSpeech,
    SpeechUnavailable,
    UnreadableAudio,
    Voice,
)
from tests.emulators.audio import (
    as_without_pyav,
    ogg_opus_bytes,
    silence_pcm16,
    tone_pcm16,
    wav_bytes,
)
from tests.emulators.elevenlabs import API_KEY, SECONDS_PER_CHARACTER, ElevenLabsEmulator
from tests.emulators.http_server import serving

SENTENCE = "GAP covers the difference between what you owe and what the car is worth."
GEORGE = "JBFqnCBsd6RMkjVDRZzb"


@pytest.fixture(scope="module")
def emulator() -> Iterator[ElevenLabsEmulator]:
    service = ElevenLabsEmulator()
    with serving(service):
        yield service


@pytest.fixture
async def speech(emulator: ElevenLabsEmulator) -> AsyncIterator[ElevenLabsSpeech]:
    emulator.reset()
    adapter = _adapter(emulator)
    yield adapter
    await adapter.aclose()


def _adapter(emulator: ElevenLabsEmulator, **overrides: object) -> ElevenLabsSpeech:
    options: dict[str, object] = {
        "api_key": API_KEY,
        "base_url": emulator.base_url,
        "timeout_s": 2.0,
    }
    options.update(overrides)
    return ElevenLabsSpeech(**options)  # type: ignore[arg-type]


def _recording(seconds: float = 1.5) -> bytes:
    return wav_bytes(tone_pcm16(seconds, 16_000), 16_000)


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


async def test_busy_answers_are_retried(
    speech: ElevenLabsSpeech, emulator: ElevenLabsEmulator
) -> None:
    emulator.fail_next(429)
    emulator.fail_next(503)

    spoken = await speech.synthesize(SENTENCE, voice=GEORGE)

    assert spoken.duration_s > 0
    assert len(emulator.requests) == 3


async def test_a_busy_service_that_stays_busy_is_speech_unavailable(
    speech: ElevenLabsSpeech, emulator: ElevenLabsEmulator
) -> None:
    emulator.fail_next(429, times=3)
    with pytest.raises(SpeechUnavailable, match="concurrent requests") as raised:
        await speech.synthesize(SENTENCE, voice=GEORGE)
    assert raised.value.details["status"] == 429


async def test_a_server_slower_than_the_timeout_is_speech_unavailable(
    emulator: ElevenLabsEmulator,
) -> None:
    emulator.reset()
    emulator.delay_s = 3.0
    adapter = _adapter(emulator, timeout_s=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(SpeechUnavailable, match="did not answer within"):
            await adapter.transcribe(_recording(), content_type="audio/wav", max_duration_s=60)
    finally:
        await adapter.aclose()
        emulator.delay_s = 0.0
    assert time.monotonic() - started < 2.5, "the answer was not waited for"
    assert len(emulator.requests) == 1, "a read timeout is not retried"


async def test_transcription_sends_the_published_multipart_shape(
    speech: ElevenLabsSpeech, emulator: ElevenLabsEmulator
) -> None:
    recording = _recording(2.0)
    emulator.say(recording, "I need to think about the tire and wheel plan.")

    transcript = await speech.transcribe(
        recording, content_type="audio/x-wav", language="en", max_duration_s=60
    )

    [request] = emulator.requests
    assert request.path == "/v1/speech-to-text"
    assert request.form == {
        "model_id": "scribe_v1",
        "tag_audio_events": "false",
        "timestamps_granularity": "word",
        "language_code": "en",
    }
    upload = request.files["file"]
    assert (upload.filename, upload.content_type, upload.data) == (
        "audio.wav",
        "audio/wav",
        recording,
    )
    assert transcript.text == "I need to think about the tire and wheel plan."
    assert transcript.language == "en"
    assert transcript.duration_s == pytest.approx(2.0)


async def test_the_detected_iso_639_3_language_comes_back_as_iso_639_1(
    speech: ElevenLabsSpeech, emulator: ElevenLabsEmulator
) -> None:
    recording = ogg_opus_bytes(1.0)
    emulator.say(recording, "No necesito la garantía extendida.", language="es")

    transcript = await speech.transcribe(recording, content_type="audio/ogg", max_duration_s=60)

    assert "language_code" not in emulator.requests[0].form
    assert transcript.language == "es"


async def test_an_over_long_recording_is_refused_before_it_is_uploaded(
    speech: ElevenLabsSpeech, emulator: ElevenLabsEmulator
) -> None:
    with pytest.raises(AudioTooLong):
        await speech.transcribe(_recording(4.0), content_type="audio/wav", max_duration_s=3)
    assert emulator.requests == []


async def test_without_a_local_length_the_last_word_heard_is_checked(
    speech: ElevenLabsSpeech, emulator: ElevenLabsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_without_pyav(monkeypatch)
    mp3 = b"ID3" + bytes(100)  # the emulation hears 1 s of it

    with pytest.raises(AudioTooLong) as raised:
        await speech.transcribe(mp3, content_type="audio/mpeg", max_duration_s=0.5)

    assert 0.5 < raised.value.duration_s <= 1.0
    assert emulator.requests[0].files["file"].filename == "audio.mp3"


async def test_audio_the_service_cannot_process_is_unreadable(
    speech: ElevenLabsSpeech, emulator: ElevenLabsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_without_pyav(monkeypatch)

    with pytest.raises(UnreadableAudio, match="could not be processed"):
        await speech.transcribe(b"garbage" * 20, content_type="audio/mp4", max_duration_s=60)

    assert len(emulator.requests) == 1


async def test_a_truncated_wav_is_unreadable_without_a_request(
    speech: ElevenLabsSpeech, emulator: ElevenLabsEmulator
) -> None:
    with pytest.raises(UnreadableAudio):
        await speech.transcribe(b"RIFF\x00\x00", content_type="audio/wav", max_duration_s=60)
    assert emulator.requests == []


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

"""OpenAISpeech over real HTTP against the local emulation of OpenAI's audio API: the
speech request, the WAV it returns, its recordings' names and its own error mapping
(what every cloud adapter does: test_speech_cloud.py)."""

from __future__ import annotations

import io
import wave

import httpx
import pytest

from avataradam.adapters.speech.openai import OPENAI_VOICES, OpenAISpeech
from avataradam.domain.ports.speech import (
    WAV,
    AudioTooLong,
    NoSpeech,
    SpeechUnavailable,
    UnreadableAudio,
)
from tests.emulators.audio import (
    ogg_opus_bytes,
    require_pyav,
    silence_pcm16,
    wav_bytes,
    webm_opus_bytes,
)
from tests.emulators.openai_audio import (
    API_KEY,
    SAMPLE_RATE,
    SECONDS_PER_CHARACTER,
    OpenAIAudioEmulator,
)
from tests.integration.cloud_speech import OPENAI, fixtures
from tests.integration.cloud_speech import recording as _recording

SENTENCE = "The service contract is optional, and it never changes your approval."


cloud, emulator, speech = fixtures(OPENAI)
_adapter = OPENAI.adapter


async def test_synthesis_asks_for_wav_and_returns_a_strict_pcm16_mono_wav(
    speech: OpenAISpeech, emulator: OpenAIAudioEmulator
) -> None:
    spoken = await speech.synthesize(SENTENCE, voice="onyx")

    [request] = emulator.requests
    assert request.path == "/v1/audio/speech"
    assert request.json == {
        "model": "gpt-4o-mini-tts",
        "input": SENTENCE,
        "voice": "onyx",
        "response_format": "wav",
    }
    assert spoken.content_type == WAV
    assert spoken.sample_rate == SAMPLE_RATE
    with wave.open(io.BytesIO(spoken.audio)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        assert reader.getframerate() == SAMPLE_RATE
        frames = reader.getnframes()
        assert len(reader.readframes(frames)) == 2 * frames
    expected_s = len(SENTENCE) * SECONDS_PER_CHARACTER
    assert spoken.duration_s == pytest.approx(expected_s, abs=1 / SAMPLE_RATE)
    assert frames == round(expected_s * SAMPLE_RATE)


async def test_every_listed_voice_is_one_the_api_accepts(speech: OpenAISpeech) -> None:
    assert {voice.id for voice in speech.voices} == {
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "onyx",
        "nova",
        "sage",
        "shimmer",
        "verse",
    }
    assert {voice.gender for voice in OPENAI_VOICES} <= {"male", "female", "neutral"}
    for voice in speech.voices:
        spoken = await speech.synthesize("Hello.", voice=voice.id)
        assert spoken.duration_s > 0


async def test_text_with_nothing_to_say_is_silence_without_a_request(
    speech: OpenAISpeech, emulator: OpenAIAudioEmulator
) -> None:
    for text in ("  \n", "...", "— !"):
        quiet = await speech.synthesize(text, voice="alloy")
        assert (quiet.duration_s, quiet.sample_rate) == (0.0, 24_000)
    assert emulator.requests == []


async def test_a_refused_key_is_speech_unavailable_with_the_status(
    emulator: OpenAIAudioEmulator,
) -> None:
    emulator.reset()
    adapter = _adapter(emulator, api_key="sk-proj-wrong-key-4321")
    try:
        with pytest.raises(SpeechUnavailable) as synthesis:
            await adapter.synthesize(SENTENCE, voice="alloy")
        with pytest.raises(SpeechUnavailable) as recognition:
            await adapter.transcribe(_recording(), content_type="audio/wav", max_duration_s=60)
    finally:
        await adapter.aclose()
    assert synthesis.value.details["status"] == 401
    assert recognition.value.details["status"] == 401
    assert "Incorrect API key provided: [key]." in str(synthesis.value)
    assert "sk-" not in str(synthesis.value)
    assert "4321" not in str(recognition.value)
    assert len(emulator.requests) == 2, "a 401 is not retried"


async def test_an_unknown_voice_or_model_is_speech_unavailable(
    emulator: OpenAIAudioEmulator, speech: OpenAISpeech
) -> None:
    with pytest.raises(SpeechUnavailable) as voice:
        await speech.synthesize(SENTENCE, voice="baritone")
    assert voice.value.details["status"] == 400
    adapter = _adapter(emulator, tts_model="tts-2")
    try:
        with pytest.raises(SpeechUnavailable) as model:
            await adapter.synthesize(SENTENCE, voice="alloy")
    finally:
        await adapter.aclose()
    assert model.value.details["status"] == 404


async def test_an_outage_that_outlasts_the_retries_is_speech_unavailable(
    speech: OpenAISpeech, emulator: OpenAIAudioEmulator
) -> None:
    emulator.fail_next(503, times=5)

    with pytest.raises(SpeechUnavailable) as raised:
        await speech.transcribe(_recording(), content_type="audio/wav", max_duration_s=60)

    assert raised.value.details["status"] == 503
    assert len(emulator.requests) == 3


async def test_a_spent_quota_is_not_retried(
    speech: OpenAISpeech, emulator: OpenAIAudioEmulator
) -> None:
    emulator.fail_next(
        429,
        times=3,
        payload={
            "error": {
                "message": "You exceeded your current quota.",
                "type": "insufficient_quota",
                "param": None,
                "code": "insufficient_quota",
            }
        },
    )
    with pytest.raises(SpeechUnavailable, match="exceeded your current quota"):
        await speech.synthesize(SENTENCE, voice="alloy")
    assert len(emulator.requests) == 1


async def test_an_unreachable_server_is_speech_unavailable() -> None:
    adapter = OpenAISpeech(base_url="http://127.0.0.1:9/v1", api_key=API_KEY, max_retries=1)
    try:
        with pytest.raises(SpeechUnavailable, match="cannot be reached"):
            await adapter.synthesize(SENTENCE, voice="alloy")
    finally:
        await adapter.aclose()


async def test_browser_recordings_are_named_so_the_api_picks_its_decoder(
    speech: OpenAISpeech, emulator: OpenAIAudioEmulator
) -> None:
    recording = ogg_opus_bytes(2.5)

    transcript = await speech.transcribe(
        recording, content_type="audio/ogg; codecs=opus", max_duration_s=60
    )

    upload = emulator.requests[0].files["file"]
    assert (upload.filename, upload.content_type) == ("audio.ogg", "audio/ogg")
    assert transcript.duration_s == pytest.approx(2.5)


async def test_an_over_long_ogg_is_refused_before_it_is_uploaded(
    speech: OpenAISpeech, emulator: OpenAIAudioEmulator
) -> None:
    with pytest.raises(AudioTooLong):
        await speech.transcribe(ogg_opus_bytes(75.0), content_type="audio/ogg", max_duration_s=60)
    assert emulator.requests == []


async def test_a_browser_webm_recording_is_measured_before_it_is_uploaded(
    speech: OpenAISpeech, emulator: OpenAIAudioEmulator
) -> None:
    with pytest.raises(AudioTooLong) as raised:
        await speech.transcribe(webm_opus_bytes(3.0), content_type="audio/webm", max_duration_s=2)
    assert raised.value.duration_s == pytest.approx(3.0, abs=0.05)
    assert emulator.requests == []

    transcript = await speech.transcribe(
        webm_opus_bytes(1.0), content_type="audio/webm;codecs=opus", max_duration_s=2
    )

    upload = emulator.requests[0].files["file"]
    assert (upload.filename, upload.content_type) == ("audio.webm", "audio/webm")
    assert transcript.text == emulator.default_transcript


async def test_a_corrupt_webm_is_unreadable_without_a_request(
    speech: OpenAISpeech, emulator: OpenAIAudioEmulator
) -> None:
    require_pyav()
    with pytest.raises(UnreadableAudio):
        await speech.transcribe(
            b"\x1a\x45\xdf\xa3" + bytes(64), content_type="audio/webm", max_duration_s=60
        )
    assert emulator.requests == []


async def test_an_empty_recording_or_a_type_no_api_reads_is_unreadable(
    speech: OpenAISpeech, emulator: OpenAIAudioEmulator
) -> None:
    with pytest.raises(UnreadableAudio):
        await speech.transcribe(b"", content_type="audio/wav", max_duration_s=60)
    with pytest.raises(UnreadableAudio):
        await speech.transcribe(_recording(), content_type="text/plain", max_duration_s=60)
    assert emulator.requests == []


async def test_silence_is_no_speech(speech: OpenAISpeech) -> None:
    silent = wav_bytes(silence_pcm16(2.0, 16_000), 16_000)
    with pytest.raises(NoSpeech):
        await speech.transcribe(silent, content_type="audio/wav", max_duration_s=60)


async def test_words_whisper_puts_on_silence_are_no_speech(
    speech: OpenAISpeech, emulator: OpenAIAudioEmulator
) -> None:
    emulator.hallucinate_on_silence = True
    silent = wav_bytes(silence_pcm16(2.0, 16_000), 16_000)
    try:
        with pytest.raises(NoSpeech):
            await speech.transcribe(silent, content_type="audio/wav", max_duration_s=60)
    finally:
        emulator.hallucinate_on_silence = False
    assert emulator.requests  # the service was asked, and said "Thank you."


async def test_a_model_without_verbose_json_is_asked_for_json(
    emulator: OpenAIAudioEmulator,
) -> None:
    emulator.reset()
    adapter = _adapter(emulator, stt_model="gpt-4o-transcribe")
    try:
        transcript = await adapter.transcribe(
            _recording(2.0), content_type="audio/wav", language="en", max_duration_s=60
        )
    finally:
        await adapter.aclose()
    assert [request.form["response_format"] for request in emulator.requests] == [
        "verbose_json",
        "json",
    ]
    assert transcript.text == emulator.default_transcript
    assert transcript.language == "en"
    assert transcript.duration_s == pytest.approx(2.0)


async def test_a_shared_client_is_used_and_left_open(emulator: OpenAIAudioEmulator) -> None:
    emulator.reset()
    async with httpx.AsyncClient() as client:
        adapter = _adapter(emulator, client=client)
        await adapter.synthesize(SENTENCE, voice="nova")
        await adapter.aclose()
        assert not client.is_closed
    assert len(emulator.requests) == 1

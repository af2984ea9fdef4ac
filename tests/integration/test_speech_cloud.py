"""What every cloud speech adapter (OpenAI's audio API, ElevenLabs) does over real HTTP
against its local emulation: the transcription request, the language and length it
reports, recordings refused before or by the service, retries and timeouts. Each
provider's own behaviour is in test_speech_openai.py and test_speech_elevenlabs.py."""

from __future__ import annotations

import time

import pytest

from avataradam.domain.ports.speech import AudioTooLong, SpeechUnavailable, UnreadableAudio
from tests.emulators.audio import ListeningApi, as_without_pyav, ogg_opus_bytes
from tests.integration.cloud_speech import ELEVENLABS, OPENAI, Cloud, CloudSpeech, fixtures
from tests.integration.cloud_speech import recording as _recording

cloud, emulator, speech = fixtures(OPENAI, ELEVENLABS)

SENTENCE = "GAP covers the difference between what you owe and what the car is worth."


async def test_transcription_sends_the_published_multipart_shape(
    cloud: Cloud, speech: CloudSpeech, emulator: ListeningApi
) -> None:
    recording = _recording(2.0)
    emulator.say(recording, "I need to think about the tire and wheel plan.")

    transcript = await speech.transcribe(
        recording, content_type="audio/x-wav", language="en-US", max_duration_s=60
    )

    [request] = emulator.requests
    assert request.path == cloud.transcription_path
    assert request.form == cloud.transcription_form
    upload = request.files["file"]
    assert (upload.filename, upload.content_type, upload.data) == (
        "audio.wav",
        "audio/wav",
        recording,
    )
    assert transcript.text == "I need to think about the tire and wheel plan."
    assert transcript.language == "en"
    assert transcript.duration_s == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("recording", "content_type"),
    [(ogg_opus_bytes(1.0), "audio/ogg"), (_recording(2.0), "audio/wav")],
    ids=["ogg", "wav"],
)
async def test_the_detected_language_comes_back_as_an_iso_639_1_code(
    cloud: Cloud, speech: CloudSpeech, emulator: ListeningApi, recording: bytes, content_type: str
) -> None:
    emulator.say(recording, "¿El contrato de servicio es opcional?", language="es")

    transcript = await speech.transcribe(recording, content_type=content_type, max_duration_s=60)

    assert cloud.language_field not in emulator.requests[0].form
    assert transcript.language == "es"
    assert transcript.text == "¿El contrato de servicio es opcional?"


async def test_an_over_long_recording_is_refused_before_it_is_uploaded(
    speech: CloudSpeech, emulator: ListeningApi
) -> None:
    with pytest.raises(AudioTooLong) as raised:
        await speech.transcribe(_recording(3.0), content_type="audio/wav", max_duration_s=2.0)

    assert raised.value.duration_s == pytest.approx(3.0)
    assert raised.value.limit_s == 2.0
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("audio", "content_type", "filename"),
    [
        (b"ID3" + bytes(100), "audio/mpeg", "audio.mp3"),
        (b"\x1a\x45\xdf\xa3" + bytes(64), "audio/webm", "audio.webm"),  # EBML magic
    ],
    ids=["mp3", "webm"],
)
async def test_a_length_only_the_service_knows_is_checked_against_the_limit(
    cloud: Cloud,
    speech: CloudSpeech,
    emulator: ListeningApi,
    monkeypatch: pytest.MonkeyPatch,
    audio: bytes,
    content_type: str,
    filename: str,
) -> None:
    as_without_pyav(monkeypatch)  # the emulation hears 1 s of it

    with pytest.raises(AudioTooLong) as raised:
        await speech.transcribe(audio, content_type=content_type, max_duration_s=0.5)

    assert 0.5 < raised.value.duration_s <= 1.0
    assert raised.value.duration_s == pytest.approx(1.0, abs=cloud.heard_length_slack_s or 1e-6)
    assert emulator.requests[0].files["file"].filename == filename


@pytest.mark.parametrize("content_type", ["audio/mp4", "audio/mpeg"])
async def test_audio_the_service_cannot_decode_is_unreadable(
    cloud: Cloud,
    speech: CloudSpeech,
    emulator: ListeningApi,
    monkeypatch: pytest.MonkeyPatch,
    content_type: str,
) -> None:
    as_without_pyav(monkeypatch)

    with pytest.raises(UnreadableAudio, match=cloud.undecodable):
        await speech.transcribe(
            b"not audio at all" * 10, content_type=content_type, max_duration_s=60
        )

    assert len(emulator.requests) == 1


@pytest.mark.parametrize(
    "truncated", [b"RIFF\x00\x00", _recording()[:30]], ids=["riff-only", "header-cut"]
)
async def test_a_truncated_wav_is_unreadable_without_a_request(
    speech: CloudSpeech, emulator: ListeningApi, truncated: bytes
) -> None:
    with pytest.raises(UnreadableAudio):
        await speech.transcribe(truncated, content_type="audio/wav", max_duration_s=60)
    assert emulator.requests == []


@pytest.mark.parametrize("statuses", [(429, 429), (500, 500), (503, 503), (429, 503)], ids=str)
async def test_transient_failures_are_retried_then_succeed(
    cloud: Cloud, speech: CloudSpeech, emulator: ListeningApi, statuses: tuple[int, ...]
) -> None:
    for status in statuses:
        emulator.fail_next(status)

    spoken = await speech.synthesize(SENTENCE, voice=cloud.voice)

    assert spoken.duration_s > 0
    assert len(emulator.requests) == 3


@pytest.mark.parametrize("work", ["synthesize", "transcribe"])
async def test_a_server_slower_than_the_timeout_is_speech_unavailable_in_time(
    cloud: Cloud, emulator: ListeningApi, work: str
) -> None:
    emulator.reset()
    emulator.delay_s = 3.0
    adapter = cloud.adapter(emulator, timeout_s=0.3)
    started = time.monotonic()
    try:
        answer = (
            adapter.synthesize(SENTENCE, voice=cloud.voice)
            if work == "synthesize"
            else adapter.transcribe(_recording(), content_type="audio/wav", max_duration_s=60)
        )
        with pytest.raises(SpeechUnavailable, match="did not answer within"):
            await answer
    finally:
        await adapter.aclose()
        emulator.delay_s = 0.0
    assert time.monotonic() - started < 2.5, "the answer was not waited for"
    assert len(emulator.requests) == 1, "a read timeout is not retried"

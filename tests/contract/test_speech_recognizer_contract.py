"""`SpeechRecognizer` contract over every adapter.

An adapter transcribes what was said (its words, the language asked for or detected, the
seconds heard) from wav, webm/opus, ogg/opus and mp3; refuses audio over the caller's
limit with `AudioTooLong` before any recognition; answers `UnreadableAudio` for bytes
that are not the declared type, empty or cut short, and `NoSpeech` for silence and
noise. The speech comes from espeak-ng (`just setup-speech`), whose robotic voice Whisper
still reads word for word on these short sentences. To add an adapter, add its name to
`RECOGNIZERS` and a branch to `recognizer`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from avataradam.adapters.speech.espeak import EspeakSynthesizer
from avataradam.adapters.speech.local import espeak_executable
from avataradam.adapters.speech.wav import speech_from_pcm16
from avataradam.adapters.speech.whisper import FasterWhisperRecognizer
from avataradam.domain.ports.speech import (
    AudioTooLong,
    NoSpeech,
    SpeechRecognizer,
    UnreadableAudio,
)
from tests.support import speech

RECOGNIZERS = ["faster-whisper"]
ENGLISH = "Please sign the service contract today."
SPANISH = "El contrato de servicio es opcional."


@pytest.fixture(params=RECOGNIZERS)
def recognizer(request: pytest.FixtureRequest) -> SpeechRecognizer:
    return speech.recognizer(request.param)


@pytest.fixture(scope="module")
async def spoken() -> dict[str, bytes]:
    """WAV files of `ENGLISH` and `SPANISH` spoken by espeak-ng, and two seconds of
    digital silence and of quiet noise."""
    executable = espeak_executable()
    if executable is None:
        speech.missing("espeak-ng")
    assert executable is not None
    espeak = EspeakSynthesizer(executable=executable)
    noise = np.random.default_rng(7).normal(0, 300, 32000).astype("<i2").tobytes()
    return {
        "en": (await espeak.synthesize(ENGLISH, voice="en-us+m3")).audio,
        "es": (await espeak.synthesize(SPANISH, voice="es-419+m3")).audio,
        "silence": speech_from_pcm16(bytes(64000), sample_rate=16000).audio,
        "noise": speech_from_pcm16(noise, sample_rate=16000).audio,
    }


@pytest.mark.parametrize("container", ["wav", "webm", "ogg", "mp3"])
async def test_speech_is_transcribed_from_each_container(
    recognizer: SpeechRecognizer, spoken: dict[str, bytes], container: str
) -> None:
    audio = spoken["en"] if container == "wav" else speech.transcode(spoken["en"], container)
    heard = await recognizer.transcribe(
        audio, content_type=speech.MEDIA_TYPES[container], language="en", max_duration_s=30
    )
    assert "service contract" in speech.words(heard.text), heard
    assert heard.text == heard.text.strip()
    assert heard.language == "en"
    assert 1.5 < heard.duration_s < 5.0, heard


async def test_the_language_is_detected_when_not_given(
    recognizer: SpeechRecognizer, spoken: dict[str, bytes]
) -> None:
    heard = await recognizer.transcribe(spoken["es"], content_type="audio/wav", max_duration_s=30)
    assert heard.language == "es", heard
    assert "contrato" in speech.words(heard.text), heard


async def test_audio_over_the_limit_is_too_long(
    recognizer: SpeechRecognizer, spoken: dict[str, bytes]
) -> None:
    for audio, content_type in [
        (spoken["en"], "audio/wav"),
        (speech.transcode(spoken["en"], "webm"), "audio/webm"),
    ]:
        with pytest.raises(AudioTooLong) as raised:
            await recognizer.transcribe(audio, content_type=content_type, max_duration_s=1.0)
        assert raised.value.limit_s == 1.0
        assert raised.value.duration_s > 1.0


@pytest.mark.parametrize("container", ["wav", "webm", "mp3"])
async def test_a_file_cut_short_is_unreadable(
    recognizer: SpeechRecognizer, spoken: dict[str, bytes], container: str
) -> None:
    audio = spoken["en"] if container == "wav" else speech.transcode(spoken["en"], container)
    with pytest.raises(UnreadableAudio):
        await recognizer.transcribe(
            audio[: len(audio) // 2],
            content_type=speech.MEDIA_TYPES[container],
            max_duration_s=30,
        )


@pytest.mark.parametrize(
    ("audio_kind", "content_type"),
    [
        ("garbage", "audio/webm"),
        ("garbage", "audio/wav"),
        ("empty", "audio/ogg"),
        ("header", "audio/wav"),
        ("wav", "audio/ogg"),
        ("wav", "audio/webm"),
    ],
)
async def test_bytes_that_are_not_the_declared_audio_are_unreadable(
    recognizer: SpeechRecognizer, spoken: dict[str, bytes], audio_kind: str, content_type: str
) -> None:
    audio = {
        "garbage": b"this is not audio at all " * 200,
        "empty": b"",
        "header": spoken["en"][:44],
        "wav": spoken["en"],
    }[audio_kind]
    with pytest.raises(UnreadableAudio):
        await recognizer.transcribe(audio, content_type=content_type, max_duration_s=30)


@pytest.mark.parametrize("kind", ["silence", "noise"])
async def test_silence_and_noise_are_no_speech(
    recognizer: SpeechRecognizer, spoken: dict[str, bytes], kind: str
) -> None:
    with pytest.raises(NoSpeech):
        await recognizer.transcribe(spoken[kind], content_type="audio/wav", max_duration_s=30)


async def test_faster_whisper_refuses_long_audio_before_loading_anything(
    spoken: dict[str, bytes], tmp_path: Path
) -> None:
    """No model in its directory: only a check made before any recognition work can
    answer `AudioTooLong` (rather than `SpeechUnavailable`)."""
    unloaded = FasterWhisperRecognizer(model_dir=tmp_path / "no-model")
    started = time.monotonic()
    with pytest.raises(AudioTooLong):
        await unloaded.transcribe(spoken["en"], content_type="audio/wav", max_duration_s=1.0)
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("audio", "content_type"),
    [
        (b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n", "audio/mpegurl"),
        (b"ffconcat version 1.0\nfile /etc/hostname\n", "audio/x-unknown"),
        (b"RIFF", "text/plain"),
    ],
)
async def test_faster_whisper_reads_only_the_audio_types_it_names(
    audio: bytes, content_type: str
) -> None:
    """Another type is refused unread: FFmpeg never probes the bytes, so a playlist or
    concat list cannot make it open the files it names."""
    with pytest.raises(UnreadableAudio, match="not a type of audio"):
        await speech.recognizer().transcribe(audio, content_type=content_type, max_duration_s=30)

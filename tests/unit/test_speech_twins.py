"""The in-memory speech twins: their round trip gives the words back, their WAV is one
Python's `wave` reads, and bad audio raises the port's errors."""

from __future__ import annotations

import io
import wave

import pytest

from avataradam.adapters.memory.speech import InMemoryRecognizer, InMemorySynthesizer
from avataradam.domain.audio import pcm_of, wav_header
from avataradam.domain.ports.speech import AudioTooLong, NoSpeech, UnreadableAudio

SENTENCE = "The service contract is optional."


async def test_round_trip_gives_the_words_and_the_duration_back() -> None:
    synthesizer, recognizer = InMemorySynthesizer(), InMemoryRecognizer()
    speech = await synthesizer.synthesize(SENTENCE, voice="memory-adam")
    with wave.open(io.BytesIO(speech.audio), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        assert reader.getframerate() == speech.sample_rate
        assert reader.getnframes() / speech.sample_rate == pytest.approx(speech.duration_s)
    assert speech.duration_s == pytest.approx(0.08 * len(SENTENCE))
    heard = await recognizer.transcribe(
        speech.audio, content_type="audio/wav", language="es", max_duration_s=60
    )
    assert (heard.text, heard.language) == (SENTENCE, "es")
    assert heard.duration_s == pytest.approx(speech.duration_s)


async def test_unknown_voice_and_empty_text_are_refused() -> None:
    synthesizer = InMemorySynthesizer()
    with pytest.raises(ValueError, match="unknown voice"):
        await synthesizer.synthesize(SENTENCE, voice="nobody")
    with pytest.raises(ValueError, match="nothing to say"):
        await synthesizer.synthesize("  ", voice="memory-adam")


async def test_bad_audio_raises_the_ports_errors() -> None:
    recognizer = InMemoryRecognizer()
    speech = await InMemorySynthesizer().synthesize(SENTENCE, voice="memory-ana")
    with pytest.raises(AudioTooLong) as too_long:
        await recognizer.transcribe(speech.audio, content_type="audio/wav", max_duration_s=1)
    assert (too_long.value.limit_s, round(too_long.value.duration_s, 2)) == (1, 2.64)
    truncated = speech.audio[: len(speech.audio) // 2]
    with pytest.raises(UnreadableAudio, match="truncated"):
        await recognizer.transcribe(truncated, content_type="audio/wav", max_duration_s=60)
    with pytest.raises(UnreadableAudio):
        await recognizer.transcribe(b"not audio", content_type="audio/wav", max_duration_s=60)
    with pytest.raises(UnreadableAudio, match="WAV only"):
        await recognizer.transcribe(speech.audio, content_type="audio/webm", max_duration_s=60)
    silence = io.BytesIO()
    with wave.open(silence, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(b"\0\0" * 16_000)
    with pytest.raises(NoSpeech):
        await recognizer.transcribe(silence.getvalue(), content_type="audio/wav", max_duration_s=60)


async def test_words_survive_when_sentences_samples_are_joined_into_one_stream() -> None:
    """A use case joins sentences' samples under one header of unknown length: the
    recogniser still hears every sentence, in order, and the whole duration."""
    synthesizer, recognizer = InMemorySynthesizer(), InMemoryRecognizer()
    spoken = [
        await synthesizer.synthesize(text, voice="memory-lucia")
        for text in ("¿Es opcional?", SENTENCE)
    ]
    stream = wav_header(16_000, None) + b"".join(pcm_of(s.audio)[1] for s in spoken)

    heard = await recognizer.transcribe(stream, content_type="audio/wav", max_duration_s=60)

    assert heard.text == f"¿Es opcional? {SENTENCE}"
    assert heard.duration_s == pytest.approx(sum(s.duration_s for s in spoken))

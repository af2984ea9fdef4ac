"""In-memory twins of the speech ports (`domain/ports/speech.py`) for tests and for a
server started with `AVATARADAM_SPEECH_SYNTHESIZER=memory`.

`InMemorySynthesizer` "speaks" a quiet tone whose length grows with the text (80 ms a
character, at least 300 ms) and carries the text itself twice: in a private RIFF chunk
(`atxt`, placed before `data`, which WAV readers such as Python's `wave` skip), and in
the first samples of the tone (`TEXT_MARK`, then the UTF-8 length and bytes, one per
sample), so the words survive when a use case joins several sentences' samples into one
WAV. `InMemoryRecognizer` reads the chunk back, else every marked text of the samples,
in order. A round trip through the twins therefore gives back the words, as the real
engines do, without an engine. Audio without either, or whose samples are all zero,
holds `NoSpeech`. A WAV streamed with an unknown length (data size 0xFFFFFFFF) is read
to its end.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import Sequence

from avataradam.domain.ports.speech import (
    AudioTooLong,
    NoSpeech,
    Speech,
    Transcript,
    UnreadableAudio,
    Voice,
)

SAMPLE_RATE = 16_000
SECONDS_PER_CHARACTER = 0.08
MIN_SECONDS = 0.3
TEXT_CHUNK = b"atxt"
TEXT_MARK = (32767, -32768, 32767, -32768, 32767)
"""Samples a tone of amplitude 3000 never holds: a marked text follows."""
_MARK_BYTES = struct.pack("<5h", *TEXT_MARK)
UNKNOWN_SIZE = 0xFFFFFFFF
WAV_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})

VOICES: tuple[Voice, ...] = (
    Voice(id="memory-adam", language="en", gender="male"),
    Voice(id="memory-ana", language="en", gender="female"),
    Voice(id="memory-bruno", language="en", gender="male"),
    Voice(id="memory-lucia", language="es", gender="female"),
)


def wav_with_text(text: str, *, seconds: float, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A mono PCM16 WAV of a 220 Hz tone lasting `seconds`, carrying `text` in an
    `atxt` chunk (UTF-8) before its `data` chunk and marked in its first samples."""
    payload = text.encode()
    mark = [*TEXT_MARK, len(payload) >> 15, len(payload) & 0x7FFF, *payload]
    frames = max(round(seconds * sample_rate), len(mark))
    tone = [round(3000 * math.sin(2 * math.pi * 220 * n / sample_rate)) for n in range(frames)]
    tone[: len(mark)] = mark
    samples = struct.pack(f"<{frames}h", *tone)
    if len(payload) % 2:
        payload += b"\0"  # RIFF chunks are word-aligned
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)
    chunks = (
        b"fmt " + struct.pack("<I", len(fmt)) + fmt,
        TEXT_CHUNK + struct.pack("<I", len(payload)) + payload,
        b"data" + struct.pack("<I", len(samples)) + samples,
    )
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _marked_texts(samples: bytes) -> list[str]:
    """The texts marked in `samples` (see `wav_with_text`), in order."""
    texts: list[str] = []
    start = samples.find(_MARK_BYTES)
    while start >= 0:
        if start % 2 == 0:
            at = start + len(_MARK_BYTES)
            high, low = struct.unpack("<2h", samples[at : at + 4])
            size = (high << 15) | low
            values = struct.unpack(f"<{size}h", samples[at + 4 : at + 4 + 2 * size])
            texts.append(bytes(values).decode())
        start = samples.find(_MARK_BYTES, start + 1)
    return texts


def _wav(audio: bytes) -> tuple[int, bytes]:
    """The rate and samples of a PCM16 mono WAV (read to the end when its data size is
    unknown); `UnreadableAudio` otherwise, `truncated` when the data stops short."""
    try:
        with wave.open(io.BytesIO(audio), "rb") as reader:
            rate, frames = reader.getframerate(), reader.getnframes()
            samples = reader.readframes(frames)
    except (wave.Error, EOFError, struct.error) as exc:
        raise UnreadableAudio(f"not a readable WAV file: {exc}") from exc
    if frames < UNKNOWN_SIZE // 2 and len(samples) < frames * 2:
        raise UnreadableAudio("the WAV file is truncated")
    if not rate:
        raise UnreadableAudio("a WAV file without a sample rate")
    return rate, samples


def _text_chunk(audio: bytes) -> str | None:
    position = 12
    while position + 8 <= len(audio):
        name = audio[position : position + 4]
        (size,) = struct.unpack("<I", audio[position + 4 : position + 8])
        if name == TEXT_CHUNK:
            return audio[position + 8 : position + 8 + size].rstrip(b"\0").decode()
        position += 8 + size + (size % 2)
    return None


class InMemorySynthesizer:
    """Implements `SpeechSynthesizer` with `wav_with_text` (see the module docstring).
    Raises ValueError for an unknown voice or an empty text."""

    name = "memory"

    def __init__(self, voices: Sequence[Voice] = VOICES) -> None:
        self._voices = tuple(voices)
        self.spoken: list[tuple[str, str]] = []
        """(text, voice) of every call, in order."""

    @property
    def voices(self) -> Sequence[Voice]:
        return self._voices

    async def synthesize(self, text: str, *, voice: str) -> Speech:
        if voice not in {v.id for v in self._voices}:
            raise ValueError(f"unknown voice {voice!r}")
        if not text.strip():
            raise ValueError("nothing to say")
        self.spoken.append((text, voice))
        seconds = max(MIN_SECONDS, SECONDS_PER_CHARACTER * len(text))
        audio = wav_with_text(text.strip(), seconds=seconds)
        return Speech(audio=audio, sample_rate=SAMPLE_RATE, duration_s=round(seconds, 6))


class InMemoryRecognizer:
    """Implements `SpeechRecognizer` for WAV only (other types: `UnreadableAudio`),
    reading the words an `InMemorySynthesizer` put in the audio."""

    name = "memory"

    def __init__(self) -> None:
        self.heard: list[bytes] = []

    async def transcribe(
        self,
        audio: bytes,
        *,
        content_type: str,
        language: str | None = None,
        max_duration_s: float,
    ) -> Transcript:
        if content_type not in WAV_TYPES:
            raise UnreadableAudio(f"the in-memory recognizer reads WAV only, not {content_type}")
        rate, samples = _wav(audio)
        duration = len(samples) / 2 / rate
        if duration > max_duration_s:
            raise AudioTooLong(
                f"{duration:.1f} s of audio; at most {max_duration_s:g} s",
                duration_s=duration,
                limit_s=max_duration_s,
            )
        self.heard.append(audio)
        text = _text_chunk(audio) or " ".join(_marked_texts(samples))
        if not text or not any(samples):
            raise NoSpeech("no speech in the recording")
        return Transcript(text=text, language=language or "en", duration_s=round(duration, 6))

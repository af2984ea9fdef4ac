"""WAV in and out for the speech adapters: every `Speech` is a complete RIFF WAV file of
16-bit signed little-endian PCM, mono (`avataradam.domain.ports.speech`).

Engines that write WAV to a pipe (espeak-ng) cannot seek back to fill in the chunk
sizes and leave placeholders there, so WAV read from an engine is parsed chunk by chunk
here, taking the PCM to the end of the bytes when the declared size is such a
placeholder, and written again with exact sizes by `speech_from_pcm16`.
"""

from __future__ import annotations

import io
import struct
import wave

from avataradam.domain.ports.speech import Speech

PCM16_BYTES = 2
"""Bytes per frame of mono 16-bit PCM."""
_STREAMING_SIZE = 0x7FFF0000
"""Chunk sizes from here up are placeholders of a writer that could not seek."""


class MalformedWav(ValueError):
    """Bytes an engine wrote are not mono 16-bit PCM WAV."""


def speakable(text: str) -> bool:
    """Whether `text` has anything an engine would pronounce (a letter or a digit).
    Text without is answered with `silence` rather than given to an engine: Piper's
    command stops with an error on a line that yields no audio."""
    return any(character.isalnum() for character in text)


def one_line(text: str) -> str:
    """`text` with its line breaks (every one `str.splitlines` knows) made spaces, for
    engines that read a line per utterance."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def speech_from_pcm16(pcm: bytes, *, sample_rate: int) -> Speech:
    """A `Speech` holding `pcm` (mono 16-bit little-endian) as a WAV file with exact
    sizes; `duration_s` = frames / `sample_rate`."""
    if len(pcm) % PCM16_BYTES:
        pcm = pcm[: len(pcm) - len(pcm) % PCM16_BYTES]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(PCM16_BYTES)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm)
    frames = len(pcm) // PCM16_BYTES
    return Speech(audio=buffer.getvalue(), sample_rate=sample_rate, duration_s=frames / sample_rate)


def silence(*, sample_rate: int) -> Speech:
    """A valid WAV of no frames (duration 0): what text with nothing to say becomes."""
    return speech_from_pcm16(b"", sample_rate=sample_rate)


def read_pcm16_wav(data: bytes) -> tuple[bytes, int]:
    """The PCM and sample rate (Hz) of a mono 16-bit PCM WAV file, whose `data` chunk
    may carry a streaming placeholder size. Raises `MalformedWav`."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise MalformedWav("not a RIFF WAVE file")
    offset, sample_rate = 12, 0
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = offset + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(data):
                raise MalformedWav("a short fmt chunk")
            audio_format, channels, sample_rate, _, _, bits = struct.unpack_from(
                "<HHIIHH", data, body
            )
            if audio_format != 1 or channels != 1 or bits != 16:
                raise MalformedWav(
                    f"format {audio_format}, {channels} channels, {bits} bits: not mono PCM16"
                )
        elif chunk_id == b"data":
            if not sample_rate:
                raise MalformedWav("a data chunk before the fmt chunk")
            end = len(data) if size >= _STREAMING_SIZE else min(body + size, len(data))
            return data[body:end], sample_rate
        offset = body + size + (size & 1)
    raise MalformedWav("no data chunk")


def declared_wav_shortfall(data: bytes) -> int:
    """Bytes a RIFF WAV file's `data` chunk declares beyond the bytes present: more than
    zero means the file was cut short. 0 when the file is not WAV, or its size is a
    streaming placeholder (nothing is declared then)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return 0
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        if chunk_id == b"data":
            if size >= _STREAMING_SIZE:
                return 0
            return max(offset + 8 + int(size) - len(data), 0)
        offset += 8 + size + (size & 1)
    return 0

"""WAV in and out: the one audio shape a `SpeechSynthesizer` returns (16-bit PCM, mono).

`read_wav` parses a RIFF/WAVE file by its chunks rather than with `wave`, because the
files engines send are often not strictly valid: a streamed WAV (OpenAI's
`/audio/speech`, several compatible servers) carries `0xFFFFFFFF` or `0` as its RIFF
and `data` sizes, which `wave` believes (hours of audio) and players may not; other
servers put `LIST` or other chunks after `data`, which must not be read as samples.
`speech_from_pcm16` writes a strict WAV whose sizes are exact.
"""

from __future__ import annotations

import io
import struct
import sys
import wave
from array import array
from dataclasses import dataclass

from avataradam.domain.ports.speech import WAV, Speech

_PCM = 1
_EXTENSIBLE = 0xFFFE
_STREAMING_SIZES = frozenset({0, 0xFFFFFFFF, 0x7FFFFFFF})
"""`data` sizes a streaming writer puts in the header before it knows the length."""


class NotWav(ValueError):
    """The bytes are not a RIFF/WAVE file with a format and a data chunk."""


@dataclass(frozen=True)
class WavAudio:
    """A parsed WAV: its format and the bytes of its `data` chunk (whole frames only)."""

    format_tag: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    block_align: int
    data: bytes

    @property
    def frames(self) -> int:
        return len(self.data) // self.block_align

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    @property
    def is_pcm16(self) -> bool:
        return self.format_tag == _PCM and self.bits_per_sample == 16


def read_wav(audio: bytes) -> WavAudio:
    """Parses `audio` as RIFF/WAVE. A `data` chunk whose declared size is a streaming
    placeholder or runs past the end is taken to the end of the bytes (a truncated file
    keeps the frames it has). Raises `NotWav`."""
    if len(audio) < 12 or audio[:4] != b"RIFF" or audio[8:12] != b"WAVE":
        raise NotWav("not a RIFF/WAVE file")
    offset, fmt = 12, None
    while offset + 8 <= len(audio):
        chunk_id = audio[offset : offset + 4]
        (size,) = struct.unpack_from("<I", audio, offset + 4)
        body_start = offset + 8
        if chunk_id == b"fmt ":
            fmt = _format(audio[body_start : body_start + size])
        elif chunk_id == b"data":
            if fmt is None:
                raise NotWav("the data chunk comes before the format chunk")
            format_tag, channels, rate, bits, block_align = fmt
            end = len(audio) if size in _STREAMING_SIZES else min(body_start + size, len(audio))
            data = audio[body_start:end]
            return WavAudio(
                format_tag=format_tag,
                channels=channels,
                sample_rate=rate,
                bits_per_sample=bits,
                block_align=block_align,
                data=data[: len(data) - len(data) % block_align],
            )
        offset = body_start + size + (size & 1)
    raise NotWav("no format or data chunk")


def _format(body: bytes) -> tuple[int, int, int, int, int]:
    if len(body) < 16:
        raise NotWav("format chunk too short")
    format_tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if format_tag == _EXTENSIBLE and len(body) >= 26:
        (format_tag,) = struct.unpack_from("<H", body, 24)  # the sub-format GUID's first field
    if channels < 1 or rate < 1 or block_align < 1:
        raise NotWav("format chunk has no channels, rate or frame size")
    return format_tag, channels, rate, bits, block_align


def pcm16_mono(wav: WavAudio) -> bytes:
    """The samples of a 16-bit PCM `wav` as mono (channels averaged), little-endian.
    Raises `NotWav` for any other sample format."""
    if not wav.is_pcm16:
        raise NotWav(f"samples are format {wav.format_tag}, {wav.bits_per_sample}-bit, not PCM16")
    if wav.channels == 1:
        return wav.data
    samples = _samples(wav.data)
    channels = wav.channels
    mono = array(
        "h",
        (sum(samples[i : i + channels]) // channels for i in range(0, len(samples), channels)),
    )
    return _little_endian(mono)


def speech_from_pcm16(pcm: bytes, sample_rate: int) -> Speech:
    """A strict WAV file (exact sizes) of 16-bit little-endian mono `pcm` at `sample_rate`
    Hz; an odd trailing byte is dropped."""
    pcm = pcm[: len(pcm) - len(pcm) % 2]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm)
    return Speech(
        audio=buffer.getvalue(),
        sample_rate=sample_rate,
        duration_s=len(pcm) / 2 / sample_rate,
        content_type=WAV,
    )


def _samples(data: bytes) -> array[int]:
    samples = array("h")
    samples.frombytes(data)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def _little_endian(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()

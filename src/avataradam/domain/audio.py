"""Audio as the speech use cases handle it: WAV (16-bit PCM, mono) written whole or as a
stream, and the type of a recording told by its bytes.

A streamed WAV starts with a header whose RIFF and `data` sizes are 0xFFFFFFFF, "unknown
length", which browsers and most readers (Python's `wave` included) accept: it reads
to the end of the stream. The same header with the true sizes, and the same PCM, is the
WAV written whole; the bytes of the two differ only in those two size fields.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from avataradam.domain.errors import UnsupportedMediaType
from avataradam.domain.ports.speech import UnreadableAudio

HEADER_BYTES = 44
"""RIFF header, `fmt ` chunk (16 bytes of PCM format), `data` chunk header."""
UNKNOWN_SIZE = 0xFFFFFFFF
BYTES_PER_FRAME = 2
"""16-bit samples, one channel."""

WAV, WEBM, OGG, MPEG, MP4 = "audio/wav", "audio/webm", "audio/ogg", "audio/mpeg", "audio/mp4"
RECORDING_TYPES: dict[str, str] = {
    "audio/wav": WAV,
    "audio/x-wav": WAV,
    "audio/wave": WAV,
    "audio/vnd.wave": WAV,
    "audio/webm": WEBM,
    "video/webm": WEBM,
    "audio/ogg": OGG,
    "audio/opus": OGG,
    "application/ogg": OGG,
    "audio/mpeg": MPEG,
    "audio/mp3": MPEG,
    "audio/mp4": MP4,
    "audio/m4a": MP4,
    "audio/x-m4a": MP4,
    "video/mp4": MP4,
}
"""Media types a recording may be declared as (parameters such as `codecs=opus` aside),
each to the type the recognisers are given."""
UNDECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
"""Declared types that say nothing: the bytes decide."""


def wav_header(sample_rate: int, data_bytes: int | None) -> bytes:
    """The 44-byte header of a PCM16 mono WAV holding `data_bytes` of samples; None: a
    stream of unknown length (both sizes 0xFFFFFFFF)."""
    if data_bytes is None:
        riff_size = data_size = UNKNOWN_SIZE
    else:
        data_size, riff_size = data_bytes, min(data_bytes + HEADER_BYTES - 8, UNKNOWN_SIZE)
    byte_rate = sample_rate * BYTES_PER_FRAME
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, byte_rate, BYTES_PER_FRAME, 16)
        + b"data"
        + struct.pack("<I", data_size)
    )


def pcm_of(wav: bytes) -> tuple[int, bytes]:
    """The sample rate and the PCM samples of a 16-bit mono WAV file (chunks other than
    `fmt ` and `data` skipped). Raises `UnreadableAudio` for anything else."""
    if len(wav) < 12 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise UnreadableAudio("not a WAV file")
    rate: int | None = None
    position = 12
    while position + 8 <= len(wav):
        name = wav[position : position + 4]
        (size,) = struct.unpack("<I", wav[position + 4 : position + 8])
        body = wav[position + 8 : position + 8 + size]
        if name == b"fmt ":
            if len(body) < 16:
                raise UnreadableAudio("truncated fmt chunk")
            fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if (fmt, channels, bits) != (1, 1, 16):
                raise UnreadableAudio("only 16-bit PCM mono WAV is spoken")
        elif name == b"data":
            if rate is None:
                raise UnreadableAudio("WAV data before its format")
            return rate, body[: len(body) - len(body) % BYTES_PER_FRAME]
        position += 8 + size + (size % 2)
    raise UnreadableAudio("WAV file without data")


def duration_s(pcm_bytes: int, sample_rate: int) -> float:
    """Seconds of `pcm_bytes` of 16-bit mono samples."""
    return pcm_bytes / BYTES_PER_FRAME / sample_rate


def _mpeg_frame(head: bytes) -> bool:
    """An MPEG audio frame: 11 sync bits, then a layer that is not 0 (0 is AAC's ADTS)."""
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and bool(head[1] & 0x06)


_SIGNATURES: tuple[tuple[Callable[[bytes], bool], str], ...] = (
    (lambda head: head[:4] == b"RIFF" and head[8:12] == b"WAVE", WAV),
    (lambda head: head[:4] == b"OggS", OGG),
    (lambda head: head[:4] == b"\x1a\x45\xdf\xa3", WEBM),  # EBML: WebM (or Matroska)
    (lambda head: head[4:8] == b"ftyp", MP4),
    (lambda head: head[:3] == b"ID3", MPEG),
    (_mpeg_frame, MPEG),
)


def sniff_recording(head: bytes) -> str | None:
    """The recording type (`RECORDING_TYPES`' values) its first bytes show, else None."""
    return next((kind for test, kind in _SIGNATURES if test(head)), None)


def recording_type(declared: str | None, head: bytes) -> str:
    """The type a recording is transcribed as: the one its bytes show, else the declared
    one when it is a recording type (the recogniser then decides whether it decodes).

    `declared` is the media type the client sent, parameters aside. Raises
    `UnsupportedMediaType` for a declared type that is no recording type, or bytes of
    no recording type declared as nothing in particular (`application/octet-stream`).
    """
    mimetype = (declared or "").split(";", 1)[0].strip().lower()
    if mimetype not in RECORDING_TYPES and mimetype not in UNDECLARED:
        raise UnsupportedMediaType(
            f"a recording is WebM, Ogg, WAV, MP3 or M4A audio, not {mimetype}", field="file"
        )
    sniffed = sniff_recording(head)
    if sniffed is not None:
        return sniffed
    if mimetype in UNDECLARED:
        raise UnsupportedMediaType("the file is not WebM, Ogg, WAV, MP3 or M4A audio", field="file")
    return RECORDING_TYPES[mimetype]

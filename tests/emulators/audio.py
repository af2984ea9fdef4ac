"""Audio the emulations and tests make and read: PCM tones and silence, WAV files (also
with the streamed header OpenAI sends, RIFF and data sizes `0xFFFFFFFF`), minimal but
well-formed Ogg Opus files (RFC 7845 headers, CRC-checked pages; the packets are not
real Opus frames), and a sniffer that tells a service what it was sent: the container,
its length and whether it is silent.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import math
import os
import struct
import wave
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from avataradam.adapters.speech import probe
from tests.emulators.http_server import EmulatedApi, Refused

SILENCE_PEAK = 300
"""Samples within ±this (of 32,767) count as silence."""


def tone_pcm16(duration_s: float, sample_rate: int, frequency: float = 220.0) -> bytes:
    """A sine at a third of full scale, 16-bit little-endian mono."""
    count = round(duration_s * sample_rate)
    samples = array(
        "h",
        (round(10_000 * math.sin(2 * math.pi * frequency * i / sample_rate)) for i in range(count)),
    )
    return samples.tobytes()


def silence_pcm16(duration_s: float, sample_rate: int) -> bytes:
    return bytes(2 * round(duration_s * sample_rate))


def wav_bytes(
    pcm: bytes,
    sample_rate: int,
    *,
    channels: int = 1,
    streamed_header: bool = False,
    trailing_chunk: bytes = b"",
) -> bytes:
    """A 16-bit PCM WAV of `pcm` (interleaved when `channels` > 1). `streamed_header`
    writes `0xFFFFFFFF` as RIFF and data sizes, as a streaming server does;
    `trailing_chunk` is appended after the data chunk (a `LIST` chunk, say)."""
    block_align = 2 * channels
    data_size = 0xFFFFFFFF if streamed_header else len(pcm)
    header = b"RIFF" + struct.pack("<I", 0xFFFFFFFF if streamed_header else 36 + len(pcm))
    header += b"WAVE" + b"fmt " + struct.pack("<I", 16)
    header += struct.pack(
        "<HHIIHH", 1, channels, sample_rate, sample_rate * block_align, 2 * channels, 16
    )
    header += b"data" + struct.pack("<I", data_size)
    return header + pcm + trailing_chunk


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packet: bytes, *, sequence: int, granule: int, flags: int) -> bytes:
    lacing = bytes([255] * (len(packet) // 255) + [len(packet) % 255])
    header = b"OggS" + struct.pack("<BBqIII", 0, flags, granule, 0x5EED, sequence, 0)
    page = header + bytes([len(lacing)]) + lacing + packet
    crc = _ogg_crc(page)
    return page[:22] + struct.pack("<I", crc) + page[26:]


OPUS_PRE_SKIP = 312


def ogg_opus_bytes(duration_s: float, *, pages: int = 3) -> bytes:
    """An Ogg Opus file of `duration_s` seconds by its granule positions."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, OPUS_PRE_SKIP, 48_000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0)
    out = _ogg_page(head, sequence=0, granule=0, flags=0x02)
    out += _ogg_page(tags, sequence=1, granule=0, flags=0)
    total = round(duration_s * 48_000) + OPUS_PRE_SKIP
    for index in range(1, pages + 1):
        last = index == pages
        out += _ogg_page(
            bytes(40),
            sequence=1 + index,
            granule=total * index // pages,
            flags=0x04 if last else 0,
        )
    return out


@dataclass(frozen=True)
class Sniffed:
    container: str
    """wav, ogg, webm, mp3, mp4 or flac."""
    duration_s: float | None
    silent: bool


def sniff(data: bytes) -> Sniffed | None:
    """What a service decoding `data` would find, or None when it cannot decode it."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _sniff_wav(data)
    if data[:4] == b"OggS" and b"OpusHead" in data[:80]:
        (granule,) = struct.unpack_from("<q", data, data.rfind(b"OggS") + 6)
        return Sniffed("ogg", max(granule - OPUS_PRE_SKIP, 0) / 48_000, silent=False)
    container = next((name for name, test in _MAGIC if test(data)), None)
    return None if container is None else Sniffed(container, None, silent=False)


_MAGIC: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("webm", lambda data: data[:4] == b"\x1a\x45\xdf\xa3"),
    ("mp3", lambda data: data[:3] == b"ID3" or (data[:1] == b"\xff" and data[1:2] >= b"\xe0")),
    ("mp4", lambda data: data[4:8] == b"ftyp"),
    ("flac", lambda data: data[:4] == b"fLaC"),
)


def _sniff_wav(data: bytes) -> Sniffed | None:
    try:
        with wave.open(io.BytesIO(data)) as reader:
            rate, width, channels = (
                reader.getframerate(),
                reader.getsampwidth(),
                reader.getnchannels(),
            )
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError):
        return None
    if width != 2 or not frames:
        return None
    samples = array("h")
    samples.frombytes(frames[: len(frames) - len(frames) % 2])
    silent = max(map(abs, samples), default=0) <= SILENCE_PEAK
    return Sniffed("wav", len(samples) / channels / rate, silent)


def require_pyav() -> Any:
    """PyAV (installed with faster-whisper by `just setup-speech`), to make real browser
    recordings; skipped where it is absent, except under CI=true, where it must be."""
    try:
        return importlib.import_module("av")
    except ImportError:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("PyAV is not installed: run `just setup-speech`")
        pytest.skip("PyAV is not installed (`just setup-speech`)")


def as_without_pyav(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes the adapters measure recordings as on a machine without PyAV: WAV and Ogg
    only, every other container's length left to the service."""
    monkeypatch.setattr(probe, "_pyav_duration_s", _length_unknown)


def _length_unknown(_audio: bytes) -> None:
    return None


def webm_opus_bytes(duration_s: float) -> bytes:
    """A WebM/Opus recording of a tone, as Chromium's MediaRecorder makes (48 kHz mono)."""
    av = require_pyav()
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=48_000)
        stream.layout = "mono"
        samples = array("h", tone_pcm16(duration_s, 48_000))
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(samples))
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = 48_000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return buffer.getvalue()


@dataclass(frozen=True)
class Heard:
    """What an emulated recogniser hears in a recording: its container's `sniffed`
    facts, its length (1 s when the container does not say), the words and their
    language."""

    sniffed: Sniffed
    duration_s: float
    text: str
    language: str


class ListeningApi(EmulatedApi):
    """An emulated speech service with a recogniser: it hears in a recording the text a
    test registered for exactly those bytes with `say`, else `default_transcript` in
    `default_language`. Requests must present `api_key`."""

    def __init__(self, api_key: str, default_transcript: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.default_transcript = default_transcript
        self.default_language = "en"
        self._heard: dict[str, tuple[str, str]] = {}

    def say(self, audio: bytes, text: str, language: str = "en") -> None:
        """What the service hears in exactly these bytes."""
        self._heard[hashlib.sha256(audio).hexdigest()] = (text, language)

    def reset(self) -> None:
        super().reset()
        self._heard.clear()

    def hear(self, data: bytes, *, unreadable: object) -> Heard:
        """What is heard in `data`; a 400 with the service's `unreadable` error when it
        is not audio the service decodes."""
        sniffed = sniff(data)
        if sniffed is None:
            raise Refused(400, unreadable)
        text, language = self._heard.get(
            hashlib.sha256(data).hexdigest(), (self.default_transcript, self.default_language)
        )
        duration_s = sniffed.duration_s if sniffed.duration_s is not None else 1.0
        return Heard(sniffed, duration_s, text, language)

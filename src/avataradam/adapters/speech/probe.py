"""What a recording is before it is sent anywhere: its kind (media type and the file
name extension cloud APIs decide the decoder by) and, where it can be read cheaply,
its length in seconds, so an over-long recording is refused before a provider bills it.

Read without any dependency: WAV (RIFF chunks) and Ogg (Opus or Vorbis: the granule
position of the last page). Other containers (WebM, MP3, MP4/M4A) are read with PyAV
when it is installed (`just setup-speech` installs it with faster-whisper); without it
their length is unknown here and the provider's own count is checked afterwards.
"""

from __future__ import annotations

import importlib
import io
import struct
from dataclasses import dataclass
from typing import Any

from avataradam.adapters.speech.wav import NotWav, read_wav
from avataradam.domain.ports.speech import AudioTooLong, UnreadableAudio


@dataclass(frozen=True)
class AudioKind:
    media_type: str
    extension: str
    """Without the dot: OpenAI picks its decoder by the upload's file name."""

    @property
    def filename(self) -> str:
        return f"audio.{self.extension}"


_KINDS: dict[str, AudioKind] = {
    "audio/wav": AudioKind("audio/wav", "wav"),
    "audio/x-wav": AudioKind("audio/wav", "wav"),
    "audio/wave": AudioKind("audio/wav", "wav"),
    "audio/vnd.wave": AudioKind("audio/wav", "wav"),
    "audio/webm": AudioKind("audio/webm", "webm"),
    "video/webm": AudioKind("audio/webm", "webm"),
    "audio/ogg": AudioKind("audio/ogg", "ogg"),
    "audio/opus": AudioKind("audio/ogg", "ogg"),
    "application/ogg": AudioKind("audio/ogg", "ogg"),
    "audio/mpeg": AudioKind("audio/mpeg", "mp3"),
    "audio/mp3": AudioKind("audio/mpeg", "mp3"),
    "audio/mp4": AudioKind("audio/mp4", "m4a"),
    "audio/m4a": AudioKind("audio/mp4", "m4a"),
    "audio/x-m4a": AudioKind("audio/mp4", "m4a"),
    "audio/flac": AudioKind("audio/flac", "flac"),
    "audio/x-flac": AudioKind("audio/flac", "flac"),
}


def audio_kind(content_type: str) -> AudioKind:
    """The kind of a declared media type (parameters such as `;codecs=opus` ignored).
    Raises `UnreadableAudio` for a type no speech API reads."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind = _KINDS.get(media_type)
    if kind is None:
        raise UnreadableAudio(f"{media_type or 'untyped'} is not an audio type", type=media_type)
    return kind


def check_duration(audio: bytes, kind: AudioKind, *, max_duration_s: float) -> float | None:
    """The recording's length in seconds when it can be read here, else None. Raises
    `AudioTooLong` past `max_duration_s`, `UnreadableAudio` when a WAV or Ogg file is
    not one."""
    duration_s = probe_duration_s(audio, kind)
    if duration_s is not None:
        check_length(duration_s, max_duration_s)
    return duration_s


def check_length(duration_s: float, max_duration_s: float) -> None:
    """Raises `AudioTooLong` when `duration_s` is over `max_duration_s` (seconds)."""
    if duration_s > max_duration_s:
        raise AudioTooLong(
            f"the recording lasts {duration_s:.1f} s, more than {max_duration_s:g} s",
            duration_s=duration_s,
            limit_s=max_duration_s,
        )


def upload(
    audio: bytes, content_type: str, *, max_duration_s: float
) -> tuple[AudioKind, float | None]:
    """A recording about to be sent to a cloud API: its kind and its length in seconds
    (None when it cannot be read here). Raises `UnreadableAudio` (empty, a type no
    speech API reads, a WAV or Ogg file that is not one), `AudioTooLong`."""
    kind = audio_kind(content_type)
    if not audio:
        raise UnreadableAudio("the recording is empty", type=kind.media_type)
    return kind, check_duration(audio, kind, max_duration_s=max_duration_s)


def probe_duration_s(audio: bytes, kind: AudioKind) -> float | None:
    if kind.extension == "wav":
        try:
            return read_wav(audio).duration_s
        except NotWav as exc:
            raise UnreadableAudio(f"not a readable WAV file: {exc}", type=kind.media_type) from exc
    if kind.extension == "ogg":
        return ogg_duration_s(audio)
    return _pyav_duration_s(audio)


def ogg_duration_s(audio: bytes) -> float:
    """Length of an Ogg Opus or Ogg Vorbis stream from its last page's granule position
    (RFC 7845 section 4: Opus granules count 48 kHz samples, less the pre-skip)."""
    if audio[:4] != b"OggS" or len(audio) < 28:
        raise UnreadableAudio("not an Ogg file", type="audio/ogg")
    segments = audio[26]
    packet = audio[27 + segments : 27 + segments + 19]
    if packet.startswith(b"OpusHead") and len(packet) >= 12:
        rate, skip = 48_000, struct.unpack_from("<H", packet, 10)[0]
    elif packet.startswith(b"\x01vorbis") and len(packet) >= 16:
        rate, skip = struct.unpack_from("<I", packet, 12)[0], 0
    else:
        raise UnreadableAudio("an Ogg stream that is neither Opus nor Vorbis", type="audio/ogg")
    end = len(audio)
    while (page := audio.rfind(b"OggS", 0, end)) > 0:
        granule: int = (
            struct.unpack_from("<q", audio, page + 6)[0] if page + 14 <= len(audio) else -1
        )
        if granule >= 0:
            return float(max(granule - skip, 0) / rate)
        end = page
    return 0.0


def _pyav_duration_s(audio: bytes) -> float | None:
    try:
        av: Any = importlib.import_module("av")  # optional: installed with faster-whisper
    except ImportError:
        return None
    try:
        with av.open(io.BytesIO(audio), mode="r") as container:
            streams = container.streams.audio
            if not streams:
                raise UnreadableAudio("the file holds no audio stream")
            stream = streams[0]
            end = 0.0
            for packet in container.demux(stream):
                if packet.pts is not None and packet.time_base is not None:
                    end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
            return end
    except av.error.FFmpegError as exc:
        raise UnreadableAudio("the recording cannot be decoded") from exc

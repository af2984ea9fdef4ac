"""Ports of speech (issue 20): text to speech, speech to text, and a streaming
talking-head avatar session.

Audio crosses these ports in one shape each way:
- out of a `SpeechSynthesizer`: WAV, 16-bit signed little-endian PCM, mono, at the
  adapter's `sample_rate` (Hz). One format for every engine (Piper, espeak-ng, an
  OpenAI-compatible API asked for `wav`, ElevenLabs asked for `pcm_<rate>`), so the
  use case can stream a reply sentence by sentence as one WAV stream and measure its
  seconds exactly (`Speech.duration_s` = PCM frames / `sample_rate`).
- into a `SpeechRecognizer`: the bytes as the browser or client sent them (webm/opus,
  ogg/opus, wav, mp3, m4a) and their declared media type; the adapter decodes.

Errors: `SpeechUnavailable` (503, retryable: an engine missing, a process that died, a
cloud API down or refusing the key), `UnreadableAudio` (422: not decodable as the type
it claims, e.g. truncated), `NoSpeech` (422: decodable, but nothing was said),
`AudioTooLong` (413: more seconds than the caller allows). A wrong media type is
refused at the HTTP edge before a recognizer sees it (415 `unsupported_media_type`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from avataradam.domain import codes
from avataradam.domain.errors import DependencyUnavailable, DomainError

WAV: str = "audio/wav"
"""The media type of every `Speech` (see the module docstring)."""


class SpeechUnavailable(DependencyUnavailable):
    code = codes.SPEECH_UNAVAILABLE


class UnreadableAudio(DomainError):
    """The audio cannot be decoded as the type it claims (truncated, corrupt)."""

    code = codes.UNREADABLE_AUDIO


class NoSpeech(DomainError):
    """The audio decodes but holds no speech (silence, noise)."""

    code = codes.NO_SPEECH


class AudioTooLong(DomainError):
    """The audio lasts longer than the caller allows (`limit_s`, seconds)."""

    code = codes.AUDIO_TOO_LONG

    def __init__(self, message: str, *, duration_s: float, limit_s: float) -> None:
        super().__init__(message, duration_s=round(duration_s, 2), limit_s=limit_s)
        self.duration_s, self.limit_s = duration_s, limit_s


class Voice(msgspec.Struct, frozen=True, kw_only=True):
    """A voice an adapter can speak with. `id` is the adapter's own name for it (a Piper
    voice and speaker, an espeak-ng variant, an ElevenLabs voice id, an OpenAI voice
    name); `language` the BCP 47 language it reads best (`en`, `es`); `gender`
    `male` | `female` | `neutral` where known (the persona's voice is chosen by it)."""

    id: str
    language: str
    gender: str = "neutral"


class Speech(msgspec.Struct, frozen=True, kw_only=True):
    """Synthesised audio: a complete WAV file (see the module docstring)."""

    audio: bytes
    sample_rate: int
    """Hz."""
    duration_s: float
    """Seconds of audio (PCM frames / sample_rate)."""
    content_type: str = WAV


class Transcript(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    """What was said, trimmed; never empty (`NoSpeech` instead)."""
    language: str
    """The language spoken (`en`, `es`, …): the one asked for, else the one detected."""
    duration_s: float
    """Seconds of audio heard."""


class SpeechSynthesizer(Protocol):
    """Speaks text. `name` names the engine (`piper`, `espeak-ng`, `openai`,
    `elevenlabs`, `memory`); `voices` are those it can speak with, never empty.

    `synthesize` speaks `text` (plain text, one or a few sentences; the caller splits a
    long reply) with `voice` (one of `voices`' ids; another raises ValueError); text with
    nothing to say (no letter or digit) is a WAV of no frames, asked of no engine.
    Raises `SpeechUnavailable`."""

    name: str

    @property
    def voices(self) -> Sequence[Voice]: ...

    async def synthesize(self, text: str, *, voice: str) -> Speech: ...


class SpeechRecognizer(Protocol):
    """Transcribes recorded speech. `name` names the engine (`faster-whisper`,
    `openai`, `elevenlabs`, `memory`).

    `transcribe` reads `audio` of media type `content_type` (without parameters, e.g.
    `audio/webm`); `language` (`en`, `es`) when the caller knows it, else detected.
    Raises `AudioTooLong` when it lasts more than `max_duration_s` (checked before any
    recognition work), `UnreadableAudio`, `NoSpeech`, `SpeechUnavailable`."""

    name: str

    async def transcribe(
        self,
        audio: bytes,
        *,
        content_type: str,
        language: str | None = None,
        max_duration_s: float,
    ) -> Transcript: ...


class AvatarSession(msgspec.Struct, frozen=True, kw_only=True):
    """A streaming talking-head session the browser joins with the provider's own SDK:
    `session_id` and the short-lived `token` the browser presents (never our key),
    until `expires_at` (ISO 8601, UTC); `url` the provider's realtime endpoint when it
    names one."""

    provider: str
    session_id: str
    token: str
    expires_at: str
    url: str | None = None


class AvatarProvider(Protocol):
    """Creates avatar-video sessions (HeyGen-style streaming). `name` names the
    provider. Raises `SpeechUnavailable` when the provider is unreachable or refuses."""

    name: str

    async def create_session(self, *, avatar_id: str, voice: str | None) -> AvatarSession: ...


__all__ = [
    "WAV",
    "AudioTooLong",
    "AvatarProvider",
    "AvatarSession",
    "NoSpeech",
    "Speech",
    "SpeechRecognizer",
    "SpeechSynthesizer",
    "SpeechUnavailable",
    "Transcript",
    "UnreadableAudio",
    "Voice",
]

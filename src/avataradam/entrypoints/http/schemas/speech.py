"""Bodies of speech: text to speak, voices, transcripts and avatar sessions."""

from __future__ import annotations

from typing import Annotated

import msgspec

MAX_VOICE_ID_CHARS = 100


class SpeechRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    text: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description=(
                "What to say: at most `AVATARADAM_SPEECH_MAX_TEXT_CHARS` characters (2000 by "
                "default; more is 422)."
            ),
            examples=[
                "The service contract is optional, and it covers repairs after the warranty."
            ],
        ),
    ]
    voice: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=MAX_VOICE_ID_CHARS,
                description="A voice of GET /v1/speech/voices; Adam's by default.",
                examples=["en_US-joe-medium"],
            ),
        ]
        | None
    ) = None


class VoiceOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    language: str
    """BCP 47 language the voice reads best (`en`, `es`)."""
    gender: str
    """`male`, `female` or `neutral`."""


class VoicesOut(msgspec.Struct, frozen=True, kw_only=True):
    engine: str | None
    """The synthesizer: `piper`, `espeak-ng`, `openai`, `elevenlabs` or `memory`; null
    when speech synthesis is off."""
    adam_voice: str | None
    """The id of Adam's voice; null when synthesis is off."""
    recognizer: str | None
    """The recogniser (`faster-whisper`, `openai`, `elevenlabs`, `memory`); null when
    transcription is off (`POST /v1/transcriptions` answers 403)."""
    items: list[VoiceOut]
    """Empty when synthesis is off."""


class TranscriptOut(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    language: str
    """The language spoken: the one asked for, else the one detected."""
    duration_s: float
    """Seconds of audio heard."""


class AvatarSessionOut(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    session_id: str
    token: str
    """Short-lived: the browser joins the session with it (never the provider's key)."""
    expires_at: str
    """ISO 8601, UTC."""
    url: str | None = None
    """The provider's realtime endpoint, when it names one."""

"""What replies and speech cost, per record and per day."""

from __future__ import annotations

import enum
from datetime import date, datetime
from uuid import UUID

import msgspec


class UsageKind(enum.StrEnum):
    """What a usage record counts."""

    REPLY = "reply"
    """A reply: a model call or an answer from the answer cache (one per reply message)."""
    SYNTHESIS = "synthesis"
    """Speech synthesised: `POST /v1/speech`, or a reply spoken the first time."""
    TRANSCRIPTION = "transcription"
    """A recording transcribed (`POST /v1/transcriptions`)."""


class UsageRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What one reply or one piece of speech cost. A reply: its model call (the tokens
    the model reported) or an answer served from the answer cache (`cached`, 0 tokens),
    one per reply message. Speech: its seconds and the tokens of the budget they count
    (`speech_tokens`); `message_id` names the reply spoken, if one was."""

    id: UUID
    dealership_id: UUID
    conversation_id: UUID | None
    message_id: UUID | None
    model: str
    """The chat model, or the speech engine."""
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cached: bool
    created_at: datetime
    speech_seconds: float = 0.0
    """Seconds of speech synthesised or transcribed."""
    kind: UsageKind = UsageKind.REPLY
    speech_tokens: int = 0
    """Tokens of the monthly budget the speech counts
    (`AVATARADAM_SPEECH_BUDGET_TOKENS_PER_SECOND` per second)."""

    @property
    def tokens(self) -> int:
        """What the record counts against the monthly budget."""
        return self.prompt_tokens + self.completion_tokens + self.speech_tokens


class UsageDay(msgspec.Struct, frozen=True, kw_only=True):
    """A dealership's usage on one UTC day."""

    day: date
    model_calls: int
    """Replies that called the model (cached answers not included)."""
    cached_answers: int
    prompt_tokens: int
    completion_tokens: int
    speech_seconds: float
    speech_tokens: int = 0
    """Tokens of the budget the day's speech counted."""

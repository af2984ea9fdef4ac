"""What replies cost, per reply and per day."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec


class UsageRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What one reply cost: a model call (its reported tokens) or an answer served
    from the answer cache (`cached`, 0 tokens). One per reply message."""

    id: UUID
    dealership_id: UUID
    conversation_id: UUID
    message_id: UUID
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cached: bool
    created_at: datetime
    speech_seconds: float = 0.0
    """Seconds of synthesised speech (0 until the avatar speaks)."""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class UsageDay(msgspec.Struct, frozen=True, kw_only=True):
    """A dealership's usage on one UTC day."""

    day: date
    model_calls: int
    """Replies that called the model (cached answers not included)."""
    cached_answers: int
    prompt_tokens: int
    completion_tokens: int
    speech_seconds: float

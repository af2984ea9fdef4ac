"""Bodies of the usage report and the monthly token budget."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec


class UsageDayOut(msgspec.Struct, frozen=True):
    day: date
    """A UTC day."""
    model_calls: int
    """Replies that called the chat model."""
    cached_answers: int
    """Replies served from the answer cache (no model call, 0 tokens)."""
    prompt_tokens: int
    completion_tokens: int
    speech_seconds: float
    """Seconds of speech synthesised and transcribed."""
    speech_tokens: int
    """Tokens of the monthly budget the day's speech counted
    (`AVATARADAM_SPEECH_BUDGET_TOKENS_PER_SECOND` per second)."""


class BudgetOut(msgspec.Struct, frozen=True):
    monthly_token_budget: int | None
    """Prompt plus completion tokens per calendar month (UTC); null = unlimited."""
    period_start: date
    resets_at: datetime
    used_tokens: int
    """Tokens recorded this month: prompt, completion and speech tokens."""
    remaining_tokens: int | None
    """null = unlimited."""


class UsageReportOut(msgspec.Struct, frozen=True):
    dealership_id: UUID
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    days: list[UsageDayOut]
    budget: BudgetOut

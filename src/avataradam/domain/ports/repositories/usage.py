"""Persistence port of LLM usage records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from avataradam.domain.model import (
    UsageDay,
    UsageRecord,
)


class UsageRepository(Protocol):
    """Usage records per reply and the budget alerts raised, per dealership."""

    async def add(self, record: UsageRecord) -> None:
        """Stores a record; a second one for the same message raises Conflict."""
        ...

    async def days(self, *, dealership_id: UUID, start: datetime, end: datetime) -> list[UsageDay]:
        """Totals per UTC day of records with `start <= created_at < end`, oldest day
        first; days without records are absent."""
        ...

    async def tokens(self, *, dealership_id: UUID, start: datetime, end: datetime) -> int:
        """Prompt plus completion tokens of records with `start <= created_at < end`."""
        ...

    async def claim_alert(
        self, *, dealership_id: UUID, period: date, threshold: int, now: datetime
    ) -> bool:
        """Marks the alert of `threshold` percent raised for the period; False when it
        already was (by any transaction: the first one committed wins)."""
        ...

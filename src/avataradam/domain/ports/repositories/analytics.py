"""Read port of the managers' analytics."""

from __future__ import annotations

from datetime import date
from typing import Protocol
from uuid import UUID

from avataradam.domain.model.analytics import (
    ActivityTotals,
    CriterionCount,
    FeedbackCounts,
    QuestionCount,
    RankRow,
    SessionRow,
    WeekActivity,
)


class AnalyticsRepository(Protocol):
    """Sums over a dealership's UTC days `start..end` (inclusive). Reads only; each
    answer costs time in the size of the dealership's range, never of all messages."""

    async def totals(
        self, *, dealership_id: UUID, start: date, end: date, user_id: UUID | None = None
    ) -> ActivityTotals:
        """The dealership's activity (one user's, given `user_id`)."""
        ...

    async def weeks(
        self, *, dealership_id: UUID, start: date, end: date, user_id: UUID | None = None
    ) -> list[WeekActivity]:
        """Activity per ISO week, oldest first; weeks without activity are absent."""
        ...

    async def criteria(
        self, *, dealership_id: UUID, start: date, end: date
    ) -> list[CriterionCount]:
        """Verdicts per rubric criterion over the range (`week` None), in no set order."""
        ...

    async def user_criteria(
        self, *, dealership_id: UUID, user_id: UUID, start: date, end: date
    ) -> list[CriterionCount]:
        """One user's verdicts per ISO week and criterion, oldest week first."""
        ...

    async def top_questions(
        self, *, dealership_id: UUID, start: date, end: date, limit: int
    ) -> list[QuestionCount]:
        """The most asked training questions, most asked first (ties by text)."""
        ...

    async def feedback(self, *, dealership_id: UUID, start: date, end: date) -> FeedbackCounts: ...

    async def sessions(
        self, *, dealership_id: UUID, user_id: UUID, start: date, end: date, limit: int
    ) -> list[SessionRow]:
        """A user's roleplay sessions started in the range, newest first, at most `limit`."""
        ...

    async def ranks(self, *, dealership_id: UUID, start: date, end: date) -> list[RankRow]:
        """Per user with a scored session in the range (by completion day), in no set order."""
        ...

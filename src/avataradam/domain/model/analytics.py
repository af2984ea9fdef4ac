"""Rows of the managers' analytics, as the `AnalyticsRepository` sums them.

Counts are integers; scores are overall scores 0-100 (`domain/training/scorecard.py`);
days and weeks are UTC (a week is named by its ISO Monday).
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec


class ActivityTotals(msgspec.Struct, frozen=True, kw_only=True):
    """A dealership's (or one user's) activity over a range of days."""

    active_users: int
    """Users who started at least one conversation (any mode) in the range."""
    conversations: int
    """Conversations started, any mode."""
    sessions_started: int
    """Roleplay sessions started (by start day)."""
    sessions_completed: int
    """Roleplay sessions completed (by completion day)."""
    scored: int
    """Scored sessions (by completion day)."""
    score_sum: int
    passed: int


class WeekActivity(msgspec.Struct, frozen=True, kw_only=True):
    week: date
    """The ISO week's Monday."""
    sessions_started: int
    sessions_completed: int
    scored: int
    score_sum: int
    passed: int


class CriterionCount(msgspec.Struct, frozen=True, kw_only=True):
    """Applicable verdicts of one rubric criterion, and how many were `met`."""

    rubric_id: str
    criterion_id: str
    title: str
    blocker: bool
    met: int
    total: int
    week: date | None = None
    """The ISO week's Monday, for a per-week count; None for a whole range."""


class QuestionCount(msgspec.Struct, frozen=True, kw_only=True):
    question: str
    """Normalised (`normalise_question`)."""
    asked: int


class FeedbackCounts(msgspec.Struct, frozen=True, kw_only=True):
    up: int
    down: int
    inaccurate: int
    """Thumbs-down ratings that give a reason."""


class SessionRow(msgspec.Struct, frozen=True, kw_only=True):
    """One roleplay session of a user, with its score when it has one."""

    conversation_id: UUID
    scenario_id: str | None
    started_at: datetime
    completed_at: datetime | None
    status: str | None
    """The scorecard's status (pending, scored, failed); None while the session is open."""
    overall: int | None
    passed: bool | None


class RankRow(msgspec.Struct, frozen=True, kw_only=True):
    """One user's scored sessions over a range, for the leaderboard."""

    user_id: UUID
    first_name: str | None
    last_name: str | None
    email: str
    sessions: int
    score_sum: int
    best_score: int
    passed: int


class TrendWeek(msgspec.Struct, frozen=True, kw_only=True):
    """One ISO week of a trend; rates are None when nothing was scored."""

    week: date
    sessions_started: int
    sessions_completed: int
    scored: int
    average_score: float | None
    pass_rate: float | None
    """Passed / scored, 0..1."""


class CriterionRate(msgspec.Struct, frozen=True, kw_only=True):
    rubric_id: str
    criterion_id: str
    title: str
    blocker: bool
    met: int
    total: int
    """Applicable verdicts (`not_applicable` ones are not counted)."""
    pass_rate: float
    """met / total, 0..1."""
    week: date | None = None
    """The ISO week's Monday in a per-week trend; None over the whole range."""


class Overview(msgspec.Struct, frozen=True, kw_only=True):
    dealership_id: UUID
    start: date
    end: date
    """Inclusive."""
    active_users: int
    conversations: int
    sessions_started: int
    sessions_completed: int
    scored: int
    average_score: float | None
    pass_rate: float | None
    weekly: list[TrendWeek]
    """Every ISO week touching the range, zeros included, oldest first."""
    criteria: list[CriterionRate]
    """Every criterion with a verdict in the range, lowest pass rate first."""
    blockers: list[CriterionRate]
    """The blocker criteria among `criteria`."""
    weakest_skills: list[CriterionRate]
    """The lowest pass rates among non-blocker criteria with enough verdicts."""
    top_questions: list[QuestionCount]
    feedback: FeedbackCounts


class UserAnalytics(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    dealership_id: UUID
    display_name: str
    start: date
    end: date
    sessions_started: int
    sessions_completed: int
    scored: int
    average_score: float | None
    pass_rate: float | None
    weekly: list[TrendWeek]
    criteria_trend: list[CriterionRate]
    """Per ISO week with a verdict and criterion, oldest week first."""
    sessions: list[SessionRow]
    """The most recent roleplay sessions started in the range, newest first (bounded)."""


class Rank(msgspec.Struct, frozen=True, kw_only=True):
    rank: int
    """Competition ranking ("1, 1, 3") by average score, then best score."""
    user_id: UUID
    display_name: str
    sessions: int
    """Scored sessions in the range."""
    average_score: float
    best_score: int
    pass_rate: float
    you: bool
    """Whether this is the caller."""


class Leaderboard(msgspec.Struct, frozen=True, kw_only=True):
    dealership_id: UUID
    start: date
    end: date
    items: list[Rank]

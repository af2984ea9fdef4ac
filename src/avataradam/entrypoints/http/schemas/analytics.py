"""Bodies of the managers' analytics (domain/usecases/analytics.py).

Days and weeks are UTC; a week is named by its ISO Monday. Scores are overall scores
0-100 (averages with one decimal); rates are 0..1; null where nothing was scored.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from avataradam.domain.model.assignments import AssignmentStatus


class TrendWeekOut(msgspec.Struct, frozen=True):
    week: date
    """The ISO week's Monday."""
    sessions_started: int
    """Roleplay sessions started that week."""
    sessions_completed: int
    scored: int
    """Sessions scored (by completion day)."""
    average_score: float | None
    pass_rate: float | None
    """Passed / scored."""


class CriterionRateOut(msgspec.Struct, frozen=True):
    rubric_id: str
    criterion_id: str
    title: str
    blocker: bool
    """A compliance criterion: failing it fails the session."""
    met: int
    total: int
    """Applicable verdicts (not_applicable ones are not counted)."""
    pass_rate: float
    """met / total."""
    week: date | None = None
    """The ISO week's Monday in a trend; null over the whole range."""


class QuestionCountOut(msgspec.Struct, frozen=True):
    question: str
    """Normalised: lower case, single spaces, no trailing ?, ! or . (≤ 200 characters)."""
    asked: int


class FeedbackCountsOut(msgspec.Struct, frozen=True):
    up: int
    down: int
    inaccurate: int
    """Thumbs-down ratings that give a reason (reports of an inaccurate answer)."""


class GapSummaryOut(msgspec.Struct, frozen=True, kw_only=True):
    """An open knowledge gap as the overview lists it."""

    gap_id: UUID
    title: str
    """Its most representative question."""
    count: int
    """Questions of it asked in the range."""
    last_asked_at: datetime
    recurred: bool


class OverviewOut(msgspec.Struct, frozen=True):
    dealership_id: UUID
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    active_users: int
    """Users who started a conversation (any mode) in the range."""
    conversations: int
    """Conversations started, any mode."""
    sessions_started: int
    """Roleplay sessions started."""
    sessions_completed: int
    scored: int
    average_score: float | None
    pass_rate: float | None
    weekly: list[TrendWeekOut]
    """Every ISO week touching the range, zeros included, oldest first."""
    criteria: list[CriterionRateOut]
    """Pass rate per rubric criterion, lowest first."""
    blockers: list[CriterionRateOut]
    """Pass rate per blocker (compliance) criterion, lowest first."""
    weakest_skills: list[CriterionRateOut]
    """The 5 lowest pass rates among non-blocker criteria with at least 5 verdicts."""
    top_questions: list[QuestionCountOut]
    """The 20 most asked training questions, most asked first."""
    feedback: FeedbackCountsOut
    knowledge_gaps: list[GapSummaryOut] = msgspec.field(default_factory=list)
    """The 10 open knowledge gaps asked most in the range, most asked first (the whole
    list: GET /v1/analytics/knowledge-gaps)."""


class SessionOut(msgspec.Struct, frozen=True):
    conversation_id: UUID
    scenario_id: str | None
    started_at: datetime
    completed_at: datetime | None
    status: str | None
    """The scorecard's status: pending, scored or failed; null while the session is open."""
    overall: int | None
    passed: bool | None


class UserAssignmentOut(msgspec.Struct, frozen=True, kw_only=True):
    """One assignment of the person, with their progress on it."""

    assignment_id: UUID
    scenario_id: str
    due_at: datetime
    min_score: int
    min_attempts: int
    status: AssignmentStatus
    """`open`, `done` or `overdue`, derived as in `/v1/assignments`."""
    attempts: int
    best_score: int | None
    completed_at: datetime | None


class UserAnalyticsOut(msgspec.Struct, frozen=True):
    user_id: UUID
    dealership_id: UUID
    display_name: str
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    sessions_started: int
    sessions_completed: int
    scored: int
    average_score: float | None
    pass_rate: float | None
    weekly: list[TrendWeekOut]
    """Score over time: every ISO week touching the range, oldest first."""
    criteria_trend: list[CriterionRateOut]
    """Pass rate per ISO week and criterion (weeks with a verdict), oldest first."""
    sessions: list[SessionOut]
    """The 100 most recent roleplay sessions started in the range, newest first."""
    assignments: list[UserAssignmentOut] = msgspec.field(default_factory=list)
    """The person's assignments (at most 200, newest first; not limited to the range),
    each with their own progress (as `GET /v1/assignments?user_id=`)."""


class RankOut(msgspec.Struct, frozen=True):
    rank: int
    """Competition ranking (1, 1, 3) by average score, then best score."""
    user_id: UUID
    display_name: str
    sessions: int
    """Scored sessions in the range."""
    average_score: float
    best_score: int
    pass_rate: float
    you: bool
    """Whether this row is the caller's."""


class LeaderboardOut(msgspec.Struct, frozen=True):
    dealership_id: UUID
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    items: list[RankOut]
    next_cursor: str | None = None
    """Always null: every ranked member is on the one page."""

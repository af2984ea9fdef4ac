"""Managers' analytics: a dealership's overview, one person's progress, the leaderboard.

Every read runs in a read-only unit of work (served by the replica when one is
configured) over rollups kept by the database in the transaction of each event
(`adapters/postgres/migrations/0022_analytics.sql`), so an answer costs time in the
size of one dealership's range, never of all messages.

Ranges are UTC days `start..end`, both inclusive: by default the 30 days up to today;
`start` after `end`, or more than `MAX_RANGE_DAYS` days, is InvalidInput. Weeks are ISO
weeks named by their Monday. Rates are 0..1 and average scores 0-100 with one decimal;
both are None when there is nothing to divide by.

Who reads what: the overview is for dealership admins (their own dealership) and super
admins (naming it); a person's analytics for the dealership's admins and the person
themself (anyone else, like another dealership's user, is NotFound); the leaderboard
for every member once the dealership opted in (`leaderboard_enabled`, else
FeatureDisabled) and it shows scores and counts, never transcripts.
"""

from __future__ import annotations

import re
from datetime import UTC, date, timedelta
from uuid import UUID

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.day_ranges import require_day_range
from avataradam.domain.errors import FeatureDisabled, NotFound
from avataradam.domain.model import Role, User
from avataradam.domain.model.analytics import (
    CriterionCount,
    CriterionRate,
    Leaderboard,
    Overview,
    Rank,
    RankRow,
    TrendWeek,
    UserAnalytics,
    WeekActivity,
)
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.system import Clock

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
TOP_QUESTIONS = 20
WEAKEST_SKILLS = 5
MIN_SKILL_SAMPLES = 5
"""Verdicts a criterion needs in the range to count among the weakest skills."""
RECENT_SESSIONS = 100
"""At most this many of a person's sessions are listed (newest first)."""
MAX_QUESTION_CHARS = 200

_SPACES = re.compile(r"\s+")


def normalise_question(content: str) -> str:
    """The twin of SQL `analytics_question`: lower case, whitespace runs as one space,
    no trailing `?`, `!`, `.` or space, at most 200 characters."""
    text = _SPACES.sub(" ", content.strip().lower())
    return text.rstrip(" ?!.")[:MAX_QUESTION_CHARS]


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _ratio(part: int, whole: int, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def _average(score_sum: int, scored: int) -> float | None:
    return round(score_sum / scored, 1) if scored else None


def display_name(user: User | RankRow) -> str:
    """First and last name when given, else the part of the email before the @."""
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return name or user.email.split("@", 1)[0]


class DayRange:
    """Validates and defaults a `from`/`to` pair against the clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def __call__(self, start: date | None, end: date | None) -> tuple[date, date]:
        end = end or self._clock.now().astimezone(UTC).date()
        start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
        require_day_range(start, end, max_days=MAX_RANGE_DAYS, per="range")
        return start, end


def trend(weeks: list[WeekActivity], start: date, end: date) -> list[TrendWeek]:
    """Every ISO week from `start`'s to `end`'s, zeros included, oldest first."""
    by_week = {w.week: w for w in weeks}
    out: list[TrendWeek] = []
    week = monday(start)
    while week <= end:
        w = by_week.get(week)
        out.append(
            TrendWeek(
                week=week,
                sessions_started=w.sessions_started if w else 0,
                sessions_completed=w.sessions_completed if w else 0,
                scored=w.scored if w else 0,
                average_score=_average(w.score_sum, w.scored) if w else None,
                pass_rate=_ratio(w.passed, w.scored) if w else None,
            )
        )
        week += timedelta(days=7)
    return out


def rate(count: CriterionCount) -> CriterionRate:
    return CriterionRate(
        rubric_id=count.rubric_id,
        criterion_id=count.criterion_id,
        title=count.title,
        blocker=count.blocker,
        met=count.met,
        total=count.total,
        pass_rate=_ratio(count.met, count.total) or 0.0,
        week=count.week,
    )


class GetOverview:
    """A dealership's activity, scores, skills, questions and feedback over a range."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._range = uow, DayRange(clock)

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> Overview:
        """Raises PermissionDenied for a trainee, InvalidInput for a bad range, NotFound
        for an unknown dealership."""
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        scope = dealership_scope(principal, dealership_id)
        start, end = self._range(start, end)
        async with self._uow(read_only=True) as uow:
            if await uow.dealerships.get(scope) is None:
                raise NotFound("dealership not found")
            read = uow.analytics
            totals = await read.totals(dealership_id=scope, start=start, end=end)
            weeks = await read.weeks(dealership_id=scope, start=start, end=end)
            criteria = await read.criteria(dealership_id=scope, start=start, end=end)
            questions = await read.top_questions(
                dealership_id=scope, start=start, end=end, limit=TOP_QUESTIONS
            )
            feedback = await read.feedback(dealership_id=scope, start=start, end=end)
        rates = sorted(
            (rate(c) for c in criteria), key=lambda r: (r.pass_rate, r.rubric_id, r.criterion_id)
        )
        skills = [r for r in rates if not r.blocker and r.total >= MIN_SKILL_SAMPLES]
        return Overview(
            dealership_id=scope,
            start=start,
            end=end,
            active_users=totals.active_users,
            conversations=totals.conversations,
            sessions_started=totals.sessions_started,
            sessions_completed=totals.sessions_completed,
            scored=totals.scored,
            average_score=_average(totals.score_sum, totals.scored),
            pass_rate=_ratio(totals.passed, totals.scored),
            weekly=trend(weeks, start, end),
            criteria=rates,
            blockers=[r for r in rates if r.blocker],
            weakest_skills=skills[:WEAKEST_SKILLS],
            top_questions=questions,
            feedback=feedback,
        )


class GetUserAnalytics:
    """One person's sessions, scores per week and criterion trend over a range."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._range = uow, DayRange(clock)

    async def __call__(
        self,
        principal: Principal,
        user_id: UUID,
        *,
        start: date | None = None,
        end: date | None = None,
    ) -> UserAnalytics:
        """Raises NotFound for a user the principal may not read (module docstring),
        InvalidInput for a bad range."""
        start, end = self._range(start, end)
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(user_id)
            if user is None or user.dealership_id is None or not _may_read(principal, user):
                raise NotFound("user not found")
            scope = user.dealership_id
            read = uow.analytics
            totals = await read.totals(dealership_id=scope, start=start, end=end, user_id=user_id)
            weeks = await read.weeks(dealership_id=scope, start=start, end=end, user_id=user_id)
            criteria = await read.user_criteria(
                dealership_id=scope, user_id=user_id, start=start, end=end
            )
            sessions = await read.sessions(
                dealership_id=scope, user_id=user_id, start=start, end=end, limit=RECENT_SESSIONS
            )
        return UserAnalytics(
            user_id=user_id,
            dealership_id=scope,
            display_name=display_name(user),
            start=start,
            end=end,
            sessions_started=totals.sessions_started,
            sessions_completed=totals.sessions_completed,
            scored=totals.scored,
            average_score=_average(totals.score_sum, totals.scored),
            pass_rate=_ratio(totals.passed, totals.scored),
            weekly=trend(weeks, start, end),
            criteria_trend=[rate(c) for c in criteria],
            sessions=sessions,
        )


def _may_read(principal: Principal, user: User) -> bool:
    if principal.is_super_admin or principal.user_id == user.id:
        return True
    return principal.role is Role.DEALERSHIP_ADMIN and principal.dealership_id == user.dealership_id


def ranked(rows: list[RankRow], caller: UUID) -> list[Rank]:
    """Best average first, then best single score; equal pairs share a rank."""
    ordered = sorted(
        rows,
        key=lambda r: (-round(r.score_sum / r.sessions, 1), -r.best_score, display_name(r)),
    )
    out: list[Rank] = []
    for position, row in enumerate(ordered, start=1):
        average = round(row.score_sum / row.sessions, 1)
        same = out and (out[-1].average_score, out[-1].best_score) == (average, row.best_score)
        out.append(
            Rank(
                rank=out[-1].rank if same else position,
                user_id=row.user_id,
                display_name=display_name(row),
                sessions=row.sessions,
                average_score=average,
                best_score=row.best_score,
                pass_rate=_ratio(row.passed, row.sessions) or 0.0,
                you=row.user_id == caller,
            )
        )
    return out


class GetLeaderboard:
    """The dealership's ranks by scored sessions over a range, once it opted in."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._range = uow, DayRange(clock)

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> Leaderboard:
        """Raises FeatureDisabled unless the dealership's `leaderboard_enabled`,
        InvalidInput for a bad range, NotFound for an unknown dealership."""
        scope = dealership_scope(principal, dealership_id)
        start, end = self._range(start, end)
        async with self._uow(read_only=True) as uow:
            dealership = await uow.dealerships.get(scope)
            if dealership is None:
                raise NotFound("dealership not found")
            if not dealership.leaderboard_enabled:
                raise FeatureDisabled(
                    "this dealership has not switched the leaderboard on", feature="leaderboard"
                )
            rows = await uow.analytics.ranks(dealership_id=scope, start=start, end=end)
        return Leaderboard(
            dealership_id=scope, start=start, end=end, items=ranked(rows, principal.user_id)
        )


class Analytics:
    """The three analytics reads, wired together (one attribute of the container)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self.overview = GetOverview(uow, clock)
        self.user = GetUserAnalytics(uow, clock)
        self.leaderboard = GetLeaderboard(uow, clock)

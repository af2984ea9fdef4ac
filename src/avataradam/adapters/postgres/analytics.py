"""The managers' analytics in PostgreSQL, read from the rollups of migration 0022.

Each query is bounded by one dealership and a day range through a primary key or an
index prefix: `analytics_daily` (dealership, day, user) and its (user, day) index,
`criterion_daily`, `question_daily` and `feedback_daily` by (dealership, day), scored
scorecards by (dealership, created_at) covering user, overall and passed, one user's
scorecards by (user, created_at), conversations by (dealership, user, created_at).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import asyncpg

from avataradam.adapters.postgres.errors import translate
from avataradam.adapters.postgres.rows import ConnectionRepository
from avataradam.domain.model.analytics import (
    ActivityTotals,
    CriterionCount,
    FeedbackCounts,
    QuestionCount,
    RankRow,
    SessionRow,
    WeekActivity,
)

# $1 dealership, $2 first day, $3 last day, $4 user or NULL (every user).
_DAILY = (
    " FROM analytics_daily WHERE dealership_id = $1 AND day BETWEEN $2 AND $3"
    " AND ($4::uuid IS NULL OR user_id = $4)"
)
_SUMS = (
    "coalesce(sum(sessions_started), 0)::int AS sessions_started,"
    " coalesce(sum(sessions_completed), 0)::int AS sessions_completed,"
    " coalesce(sum(scored), 0)::int AS scored,"
    " coalesce(sum(score_sum), 0)::bigint AS score_sum,"
    " coalesce(sum(passed), 0)::int AS passed"
)


_MONDAY = "({0} - (extract(isodow FROM {0})::int - 1))"
"""The ISO week's Monday of a date expression, in date arithmetic (no time zones)."""
_SCORED_MONDAY = _MONDAY.format("(s.created_at AT TIME ZONE 'UTC')::date")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _one(row: asyncpg.Record | None) -> asyncpg.Record:
    """An aggregate without GROUP BY always answers one row."""
    if row is None:  # pragma: no cover - PostgreSQL guarantees it
        raise RuntimeError("an aggregate answered no row")
    return row


class PostgresAnalyticsRepository(ConnectionRepository):
    @translate
    async def totals(
        self, *, dealership_id: UUID, start: date, end: date, user_id: UUID | None = None
    ) -> ActivityTotals:
        row = await self._conn.fetchrow(
            # Per user first (a hash aggregate of at most the dealership's users), then
            # over users: cheaper than a DISTINCT over every day's row.
            "SELECT count(*) FILTER (WHERE conversations > 0) AS active_users,"  # noqa: S608 - constants
            " coalesce(sum(conversations), 0)::int AS conversations, "
            + _SUMS
            + " FROM (SELECT user_id, sum(conversations) AS conversations,"
            " sum(sessions_started) AS sessions_started,"
            " sum(sessions_completed) AS sessions_completed, sum(scored) AS scored,"
            " sum(score_sum) AS score_sum, sum(passed) AS passed"
            + _DAILY
            + " GROUP BY user_id) AS per_user",
            dealership_id,
            start,
            end,
            user_id,
        )
        return ActivityTotals(**{key: int(value) for key, value in _one(row).items()})

    @translate
    async def weeks(
        self, *, dealership_id: UUID, start: date, end: date, user_id: UUID | None = None
    ) -> list[WeekActivity]:
        return await self._all(
            WeekActivity,
            f"SELECT {_MONDAY.format('day')} AS week, {_SUMS}{_DAILY} GROUP BY week ORDER BY week",
            dealership_id,
            start,
            end,
            user_id,
        )

    @translate
    async def criteria(
        self, *, dealership_id: UUID, start: date, end: date
    ) -> list[CriterionCount]:
        return await self._all(
            CriterionCount,
            "SELECT rubric_id, criterion_id, max(title) AS title,"
            " bool_or(blocker) AS blocker, sum(met)::int AS met, sum(total)::int AS total"
            " FROM criterion_daily WHERE dealership_id = $1 AND day BETWEEN $2 AND $3"
            " GROUP BY rubric_id, criterion_id HAVING sum(total) > 0",
            dealership_id,
            start,
            end,
        )

    @translate
    async def user_criteria(
        self, *, dealership_id: UUID, user_id: UUID, start: date, end: date
    ) -> list[CriterionCount]:
        return await self._all(
            CriterionCount,
            f"SELECT {_SCORED_MONDAY} AS week, s.rubric_id, c ->> 'id' AS criterion_id,"  # noqa: S608 - constants
            " max(coalesce(c ->> 'title', c ->> 'id')) AS title,"
            " bool_or(coalesce((c ->> 'blocker')::boolean, false)) AS blocker,"
            " (count(*) FILTER (WHERE c ->> 'verdict' = 'met'))::int AS met,"
            " count(*)::int AS total"
            " FROM scorecards AS s, jsonb_array_elements(s.body -> 'criteria') AS c"
            " WHERE s.user_id = $2 AND s.dealership_id = $1 AND s.status = 'scored'"
            " AND s.created_at >= $3 AND s.created_at < $4"
            " AND c ->> 'verdict' <> 'not_applicable'"
            " GROUP BY week, s.rubric_id, criterion_id ORDER BY week, s.rubric_id, criterion_id",
            dealership_id,
            user_id,
            _midnight(start),
            _midnight(end + timedelta(days=1)),
        )

    @translate
    async def top_questions(
        self, *, dealership_id: UUID, start: date, end: date, limit: int
    ) -> list[QuestionCount]:
        return await self._all(
            QuestionCount,
            "SELECT question, sum(asked)::int AS asked FROM question_daily"
            " WHERE dealership_id = $1 AND day BETWEEN $2 AND $3"
            " GROUP BY question HAVING sum(asked) > 0 ORDER BY asked DESC, question LIMIT $4",
            dealership_id,
            start,
            end,
            limit,
        )

    @translate
    async def feedback(self, *, dealership_id: UUID, start: date, end: date) -> FeedbackCounts:
        row = await self._conn.fetchrow(
            "SELECT coalesce(sum(up), 0) AS up, coalesce(sum(down), 0) AS down,"
            " coalesce(sum(inaccurate), 0) AS inaccurate FROM feedback_daily"
            " WHERE dealership_id = $1 AND day BETWEEN $2 AND $3",
            dealership_id,
            start,
            end,
        )
        row = _one(row)
        return FeedbackCounts(
            up=int(row["up"]), down=int(row["down"]), inaccurate=int(row["inaccurate"])
        )

    @translate
    async def sessions(
        self, *, dealership_id: UUID, user_id: UUID, start: date, end: date, limit: int
    ) -> list[SessionRow]:
        return await self._all(
            SessionRow,
            "SELECT c.id AS conversation_id, c.scenario_id, c.created_at AS started_at,"
            " c.completed_at, s.status, s.overall, s.passed"
            " FROM conversations AS c LEFT JOIN scorecards AS s ON s.conversation_id = c.id"
            " WHERE c.dealership_id = $1 AND c.user_id = $2 AND c.mode = 'roleplay'"
            " AND c.created_at >= $3 AND c.created_at < $4"
            " ORDER BY c.created_at DESC, c.id DESC LIMIT $5",
            dealership_id,
            user_id,
            _midnight(start),
            _midnight(end + timedelta(days=1)),
            limit,
        )

    @translate
    async def ranks(self, *, dealership_id: UUID, start: date, end: date) -> list[RankRow]:
        return await self._all(
            RankRow,
            "SELECT s.user_id, u.first_name, u.last_name, u.email, s.sessions, s.score_sum,"
            " s.best_score, s.passed FROM ("
            "  SELECT user_id, count(*)::int AS sessions, sum(overall)::int AS score_sum,"
            "  max(overall)::int AS best_score, (count(*) FILTER (WHERE passed))::int AS passed"
            "  FROM scorecards WHERE dealership_id = $1 AND status = 'scored'"
            "  AND created_at >= $2 AND created_at < $3 GROUP BY user_id"
            " ) AS s JOIN users AS u ON u.id = s.user_id AND u.dealership_id = $1",
            dealership_id,
            _midnight(start),
            _midnight(end + timedelta(days=1)),
        )

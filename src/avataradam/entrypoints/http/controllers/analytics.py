"""Managers' analytics: overview, one person, leaderboard; as JSON or CSV (issue 18).

With `Accept: text/csv` each answers one of its lists as CSV (`entrypoints/http/tables.py`),
chosen by `?section=` (the overview's summary is one row of its numbers).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK

from avataradam.domain.model.knowledge_gaps import GapStatus
from avataradam.domain.pagination import MAX_PAGE_SIZE
from avataradam.domain.usecases.analytics import MAX_RANGE_DAYS
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.headers import representations
from avataradam.entrypoints.http.negotiation import JSON, preferred
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.schemas.analytics import (
    CriterionRateOut,
    GapSummaryOut,
    LeaderboardOut,
    OverviewOut,
    QuestionCountOut,
    RankOut,
    SessionOut,
    TrendWeekOut,
    UserAnalyticsOut,
    UserAssignmentOut,
)
from avataradam.entrypoints.http.schemas.common import to_out
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal
from avataradam.entrypoints.http.tables import CSV, CSV_MEDIA_TYPE, columns_of, csv_table

From = Annotated[
    date | None,
    QueryParameter(
        name="from", description="First UTC day, YYYY-MM-DD (default: 29 days before `to`)."
    ),
]
To = Annotated[
    date | None, QueryParameter(name="to", description="Last UTC day, YYYY-MM-DD (default: today).")
]
OverviewSection = Literal[
    "summary",
    "weekly",
    "criteria",
    "blockers",
    "weakest_skills",
    "top_questions",
    "knowledge_gaps",
]
OVERVIEW_GAPS = 10
UserSection = Literal["sessions", "weekly", "criteria_trend", "assignments"]
SUMMARY_COLUMNS = (
    "dealership_id",
    "from",
    "to",
    "active_users",
    "conversations",
    "sessions_started",
    "sessions_completed",
    "scored",
    "average_score",
    "pass_rate",
    "feedback_up",
    "feedback_down",
    "feedback_inaccurate",
)
_RANGE = (
    f"`from`..`to` are UTC days, both included (default: the last 30 days; at most "
    f"{MAX_RANGE_DAYS} days; `from` after `to` is 422). "
)


def _csv(body: str) -> Response[str]:
    return Response(body, media_type=CSV_MEDIA_TYPE)


def _wants_csv(request: Request[Any, Any, Any]) -> bool:
    return preferred(request.headers.get("accept"), (JSON, CSV)) == CSV


def overview_csv(body: OverviewOut, section: OverviewSection) -> str:
    """One section of the overview as CSV."""
    if section == "summary":
        row = {name: getattr(body, name, None) for name in SUMMARY_COLUMNS}
        row |= {"from": body.start, "to": body.end}
        row |= {f"feedback_{k}": getattr(body.feedback, k) for k in ("up", "down", "inaccurate")}
        return csv_table([row], SUMMARY_COLUMNS)
    if section == "weekly":
        return csv_table(body.weekly, columns_of(TrendWeekOut))
    if section == "top_questions":
        return csv_table(body.top_questions, columns_of(QuestionCountOut))
    if section == "knowledge_gaps":
        return csv_table(body.knowledge_gaps, columns_of(GapSummaryOut))
    return csv_table(getattr(body, section), columns_of(CriterionRateOut)[:-1])


def user_csv(body: UserAnalyticsOut, section: UserSection) -> str:
    """One list of a person's analytics as CSV."""
    if section == "sessions":
        return csv_table(body.sessions, columns_of(SessionOut))
    if section == "weekly":
        return csv_table(body.weekly, columns_of(TrendWeekOut))
    if section == "assignments":
        return csv_table(body.assignments, columns_of(UserAssignmentOut))
    week_first = ("week", *columns_of(CriterionRateOut)[:-1])
    return csv_table(body.criteria_trend, week_first)


class AnalyticsController(Controller):
    path = "/v1/analytics"
    tags = ["analytics"]
    security = SECURITY

    @get(
        "/overview",
        opt=representations(JSON, CSV),
        operation_id="getAnalyticsOverview",
        summary="A dealership's training analytics (admins)",
        description=(
            _RANGE + "Active users, roleplay sessions started/completed/scored, average "
            "score and pass rate, the ISO-week trend, pass rate per rubric criterion and per "
            "blocker, the weakest skills, the most asked training questions, feedback "
            "counts and the 10 open knowledge gaps asked most. With `Accept: text/csv`, "
            "`section` picks the list (default `weekly`; "
            "`summary` is one row of the numbers). A super admin passes `dealership_id`."
        ),
        responses={
            HTTP_200_OK: ResponseSpec(OverviewOut, description="JSON, or CSV of one section."),
            **problems(400, 403, 404, 406, 422),
        },
    )
    async def overview(
        self,
        request: Request[Any, Any, Any],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: FromQuery[UUID | None] = None,
        start: From = None,
        end: To = None,
        section: FromQuery[OverviewSection] = "weekly",
    ) -> Response[OverviewOut] | Response[str]:
        overview = await container.analytics.overview(
            principal, dealership_id=dealership_id, start=start, end=end
        )
        gaps = await container.knowledge_gaps.list(
            principal,
            dealership_id=overview.dealership_id,
            start=overview.start,
            end=overview.end,
            status=GapStatus.OPEN,
            limit=OVERVIEW_GAPS,
        )
        top_gaps = [
            GapSummaryOut(
                gap_id=gap.id,
                title=gap.title,
                count=gap.count,
                last_asked_at=gap.last_asked_at,
                recurred=gap.recurred,
            )
            for gap in gaps.items
        ]
        body = to_out(overview, OverviewOut, knowledge_gaps=top_gaps)
        return _csv(overview_csv(body, section)) if _wants_csv(request) else Response(body)

    @get(
        "/users/{user_id:uuid}",
        opt=representations(JSON, CSV),
        operation_id="getUserAnalytics",
        summary="One person's training progress (admins, or the person)",
        description=(
            _RANGE + "Roleplay sessions started/completed/scored, average score and pass "
            "rate, score per ISO week, pass rate per week and criterion, the 100 most "
            "recent sessions and the person's assignments with their progress. A trainee "
            "reads their own only (anyone else's is 404, as is a "
            "user of another dealership). With `Accept: text/csv`, `section` picks the list "
            "(default `sessions`)."
        ),
        responses={
            HTTP_200_OK: ResponseSpec(UserAnalyticsOut, description="JSON, or CSV of one list."),
            **problems(400, 404, 406, 422),
        },
    )
    async def user(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        start: From = None,
        end: To = None,
        section: FromQuery[UserSection] = "sessions",
    ) -> Response[UserAnalyticsOut] | Response[str]:
        analytics = await container.analytics.user(principal, user_id, start=start, end=end)
        views = await container.assignments.list(
            principal,
            dealership_id=analytics.dealership_id,
            user_id=user_id,
            cursor=None,
            limit=MAX_PAGE_SIZE,
        )
        assigned = [
            UserAssignmentOut(
                assignment_id=view.assignment.id,
                scenario_id=view.assignment.scenario_id,
                due_at=view.assignment.due_at,
                min_score=view.assignment.min_score,
                min_attempts=view.assignment.min_attempts,
                status=progress.status(view.assignment, view.as_of),
                attempts=progress.attempts,
                best_score=progress.best_score,
                completed_at=progress.completed_at,
            )
            for view in views
            for progress in view.assignees
            if progress.user_id == user_id
        ]
        body = to_out(analytics, UserAnalyticsOut, assignments=assigned)
        return _csv(user_csv(body, section)) if _wants_csv(request) else Response(body)

    @get(
        "/leaderboard",
        opt=representations(JSON, CSV),
        operation_id="getLeaderboard",
        summary="The dealership's leaderboard (members, when switched on)",
        description=(
            _RANGE + "Members with a scored session in the range, ranked by average score "
            "then best score: name, rank, sessions, average and best score, pass rate; never "
            "a transcript. Off unless a super admin set the dealership's "
            "`leaderboard_enabled` (else 403 `feature_disabled`). With `Accept: text/csv` "
            "the ranks come as CSV. A super admin passes `dealership_id`."
        ),
        responses={
            HTTP_200_OK: ResponseSpec(LeaderboardOut, description="JSON, or CSV of the ranks."),
            **problems(400, 403, 404, 406, 422),
        },
    )
    async def leaderboard(
        self,
        request: Request[Any, Any, Any],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: FromQuery[UUID | None] = None,
        start: From = None,
        end: To = None,
    ) -> Response[LeaderboardOut] | Response[str]:
        board = await container.analytics.leaderboard(
            principal, dealership_id=dealership_id, start=start, end=end
        )
        body = to_out(board, LeaderboardOut)
        if _wants_csv(request):
            return _csv(csv_table(body.items, columns_of(RankOut)))
        return Response(body)

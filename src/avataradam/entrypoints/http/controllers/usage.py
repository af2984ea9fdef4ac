"""A dealership's usage per day and its monthly token budget, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery
from litestar.status_codes import HTTP_200_OK

from avataradam.domain.usecases.usage import MAX_REPORT_DAYS, UsageReport
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.headers import representations
from avataradam.entrypoints.http.negotiation import JSON, preferred
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.params import FirstDay, LastDay
from avataradam.entrypoints.http.schemas.common import to_out
from avataradam.entrypoints.http.schemas.usage import UsageReportOut
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal
from avataradam.entrypoints.http.tables import CSV, CSV_MEDIA_TYPE

CSV_COLUMNS = (
    "day",
    "model_calls",
    "cached_answers",
    "prompt_tokens",
    "completion_tokens",
    "speech_seconds",
    "speech_tokens",
)


def _csv(report: UsageReport) -> str:
    """One row per day (RFC 4180, CRLF line ends); the budget is in the JSON only."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for d in report.days:
        writer.writerow(
            (
                d.day.isoformat(),
                d.model_calls,
                d.cached_answers,
                d.prompt_tokens,
                d.completion_tokens,
                d.speech_seconds,
                d.speech_tokens,
            )
        )
    return buffer.getvalue()


class UsageController(Controller):
    path = "/v1/usage"
    tags = ["usage"]
    security = SECURITY

    @get(
        "/",
        opt=representations(JSON, CSV),
        operation_id="getUsage",
        summary="Usage per day and the monthly token budget (admins)",
        description=(
            "Per UTC day from `from` to `to` (inclusive; default: the current month to "
            f"today, at most {MAX_REPORT_DAYS} days): model calls, cached answers (no model "
            "call, 0 tokens), prompt and completion tokens as the model reported them, "
            "speech seconds (synthesised and transcribed) and the budget tokens they count; "
            "every day of the range, zeros included. The JSON also gives the "
            "dealership's monthly token budget (null = unlimited), the tokens used this "
            "month and what is left. With `Accept: text/csv` the days come as CSV (header "
            "row, one row per day). A super admin passes `dealership_id`."
        ),
        responses={
            HTTP_200_OK: ResponseSpec(
                UsageReportOut,
                description="The report as JSON, or as CSV with `Accept: text/csv`.",
            ),
            **problems(400, 403, 404, 406, 422),
        },
    )
    async def get_usage(
        self,
        request: Request[Any, Any, Any],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: FromQuery[UUID | None] = None,
        start: FirstDay = None,
        end: LastDay = None,
    ) -> Response[UsageReportOut] | Response[str]:
        report = await container.get_usage(
            principal, dealership_id=dealership_id, start=start, end=end
        )
        if preferred(request.headers.get("accept"), (JSON, CSV)) == CSV:
            return Response(_csv(report), media_type=CSV_MEDIA_TYPE)
        return Response(to_out(report, UsageReportOut))

"""Knowledge gaps for admins: training questions the knowledge base could not answer,
grouped into topics, as JSON or CSV, and resolving a gap."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from avataradam.domain.model.knowledge_gaps import GapStatus, KnowledgeGap
from avataradam.domain.usecases.knowledge_gap_reports import DEFAULT_REPORT_DAYS, MAX_REPORT_DAYS
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.headers import representations
from avataradam.entrypoints.http.negotiation import JSON, preferred
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.params import CursorParam, FirstDay, LastDay, Limit
from avataradam.entrypoints.http.schemas.common import ListResponse, to_out
from avataradam.entrypoints.http.schemas.knowledge_gaps import KnowledgeGapOut, ResolveGapIn
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal
from avataradam.entrypoints.http.tables import CSV, CSV_MEDIA_TYPE

CSV_COLUMNS = (
    "id",
    "title",
    "count",
    "first_asked_at",
    "last_asked_at",
    "no_material",
    "weak_material",
    "thumbs_down",
    "reported_inaccurate",
    "status",
    "resolved_at",
    "resolved_by",
    "resolve_note",
    "recurred",
    "examples",
)
NEXT_CURSOR_HEADER = "X-Next-Cursor"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str | None) -> str:
    """A cell of user text: empty for None, and a leading `'` before what a spreadsheet
    would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return)."""
    if value is None:
        return ""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def gaps_csv(gaps: list[KnowledgeGap]) -> str:
    """One row per gap in the JSON's order (RFC 4180, CRLF line ends); `examples` in one
    cell, one question per line; times ISO 8601; `recurred` true/false."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for gap in gaps:
        reasons = gap.reasons
        writer.writerow(
            (
                gap.id,
                csv_text(gap.title),
                gap.count,
                gap.first_asked_at.isoformat(),
                gap.last_asked_at.isoformat(),
                reasons.no_material,
                reasons.weak_material,
                reasons.thumbs_down,
                reasons.reported_inaccurate,
                gap.status.value,
                gap.resolved_at.isoformat() if gap.resolved_at else "",
                gap.resolved_by or "",
                csv_text(gap.resolve_note),
                "true" if gap.recurred else "false",
                "\n".join(csv_text(example) for example in gap.examples),
            )
        )
    return buffer.getvalue()


class KnowledgeGapController(Controller):
    path = "/v1/analytics/knowledge-gaps"
    tags = ["analytics"]
    security = SECURITY

    @get(
        "/",
        opt=representations(JSON, CSV),
        operation_id="listKnowledgeGaps",
        summary="Questions the knowledge base could not answer, grouped (admins)",
        description=(
            "Training questions answered with no material (no passage reached the relevance "
            "floor), weak material (no sentence of the answer supported by the passages), or "
            "rated down, grouped by meaning into gaps. Each gap counts its questions asked "
            f"from `from` to `to` (UTC days, inclusive; default the last {DEFAULT_REPORT_DAYS} "
            f"days, at most {MAX_REPORT_DAYS}); most asked first. New questions join their "
            "gap within seconds (the worker groups them). `status` filters open or resolved "
            "gaps. With `Accept: text/csv` the same page comes as CSV (header row, one row per "
            f"gap; the next page's cursor in `{NEXT_CURSOR_HEADER}`). A super admin passes "
            "`dealership_id`."
        ),
        responses={
            HTTP_200_OK: ResponseSpec(
                ListResponse[KnowledgeGapOut],
                description="The gaps as JSON, or as CSV with `Accept: text/csv`.",
            ),
            **problems(400, 403, 404, 406, 422),
        },
    )
    async def list_gaps(
        self,
        request: Request[Any, Any, Any],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: FromQuery[UUID | None] = None,
        start: FirstDay = None,
        end: LastDay = None,
        status: FromQuery[GapStatus | None] = None,
        cursor: CursorParam = None,
        limit: Limit = None,
    ) -> Response[ListResponse[KnowledgeGapOut]] | Response[str]:
        page = await container.knowledge_gaps.list(
            principal,
            dealership_id=dealership_id,
            start=start,
            end=end,
            status=status,
            cursor=cursor,
            limit=limit,
        )
        if preferred(request.headers.get("accept"), (JSON, CSV)) == CSV:
            headers = {NEXT_CURSOR_HEADER: page.next_cursor} if page.next_cursor else {}
            return Response(
                gaps_csv(page.items),
                media_type=CSV_MEDIA_TYPE,
                headers=headers,
            )
        items = [to_out(gap, KnowledgeGapOut) for gap in page.items]
        return Response(ListResponse(items, page.next_cursor))

    @post(
        "/{gap_id:uuid}/resolve",
        status_code=HTTP_200_OK,
        operation_id="resolveKnowledgeGap",
        summary="Mark a knowledge gap resolved (admins)",
        description=(
            "E.g. after uploading the document that answers it; the body is `{}` or "
            '`{"note": …}` saying what was done. '
            "The gap stays resolved when its question is asked again, and reads "
            "`recurred: true`; resolving it again starts a new watch. Answers the gap "
            "counted over all its questions. Another dealership's gap answers 404."
        ),
        responses=problems(400, 403, 404, 413, 422),
    )
    async def resolve(
        self,
        gap_id: FromPath[UUID],
        data: JSONBody[ResolveGapIn],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> KnowledgeGapOut:
        gap = await container.knowledge_gaps.resolve(
            principal, gap_id, note=data.note, dealership_id=data.dealership_id
        )
        return to_out(gap, KnowledgeGapOut)

"""Retrieval over the caller's knowledge base."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from avataradam.domain.usecases.search import SearchQuery
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.ratelimit import limited
from avataradam.entrypoints.http.schemas.common import to_out
from avataradam.entrypoints.http.schemas.search import SearchRequest, SearchResponse
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal


class SearchController(Controller):
    path = "/v1/search"
    tags = ["search"]
    security = SECURITY

    @post(
        status_code=HTTP_200_OK,
        opt=limited("search"),
        operation_id="search",
        summary="Search the knowledge base",
        description=(
            "Ranked passages of the caller's dealership. `cached` tells whether the answer "
            "came from the shared cache; a changed knowledge base is never served stale. "
            "Filter by `topics`; a super admin passes `dealership_id`."
        ),
        responses=problems(400, 403, 404, 413, 422, 429),
    )
    async def search(
        self,
        data: JSONBody[SearchRequest],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> SearchResponse:
        result = await container.search(
            principal,
            SearchQuery(
                query=data.query,
                topics=tuple(data.topics) if data.topics else None,
                top_k=data.top_k,
                dealership_id=data.dealership_id,
            ),
        )
        return to_out(result, SearchResponse, results=result.hits)

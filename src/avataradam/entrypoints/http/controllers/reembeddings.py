"""Re-embedding a dealership's knowledge base with another embedding model, in the
background, while its search keeps serving (`domain/vectors.py`)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from avataradam.domain.access import administered_dealership
from avataradam.domain.errors import NotFound
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.schemas.common import to_out
from avataradam.entrypoints.http.schemas.reembeddings import (
    ActiveVectorsOut,
    ReembeddingCreate,
    ReembeddingList,
    ReembeddingOut,
)
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal

_WHO = (
    "Super admins for any dealership; a dealership admin for their own (another dealership is 404)."
)


MAX_GENERATION = 2**31 - 1
"""Generations are positive 32-bit integers where stored; any other number names none."""


def location(dealership_id: UUID, generation: int) -> str:
    return f"/v1/admin/dealerships/{dealership_id}/reembeddings/{generation}"


class ReembeddingController(Controller):
    path = "/v1/admin/dealerships/{dealership_id:uuid}/reembeddings"
    tags = ["reembeddings"]
    security = SECURITY

    @post(
        status_code=HTTP_202_ACCEPTED,
        operation_id="startReembedding",
        summary="Re-embed a dealership's knowledge base with another model",
        description=(
            "Answers 202 at once with the `running` re-embedding and a `Location` to poll. "
            "A worker writes every ready document's stored passages into a new vector "
            "generation with `profile` (absent: the service's configured one) while "
            "search keeps reading the current one, then switches search to it in one "
            "transaction (`completed`). An unknown profile, or the one search reads "
            "already, is 422; one already running is 409 `reembedding_running` naming it "
            f"in `details.generation`. {_WHO}"
        ),
        response_headers=[
            ResponseHeader(
                name="Location",
                value="/v1/admin/dealerships/{dealership_id}/reembeddings/{generation}",
                description="Where to follow the re-embedding.",
                documentation_only=True,
            )
        ],
        responses=problems(400, 403, 404, 409, 413, 422),
    )
    async def start(
        self,
        dealership_id: FromPath[UUID],
        data: JSONBody[ReembeddingCreate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> Response[ReembeddingOut]:
        scope = administered_dealership(principal, dealership_id)
        started = await container.start_reembedding(scope, data.profile)
        return Response(
            to_out(started, ReembeddingOut),
            status_code=HTTP_202_ACCEPTED,
            headers={"Location": location(scope, started.generation)},
        )

    @get(
        operation_id="listReembeddings",
        summary="List a dealership's re-embeddings",
        description=(
            "The vector generation and profile the dealership's search reads (`active`) "
            f"and every re-embedding, newest first. {_WHO}"
        ),
        responses=problems(400, 403, 404),
    )
    async def list_reembeddings(
        self,
        dealership_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> ReembeddingList:
        scope = administered_dealership(principal, dealership_id)
        active, found = await container.list_reembeddings(scope)
        return ReembeddingList(
            active=to_out(active, ActiveVectorsOut),
            items=[to_out(r, ReembeddingOut) for r in found],
        )

    @get(
        "/{generation:int}",
        operation_id="getReembedding",
        summary="Read a re-embedding",
        description=(
            "Its status and progress (`documents_done` of `documents_total`, `progress` "
            f"0..1, `chunks_done` passages). {_WHO}"
        ),
        responses=problems(400, 403, 404),
    )
    async def read(
        self,
        dealership_id: FromPath[UUID],
        generation: FromPath[int],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> ReembeddingOut:
        scope = administered_dealership(principal, dealership_id)
        if not 0 < generation <= MAX_GENERATION:
            raise NotFound("re-embedding not found")
        return to_out(await container.get_reembedding(scope, generation), ReembeddingOut)

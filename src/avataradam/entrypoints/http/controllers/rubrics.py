"""Rubrics: the versioned yes/no checks roleplay sessions are scored against."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.schemas.common import ListResponse
from avataradam.entrypoints.http.schemas.rubrics import (
    RubricCreate,
    RubricOut,
    RubricVersionCreate,
    draft_of,
    rubric_out,
)
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal

VersionParam = Annotated[
    int | None,
    QueryParameter(name="version", ge=1, description="A version; the latest if absent."),
]
DealershipParam = FromQuery[UUID | None]
LOCATION = ResponseHeader(
    name="Location",
    value="/v1/rubrics/{id}?version={version}",
    description="The created version: `/v1/rubrics/{id}?version={version}`.",
    documentation_only=True,
)


def _created(body: RubricOut) -> Response[RubricOut]:
    return Response(
        body,
        status_code=HTTP_201_CREATED,
        headers={"Location": f"/v1/rubrics/{body.id}?version={body.version}"},
    )


class RubricController(Controller):
    path = "/v1/rubrics"
    tags = ["scoring"]
    security = SECURITY

    @get(
        operation_id="listRubrics",
        summary="List rubrics",
        description=(
            "The latest version of every built-in rubric (the F&I office rubric "
            "`fi-office`), then of the dealership's own (`built_in: false`), each by id: "
            "criteria, each a list of yes/no checks, weights and the `blocker` flag of "
            "compliance criteria. Any signed-in user; a super admin passes "
            "`dealership_id` to see a dealership's own ones too."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def list_rubrics(
        self,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> ListResponse[RubricOut]:
        entries = await container.rubrics.list(principal, dealership_id=dealership_id)
        return ListResponse(items=[rubric_out(e) for e in entries], next_cursor=None)

    @get(
        "/{rubric:str}",
        operation_id="getRubric",
        summary="Read a rubric",
        description=(
            "One version of a rubric by its id (`fi-office`, or one of the dealership's "
            "own) and `?version=`, its latest by default; 404 unknown, or another "
            "dealership's. Built-in rubrics are the same for every dealership."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def read(
        self,
        rubric: FromPath[str],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        version: VersionParam = None,
        dealership_id: DealershipParam = None,
    ) -> RubricOut:
        entry = await container.rubrics.get(
            principal, rubric, version=version, dealership_id=dealership_id
        )
        return rubric_out(entry)

    @post(
        operation_id="createRubric",
        summary="Create an own rubric",
        description=(
            "Version 1 of a rubric of the dealership's own: criteria with weights and "
            "the `blocker` flag, each a list of checks that either reuse a built-in check "
            "(`uses: fi-office/<check id>`) or are exemplars-only (phrasings compared by "
            "meaning; no regular expressions). `id` is unique in the dealership and no "
            "built-in's (409 `rubric_id_taken`); a rule broken is 422 `invalid_input` "
            "naming the field, and nothing is stored. Admins only."
        ),
        response_headers=[LOCATION],
        responses=problems(400, 403, 404, 409, 413, 422),
    )
    async def create(
        self,
        data: JSONBody[RubricCreate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> Response[RubricOut]:
        entry = await container.rubrics.create(
            principal, data.id, draft_of(data), dealership_id=data.dealership_id
        )
        return _created(rubric_out(entry))

    @post(
        "/{rubric:str}/versions",
        operation_id="publishRubricVersion",
        summary="Publish a rubric version",
        description=(
            "The next version of an own rubric, given whole (the same body as "
            "`createRubric` without `id`); its number is the answer's `version`. Sessions "
            "completed from now on are scored with it; earlier scorecards keep their "
            "version (a rescore may move to it with `?rubric=latest`). Built-in rubrics "
            "are read-only (403 `rubric_read_only`). Admins only."
        ),
        response_headers=[LOCATION],
        responses=problems(400, 403, 404, 409, 413, 422),
    )
    async def publish(
        self,
        rubric: FromPath[str],
        data: JSONBody[RubricVersionCreate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> Response[RubricOut]:
        entry = await container.rubrics.publish(
            principal, rubric, draft_of(data), dealership_id=data.dealership_id
        )
        return _created(rubric_out(entry))

"""Rubrics: the versioned yes/no checks roleplay sessions are scored against."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from avataradam.domain.errors import NotFound
from avataradam.domain.training.rubrics import UnknownRubric
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.schemas.common import ListResponse
from avataradam.entrypoints.http.schemas.rubrics import RubricOut, rubric_out
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal

VersionParam = Annotated[
    int | None,
    QueryParameter(name="version", ge=1, description="A version; the latest if absent."),
]


class RubricController(Controller):
    path = "/v1/rubrics"
    tags = ["scoring"]
    security = SECURITY

    @get(
        operation_id="listRubrics",
        summary="List rubrics",
        description=(
            "The latest version of every rubric (the built-in F&I office rubric "
            "`fi-office`): criteria, each a list of yes/no checks, weights and the "
            "`blocker` flag of compliance criteria. Any signed-in user."
        ),
        responses=problems(403),
    )
    async def list_rubrics(
        self, principal: CurrentPrincipal, container: NamedDependency[Container]
    ) -> ListResponse[RubricOut]:
        del principal  # any signed-in user
        rubrics = container.scoring.rubrics
        return ListResponse(
            items=[rubric_out(rubrics.latest(i), rubrics.versions(i)) for i in rubrics.ids()],
            next_cursor=None,
        )

    @get(
        "/{rubric:str}",
        operation_id="getRubric",
        summary="Read a rubric",
        description=(
            "One version of a rubric by its id (`fi-office`) and `?version=`, its latest by "
            "default; 404 unknown. Built-in rubrics are the same for every dealership."
        ),
        responses=problems(400, 403, 404),
    )
    async def read(
        self,
        rubric: FromPath[str],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        version: VersionParam = None,
    ) -> RubricOut:
        del principal  # any signed-in user
        rubrics = container.scoring.rubrics
        try:
            found = rubrics.latest(rubric) if version is None else rubrics.get(rubric, version)
        except UnknownRubric:
            raise NotFound("rubric not found") from None
        return rubric_out(found, rubrics.versions(rubric))

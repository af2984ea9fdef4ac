"""Assignments: practice a dealership admin assigns, and each assignee's progress."""

from __future__ import annotations

from functools import partial
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from avataradam.domain.model.assignments import AssignmentView
from avataradam.domain.usecases.assignments import AssignmentChanges, AssignmentDraft
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.idempotency import REPLAYED_HEADER, answered
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.pagination import list_page
from avataradam.entrypoints.http.params import CursorParam, IdempotencyKey, Limit, OrderParam
from avataradam.entrypoints.http.schemas.assignments import (
    AssigneeOut,
    AssignmentCreate,
    AssignmentOut,
    AssignmentUpdate,
)
from avataradam.entrypoints.http.schemas.common import ListResponse, to_out
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal

DealershipParam = FromQuery[UUID | None]


def assignment_out(view: AssignmentView) -> AssignmentOut:
    a = view.assignment
    return to_out(
        a,
        AssignmentOut,
        assignees=[to_out(p, AssigneeOut, status=p.status(a, view.as_of)) for p in view.assignees],
    )


class AssignmentController(Controller):
    path = "/v1/assignments"
    tags = ["assignments"]
    security = SECURITY

    @post(
        operation_id="createAssignment",
        summary="Assign a scenario",
        description=(
            "Assigns a scenario (a built-in's slug or an own scenario's UUID; unknown: 404) "
            "to `assignee_ids` (active users of the dealership; any other id: 422 naming "
            "it) or to `everyone` (the dealership's active users now; users added later "
            "are not assigned), due at `due_at` (in the future), done once an assignee "
            "has `min_attempts` scored sessions started with its `assignment_id` and one "
            "that failed no compliance blocker scored at least `min_score`. With an "
            "`Idempotency-Key`, repeats replay the first answer. Admins only."
        ),
        response_headers=[
            ResponseHeader(
                name="Location",
                value="/v1/assignments/{id}",
                description="The assignment: `/v1/assignments/{id}`.",
                documentation_only=True,
            ),
            REPLAYED_HEADER,
        ],
        responses=problems(400, 403, 404, 413, 422),
    )
    async def create(
        self,
        data: JSONBody[AssignmentCreate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AssignmentOut]:
        answer = await container.assignments.create(
            principal,
            AssignmentDraft(
                scenario_id=data.scenario_id,
                assignee_ids=tuple(data.assignee_ids),
                everyone=data.everyone,
                due_at=data.due_at,
                min_score=data.min_score,
                min_attempts=data.min_attempts,
                note=data.note,
                dealership_id=data.dealership_id,
            ),
            idempotency_key=idempotency_key,
        )
        response = answered(answer, assignment_out(answer.value), HTTP_201_CREATED)
        response.headers["Location"] = f"/v1/assignments/{answer.value.id}"
        return response

    @get(
        operation_id="listAssignments",
        summary="List assignments",
        description=(
            "An admin: the dealership's assignments (`user_id`: those of one assignee), "
            "each with every assignee's progress. A trainee: their own, each with their "
            "own progress. Oldest first (`order=newest`: newest first), cursor-paginated. "
            "A super admin passes "
            "`dealership_id`."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def list_assignments(
        self,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
        user_id: FromQuery[UUID | None] = None,
        cursor: CursorParam = None,
        limit: Limit = None,
        order: OrderParam = "oldest",
    ) -> ListResponse[AssignmentOut]:
        return await list_page(
            partial(
                container.assignments.list,
                principal,
                dealership_id=dealership_id,
                user_id=user_id,
            ),
            cursor,
            limit,
            render=assignment_out,
            order=order,
        )

    @get(
        "/{assignment_id:uuid}",
        operation_id="getAssignment",
        summary="Read an assignment",
        description=(
            "An admin: with every assignee's `{user_id, status, attempts, best_score, "
            "best_passing_score, completed_at}`. An assignee: with their own only; "
            "anyone else: 404."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def read(
        self,
        assignment_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> AssignmentOut:
        view = await container.assignments.get(
            principal, assignment_id, dealership_id=dealership_id
        )
        return assignment_out(view)

    @patch(
        "/{assignment_id:uuid}",
        operation_id="updateAssignment",
        summary="Update an assignment",
        description=(
            'Absent fields are kept; `note: ""` clears the note. A new `due_at` (in the '
            "future) gets its own overdue reminder; a lowered bar completes the assignees "
            "it now lets through (each announced by `assignment.completed`); done "
            "assignees stay done. Admins only."
        ),
        responses=problems(400, 403, 404, 413, 422),
    )
    async def update(
        self,
        assignment_id: FromPath[UUID],
        data: JSONBody[AssignmentUpdate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> AssignmentOut:
        view = await container.assignments.update(
            principal,
            assignment_id,
            AssignmentChanges(
                due_at=data.due_at,
                min_score=data.min_score,
                min_attempts=data.min_attempts,
                note=data.note,
            ),
            dealership_id=dealership_id,
        )
        return assignment_out(view)

    @delete(
        "/{assignment_id:uuid}",
        operation_id="deleteAssignment",
        summary="Delete an assignment",
        description=(
            "Removes it and its assignees' progress; the sessions and their scorecards "
            "stay (no longer linked to it). Admins only."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def remove(
        self,
        assignment_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> None:
        await container.assignments.delete(principal, assignment_id, dealership_id=dealership_id)

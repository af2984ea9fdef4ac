"""Dealership and user management."""

from __future__ import annotations

from functools import partial
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from avataradam.domain.usecases.dealerships import DealershipChanges
from avataradam.domain.usecases.users import NewUser, UserChanges
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.idempotency import REPLAYED_HEADER, answered
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.pagination import list_page
from avataradam.entrypoints.http.params import CursorParam, IdempotencyKey, Limit, OrderParam
from avataradam.entrypoints.http.schemas.common import ListResponse, to_out
from avataradam.entrypoints.http.schemas.dealerships import (
    DealershipCreate,
    DealershipOut,
    DealershipUpdate,
)
from avataradam.entrypoints.http.schemas.identity import UserCreate, UserOut, UserUpdate
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal


class DealershipController(Controller):
    path = "/v1/dealerships"
    tags = ["dealerships"]
    security = SECURITY

    @post(
        operation_id="createDealership",
        summary="Create a dealership (super admin)",
        description=(
            "A new tenant with an empty knowledge base; add its admins with createUser. "
            "With an `Idempotency-Key`, repeats replay the first answer."
        ),
        response_headers=[REPLAYED_HEADER],
        responses=problems(400, 403, 413, 422),
    )
    async def create(
        self,
        data: JSONBody[DealershipCreate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[DealershipOut]:
        answer = await container.create_dealership(
            principal, data.name, idempotency_key=idempotency_key
        )
        return answered(answer, to_out(answer.value, DealershipOut), HTTP_201_CREATED)

    @get(
        operation_id="listDealerships",
        summary="List dealerships (super admin)",
        description=(
            "Oldest first (`order=newest`: newest first), cursor-paginated: pass "
            "`next_cursor` as `cursor`."
        ),
        responses=problems(400, 403, 422),
    )
    async def list_dealerships(
        self,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        cursor: CursorParam = None,
        limit: Limit = None,
        order: OrderParam = "oldest",
    ) -> ListResponse[DealershipOut]:
        return await list_page(
            partial(container.list_dealerships, principal),
            cursor,
            limit,
            render=lambda d: to_out(d, DealershipOut),
            order=order,
        )

    @get(
        "/{dealership_id:uuid}",
        operation_id="getDealership",
        summary="Read a dealership",
        description="Super admins only.",
        responses=problems(400, 403, 404),
    )
    async def read(
        self,
        dealership_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> DealershipOut:
        return to_out(await container.get_dealership(principal, dealership_id), DealershipOut)

    @patch(
        "/{dealership_id:uuid}",
        operation_id="updateDealership",
        summary="Update a dealership",
        description=(
            "Rename, deactivate or reactivate (`active`), or set the dealership's own "
            "`monthly_token_budget` (null returns it to the service default), or opt it in "
            "to the leaderboard (`leaderboard_enabled`). Super admins only."
        ),
        responses=problems(400, 403, 404, 413, 422),
    )
    async def update(
        self,
        dealership_id: FromPath[UUID],
        data: JSONBody[DealershipUpdate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> DealershipOut:
        changes = DealershipChanges(
            name=data.name,
            active=data.active,
            monthly_token_budget=data.monthly_token_budget,
            leaderboard_enabled=data.leaderboard_enabled,
        )
        return to_out(
            await container.update_dealership(principal, dealership_id, changes), DealershipOut
        )

    @delete(
        "/{dealership_id:uuid}",
        status_code=HTTP_200_OK,
        operation_id="deactivateDealership",
        summary="Deactivate a dealership",
        description=(
            "Every session of its users ends at once and they can no longer sign in; its "
            "data is kept. A reactivation brings no session back. Super admins only."
        ),
        responses=problems(400, 403, 404),
    )
    async def deactivate(
        self,
        dealership_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> DealershipOut:
        changes = DealershipChanges(active=False)
        return to_out(
            await container.update_dealership(principal, dealership_id, changes), DealershipOut
        )


class UserController(Controller):
    path = "/v1/users"
    tags = ["users"]
    security = SECURITY

    @post(
        operation_id="createUser",
        summary="Create a user",
        description=(
            "Dealership admins create users of their own dealership; a super admin names "
            "`dealership_id` (none for another super admin). An email already taken is 409."
        ),
        responses=problems(400, 403, 404, 409, 413, 422),
    )
    async def create(
        self,
        data: JSONBody[UserCreate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> UserOut:
        new = NewUser(
            email=data.email,
            password=data.password,
            role=data.role,
            dealership_id=data.dealership_id,
            first_name=data.first_name,
            last_name=data.last_name,
        )
        return to_out(await container.create_user(principal, new), UserOut)

    @get(
        operation_id="listUsers",
        summary="List users",
        description=(
            "Admins only: a dealership admin sees their dealership; a super admin all users, "
            "or one dealership's with `dealership_id`. Oldest first (`order=newest`: newest "
            "first), cursor-paginated."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def list_users(
        self,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: FromQuery[UUID | None] = None,
        cursor: CursorParam = None,
        limit: Limit = None,
        order: OrderParam = "oldest",
    ) -> ListResponse[UserOut]:
        return await list_page(
            partial(container.list_users, principal, dealership_id=dealership_id),
            cursor,
            limit,
            render=lambda u: to_out(u, UserOut),
            order=order,
        )

    @get(
        "/{user_id:uuid}",
        operation_id="getUser",
        summary="Read a user",
        description="Admins read users of their dealership; anyone reads themselves.",
        responses=problems(400, 403, 404),
    )
    async def read(
        self,
        user_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> UserOut:
        return to_out(await container.get_user(principal, user_id), UserOut)

    @patch(
        "/{user_id:uuid}",
        operation_id="updateUser",
        summary="Update a user",
        description=(
            "Admins only: password, role, names, `active`. Absent fields are kept. A "
            "password reset or a deactivation ends every session of the user at once; a "
            "role change applies to their next request. One's own password is changed "
            "with changeOwnPassword (`403 current_password_required` here)."
        ),
        responses=problems(400, 403, 404, 413, 422),
    )
    async def update(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[UserUpdate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> UserOut:
        changes = UserChanges(
            password=data.password,
            role=data.role,
            first_name=data.first_name,
            last_name=data.last_name,
            active=data.active,
        )
        return to_out(await container.update_user(principal, user_id, changes), UserOut)

    @delete(
        "/{user_id:uuid}",
        status_code=HTTP_200_OK,
        operation_id="deactivateUser",
        summary="Deactivate a user",
        description=(
            "Admins only. Every session of the user ends at once and they can no longer "
            "sign in; their data is kept. A reactivation brings no session back."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def deactivate(
        self,
        user_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> UserOut:
        return to_out(
            await container.update_user(principal, user_id, UserChanges(active=False)), UserOut
        )

    @post(
        "/{user_id:uuid}/sessions/revoke",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="endUserSessions",
        summary="End every session of a user",
        description=(
            "Admins of the user's dealership and super admins. Every access token of the "
            "user is refused from the next request on and every refresh token revoked; "
            "the account stays active, so the user may sign in again."
        ),
        responses=problems(400, 403, 404),
    )
    async def end_sessions(
        self,
        user_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> None:
        await container.end_sessions(principal, user_id)

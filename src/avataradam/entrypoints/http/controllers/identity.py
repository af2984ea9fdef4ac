"""Authentication and the caller's own profile."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from avataradam.domain.usecases.auth import TokenPair
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.ratelimit import guarded_password_check
from avataradam.entrypoints.http.schemas.common import to_out
from avataradam.entrypoints.http.schemas.identity import (
    LogoutRequest,
    PasswordChange,
    RefreshRequest,
    TokenRequest,
    UserOut,
)
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]

    @post(
        "/token",
        status_code=HTTP_200_OK,
        operation_id="createToken",
        summary="Sign in",
        description=(
            "Exchanges email and password for a short-lived access token (send it as "
            "`Authorization: Bearer <access_token>`) and a refresh token. Sign-in attempts "
            "are guarded: failed ones are counted per email and client address and per "
            "client address (429 once either budget is spent); a successful one costs "
            "nothing."
        ),
        responses=problems(400, 401, 413, 429, public=True),
    )
    async def token(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[TokenRequest],
        container: NamedDependency[Container],
    ) -> TokenPair:
        return await guarded_password_check(
            request,
            container.enforce_rate_limits,
            data.email,
            lambda: container.login(data.email, data.password),
        )

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        operation_id="refreshToken",
        summary="Rotate a refresh token",
        description=(
            "Returns a new token pair and invalidates the presented refresh token. Presenting "
            "an already rotated refresh token again revokes every token of its session."
        ),
        responses=problems(400, 401, 413, public=True),
    )
    async def refresh(
        self, data: JSONBody[RefreshRequest], container: NamedDependency[Container]
    ) -> TokenPair:
        return await container.refresh(data.refresh_token)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="logout",
        summary="Sign out",
        description="Revokes the session that the refresh token belongs to.",
        security=SECURITY,
        responses=problems(400, 413),
    )
    async def logout(
        self,
        data: JSONBody[LogoutRequest],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> None:
        await container.logout(principal, data.refresh_token)


class MeController(Controller):
    path = "/v1/me"
    tags = ["users"]
    security = SECURITY

    @get(
        operation_id="getMe",
        summary="Own profile",
        description="The signed-in user's profile: id, email, role, dealership.",
        responses=problems(404),
    )
    async def me(
        self, principal: CurrentPrincipal, container: NamedDependency[Container]
    ) -> UserOut:
        return to_out(await container.get_user(principal, principal.user_id), UserOut)

    @post(
        "/password",
        status_code=HTTP_200_OK,
        operation_id="changeOwnPassword",
        summary="Change one's own password",
        description=(
            "Needs the current password. Every session of the account ends (other "
            "devices, and the caller's own tokens); the answer is a new token pair for the "
            "caller. A wrong `current_password` is `403 wrong_current_password` and counts "
            "against the sign-in guard like a failed sign-in."
        ),
        responses=problems(400, 403, 404, 413, 422, 429),
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordChange],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> TokenPair:
        me = await container.get_user(principal, principal.user_id)
        return await guarded_password_check(
            request,
            container.enforce_rate_limits,
            me.email,
            lambda: container.change_own_password(
                principal, current_password=data.current_password, new_password=data.new_password
            ),
        )

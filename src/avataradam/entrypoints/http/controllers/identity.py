"""Authentication and the caller's own profile."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from avataradam.domain.usecases.auth import TokenPair
from avataradam.entrypoints.container import Services
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.ratelimit import enforce_login_limit
from avataradam.entrypoints.http.schemas import LogoutRequest, RefreshRequest, TokenRequest, UserOut
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
            "are rate limited per email and client address."
        ),
        responses=problems(400, 401, 413, 429, public=True),
    )
    async def token(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[TokenRequest],
        container: Services,
    ) -> TokenPair:
        await enforce_login_limit(request, container.enforce_rate_limits, data.email)
        return await container.login(data.email, data.password)

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
    async def refresh(self, data: JSONBody[RefreshRequest], container: Services) -> TokenPair:
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
        self, data: JSONBody[LogoutRequest], principal: CurrentPrincipal, container: Services
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
    async def me(self, principal: CurrentPrincipal, container: Services) -> UserOut:
        return UserOut.of(await container.get_user(principal, principal.user_id))

"""Authentication and the caller's own profile."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from avataradam.domain.access import Principal
from avataradam.domain.usecases.auth import TokenPair
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.schemas import LogoutRequest, RefreshRequest, TokenRequest, UserOut
from avataradam.entrypoints.http.security import SECURITY


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]

    @post(
        "/token",
        status_code=HTTP_200_OK,
        operation_id="createToken",
        summary="Sign in",
        description="Exchanges email and password for an access token and a refresh token.",
    )
    async def token(self, data: TokenRequest, container: Container) -> TokenPair:
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
    )
    async def refresh(self, data: RefreshRequest, container: Container) -> TokenPair:
        return await container.refresh(data.refresh_token)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="logout",
        summary="Sign out",
        description="Revokes the session that the refresh token belongs to.",
        security=SECURITY,
    )
    async def logout(self, data: LogoutRequest, principal: Principal, container: Container) -> None:
        await container.logout(principal, data.refresh_token)


class MeController(Controller):
    path = "/v1/me"
    tags = ["users"]
    security = SECURITY

    @get(operation_id="getMe", summary="Own profile", description="The signed-in user's profile.")
    async def me(self, principal: Principal, container: Container) -> UserOut:
        return UserOut.of(await container.get_user(principal, principal.user_id))

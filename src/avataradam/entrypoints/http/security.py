"""Bearer-token authentication as a dependency: handlers ask for a `Principal`."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request
from litestar.di import NamedDependency
from litestar.openapi.spec import Components, SecurityScheme

from avataradam.domain.access import Principal
from avataradam.domain.errors import InvalidToken
from avataradam.domain.usecases.auth import Authenticate

BEARER_SCHEME = "BearerToken"
SECURITY: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]
COMPONENTS = Components(
    security_schemes={
        BEARER_SCHEME: SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description=(
                "Access token from POST /v1/auth/token, sent as `Authorization: Bearer <token>`."
            ),
        )
    }
)


async def principal_from_request(
    request: Request[Any, Any, Any], authenticate: Authenticate
) -> Principal:
    """The caller of a request, as their account is now (see `Authenticate`)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("missing bearer token")
    principal = await authenticate(token.strip())
    identity = {
        "user_id": str(principal.user_id),
        "dealership_id": str(principal.dealership_id) if principal.dealership_id else None,
    }
    structlog.contextvars.bind_contextvars(**identity)
    # Dependencies may resolve in a copied context; the scope's state reaches the access log.
    request.scope.setdefault("state", {}).update(identity)
    return principal


CurrentPrincipal = NamedDependency[Principal]
"""Handler parameter `principal`: the authenticated caller (401 without a valid token)."""

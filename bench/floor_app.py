"""The floor of an authenticated, rate-limited API route, served like the API.

The real app (same server, middleware, authentication, rate-limit hook, error handling,
instrumentation) with one extra route, `POST /v1/bench/floor`, whose work is the least
any useful API route does: the bearer token checked, one rate-limit script call to Redis
(the `search` route class, exactly as `POST /v1/search`) and one PostgreSQL statement
(`SELECT 1` on the primary pool), nothing else. Cached search ÷ floor throughput says
how much of the server's work the cached search path adds (issue 14).
"""

from __future__ import annotations

from litestar import Litestar, post
from litestar.status_codes import HTTP_200_OK

from avataradam.domain.access import Principal
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http import asgi
from avataradam.entrypoints.http.ratelimit import limited
from avataradam.entrypoints.http.security import SECURITY

FLOOR_PATH = "/v1/bench/floor"


@post(FLOOR_PATH, status_code=HTTP_200_OK, opt=limited("search"), security=SECURITY)
async def floor(principal: Principal, container: Container) -> dict[str, bool]:
    """One PostgreSQL statement after the rate-limit hook has authenticated the caller."""
    del principal
    await container.health_checks["postgres_primary"]()
    return {"ok": True}


def create() -> Litestar:
    return asgi.create(extra_routes=[floor])

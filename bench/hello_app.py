"""The baseline: a bare Litestar JSON endpoint, served exactly like the API.

No middleware, no dependencies, no auth: the floor any Litestar route on this server,
event loop and machine can reach. `bench.serve` serves it through the project's own
`avataradam serve` code path, so server, workers and loop options are identical.
"""

from __future__ import annotations

from litestar import Litestar, get


@get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "hello"}


@get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


def create() -> Litestar:
    return Litestar(route_handlers=[hello, live], debug=False)

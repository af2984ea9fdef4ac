"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from avataradam.entrypoints.container import Services

CHECK_TIMEOUT_S = 2.0


class CheckResult(msgspec.Struct, frozen=True):
    status: str
    error: str | None = None


class Readiness(msgspec.Struct, frozen=True):
    status: str
    checks: dict[str, CheckResult]


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", operation_id="live", summary="Liveness", description="The process answers.")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/ready",
        operation_id="ready",
        summary="Readiness",
        description="Checks every backing service; 503 names the ones that failed.",
    )
    async def ready(self, container: Services) -> Response[Readiness]:
        names = list(container.health_checks)
        results = await asyncio.gather(
            *(_run(container, name) for name in names), return_exceptions=False
        )
        checks = dict(zip(names, results, strict=True))
        ok = all(result.status == "ok" for result in checks.values())
        return Response(
            Readiness(status="ok" if ok else "unavailable", checks=checks),
            status_code=HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE,
        )


async def _run(container: Services, name: str) -> CheckResult:
    try:
        await asyncio.wait_for(container.health_checks[name](), CHECK_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 -- any failure means "not ready", reported by name
        return CheckResult(status="failed", error=type(exc).__name__)
    return CheckResult(status="ok")

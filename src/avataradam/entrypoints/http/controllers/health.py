"""Liveness and readiness probes.

Liveness answers as soon as the process listens. Readiness answers 503 problem+json
`warming_up` while the server process still loads its models (`warm_up_failed` if it
cannot: see `http/warmup.py`), then checks the backing services.

Readiness fails (503) when a service every request may need is down: the primary
database or Redis. A replica that is down or lagging only degrades the instance (200,
`status: "degraded"`): reads already fall back to the primary, and taking every API
instance out of the load balancer because the shared replica died would turn a
degraded read path into an outage.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from avataradam import __version__
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain import codes
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.problems import Problem, problem_response
from avataradam.entrypoints.http.warmup import ServerWarmUp, WarmUp

CHECK_TIMEOUT_S = 2.0
NON_CRITICAL_CHECKS = frozenset({"postgres_replica"})


class Liveness(msgspec.Struct, frozen=True):
    status: str
    version: str
    """The running release, as in `pyproject.toml` and the `avataradam_build_info` metric."""


class CheckResult(msgspec.Struct, frozen=True):
    status: str
    error: str | None = None


class Replication(msgspec.Struct, frozen=True):
    """Where reads go and how stale the replica is (`lag_s` None: not measurable)."""

    status: str
    reads_on: str
    lag_s: float | None
    lag_bytes: int | None
    max_lag_s: float


class Readiness(msgspec.Struct, frozen=True):
    status: str
    checks: dict[str, CheckResult]
    replication: Replication | None = None


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(
        "/live",
        operation_id="live",
        summary="Liveness",
        description="The process answers; `version` is the release it runs (`CHANGELOG.md`).",
    )
    async def live(self) -> Liveness:
        return Liveness(status="ok", version=__version__)

    @get(
        "/ready",
        operation_id="ready",
        summary="Readiness",
        description=(
            "Checks every backing service; 503 names the ones that failed. A down or lagging "
            "replica answers 200 with `status: degraded`. While the process is still loading "
            "its models it answers 503 `application/problem+json` with code `warming_up` "
            "(`warm_up_failed` if they cannot be loaded) and `Retry-After`."
        ),
        responses={
            HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
                data_container=Readiness,
                description="The primary database or Redis is down; `checks` names it.",
                generate_examples=False,
            )
        },
    )
    async def ready(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Container],
        warm_up: ServerWarmUp,
    ) -> Response[Readiness] | Response[Problem]:
        if warm_up.state != "ready":
            return _not_warm(request, warm_up)
        names = list(container.health_checks)
        results = await asyncio.gather(
            *(_run(container, name) for name in names), return_exceptions=False
        )
        checks = dict(zip(names, results, strict=True))
        replication = await _replication(container)
        failed = {name for name, result in checks.items() if result.status != "ok"}
        if failed - NON_CRITICAL_CHECKS:
            status = "unavailable"
        elif failed or (replication is not None and replication.status != "ok"):
            status = "degraded"
        else:
            status = "ok"
        return Response(
            Readiness(status=status, checks=checks, replication=replication),
            status_code=HTTP_503_SERVICE_UNAVAILABLE if status == "unavailable" else HTTP_200_OK,
        )


def _not_warm(request: Request[Any, Any, Any], warm_up: WarmUp) -> Response[Problem]:
    if warm_up.state == "warming_up":
        return problem_response(
            request,
            status=HTTP_503_SERVICE_UNAVAILABLE,
            code=codes.WARMING_UP,
            title="Warming up",
            detail="the process is loading its models; it will be ready in seconds",
            headers={"Retry-After": "1"},
        )
    return problem_response(
        request,
        status=HTTP_503_SERVICE_UNAVAILABLE,
        code=codes.WARM_UP_FAILED,
        title="Warm-up failed",
        detail=f"the process could not load its models ({warm_up.error}); see its log",
    )


async def _run(container: NamedDependency[Container], name: str) -> CheckResult:
    try:
        await asyncio.wait_for(container.health_checks[name](), CHECK_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 -- any failure means "not ready", reported by name
        return CheckResult(status="failed", error=type(exc).__name__)
    return CheckResult(status="ok")


async def _replication(container: NamedDependency[Container]) -> Replication | None:
    uow = container.uow
    if not isinstance(uow, PostgresUnitOfWorkFactory) or not uow.database.has_replica:
        return None
    database = uow.database
    try:
        measured = await asyncio.wait_for(database.replication_status(fresh=True), CHECK_TIMEOUT_S)
    except TimeoutError:
        return Replication(
            status="unknown",
            reads_on="primary",
            lag_s=None,
            lag_bytes=None,
            max_lag_s=database.replica_max_lag_s,
        )
    if not measured.available:
        status = "unavailable"
    elif measured.lag_s is not None and measured.lag_s > database.replica_max_lag_s:
        status = "lagging"
    else:
        status = "ok"
    return Replication(
        status=status,
        reads_on="replica" if status == "ok" else "primary",
        lag_s=measured.lag_s,
        lag_bytes=measured.lag_bytes,
        max_lag_s=database.replica_max_lag_s,
    )

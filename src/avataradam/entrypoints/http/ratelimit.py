"""Rate limits at the HTTP edge: a before-request hook and the IETF RateLimit headers.

A route opts in with `opt=limited("search")`. The hook authenticates the caller once
(the principal is reused by the handler's dependency), consumes from every policy that
applies and stores the decisions on the scope; `RateLimitHeadersMiddleware` writes them
as `RateLimit-Policy` / `RateLimit` (draft-ietf-httpapi-ratelimit-headers) on the
answer, a 429 included.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Request
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from avataradam.domain.access import Principal
from avataradam.domain.ports.services import RateDecision
from avataradam.domain.usecases.ratelimits import (
    EnforceRateLimits,
    PasswordCheck,
    RateLimitExceeded,
)

T = TypeVar("T")
ROUTE_CLASS = "rate_limit"
DECISIONS = "rate_limit_decisions"
PRINCIPAL = "principal"


def limited(route_class: str) -> dict[str, Any]:
    """Handler `opt` marking a route as limited under `route_class` (chat, search, …)."""
    return {ROUTE_CLASS: route_class}


def record_decisions(scope: Scope, decisions: list[RateDecision]) -> None:
    scope.setdefault("state", {}).setdefault(DECISIONS, []).extend(decisions)


def rate_limit_hook(
    enforce: EnforceRateLimits,
    authenticate: Callable[[Request[Any, Any, Any]], Awaitable[Principal]],
) -> Callable[[Request[Any, Any, Any]], Awaitable[None]]:
    async def before_request(request: Request[Any, Any, Any]) -> None:
        route_class = request.route_handler.opt.get(ROUTE_CLASS)
        if route_class is None:
            return
        principal = await authenticate(request)
        try:
            decisions = await enforce.for_request(route_class, principal)
        except RateLimitExceeded as exc:
            record_decisions(request.scope, [exc.decision])
            raise
        record_decisions(request.scope, decisions)

    return before_request


def _headers(decisions: list[RateDecision]) -> list[tuple[bytes, bytes]]:
    policies = ", ".join(
        f'"{d.policy.name}";q={d.policy.limit};w={d.policy.window_s}' for d in decisions
    )
    states = ", ".join(
        f'"{d.policy.name}";r={d.remaining};t={math.ceil(d.reset_after_s)}' for d in decisions
    )
    return [(b"ratelimit-policy", policies.encode()), (b"ratelimit", states.encode())]


class RateLimitHeadersMiddleware:
    """Adds the RateLimit headers of the decisions taken for this request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decisions = scope.get("state", {}).get(DECISIONS)
                if decisions:
                    message = {
                        **message,
                        "headers": [*message.get("headers", ()), *_headers(decisions)],
                    }
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def guarded_password_check(
    request: Request[Any, Any, Any],
    enforce: EnforceRateLimits,
    email: str,
    check: Callable[[], Awaitable[T]],
) -> T:
    """Runs `check` (a sign-in, a password change) under the brute-force guard: failed
    checks per email and client address, and per client address
    (`EnforceRateLimits.password_check`); the guard's state goes into the headers."""
    client = request.client.host if request.client else "unknown"
    guard: PasswordCheck | None = None
    try:
        async with enforce.password_check(email, client) as guard:
            return await check()
    except RateLimitExceeded as exc:
        if guard is None:
            record_decisions(request.scope, [exc.decision])
        raise
    finally:
        if guard is not None:
            record_decisions(request.scope, guard.decisions)

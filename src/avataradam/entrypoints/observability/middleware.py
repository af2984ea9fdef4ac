"""ASGI middleware tying HTTP requests to logs, metrics and traces.

Litestar runs the `middleware=[...]` of an app *after* routing, inside each matched
route; a request that matches no route (404, 405) never reaches it. Both classes here are
plain ASGI apps and work there, but `instrument_app` wraps the app's whole ASGI handler
instead (the seam Litestar's own OpenTelemetry plugin uses), so unmatched requests are
counted too, as `route="unmatched"`, and every response, 404s included, carries
`X-Request-ID`.

Route labels are templates (`/v1/documents/{document_id:uuid}`), never raw paths, so a
client cannot create unbounded label values; unknown HTTP methods become `OTHER` for the
same reason.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import structlog
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils import normalize_path
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from prometheus_client import Counter, Gauge, Histogram

from avataradam.adapters.observability.metrics import UNMATCHED_ROUTE, Metrics, status_class
from avataradam.entrypoints.observability.logging import (
    bind_request_context,
    clear_request_context,
)

RouteResolver = Callable[[Scope], str | None]
"""Returns the route template of a request, or None when no route matches."""

REQUEST_ID_HEADER: Final = "x-request-id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_KNOWN_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


def route_template_from_scope(scope: Scope) -> str | None:
    """The template Litestar's router stored on the scope (set only once routed)."""
    template = scope.get("path_template")
    return template or None


def litestar_route_resolver(app: Litestar) -> RouteResolver:
    """Resolves the template *before* Litestar routes the request, by asking its router
    (cached per path and method), for middleware that wraps the whole app."""
    router = app.asgi_router

    def resolve(scope: Scope) -> str | None:
        if template := route_template_from_scope(scope):
            return template
        path = scope["path"]
        if root_path := scope.get("root_path", ""):
            path = path.split(root_path, maxsplit=1)[-1]
        try:
            method = scope.get("method")
            *_, template = router.handle_routing(
                path=normalize_path(path), method="GET" if method == "HEAD" else method
            )
        except HTTPException:
            return None
        return template or None

    return resolve


def _method_label(scope: Scope) -> str:
    method = str(scope.get("method", "GET")).upper()
    return method if method in _KNOWN_METHODS else "OTHER"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def sane_request_id(candidate: str | None) -> str:
    """The client's id when it is safe to echo and log, else a fresh uuid4 hex."""
    if candidate is not None and _SANE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


_access_log = structlog.get_logger("avataradam.access")


@dataclass(frozen=True, slots=True)
class _RouteMetrics:
    duration: Histogram
    requests: Counter
    errors: Counter | None


class HttpMetricsMiddleware:
    """Records `avataradam_http_*` for every HTTP request.

    Duration runs until the app returns, i.e. until the last body byte of a streamed
    (SSE) reply was sent. An exception escaping the app counts as a 5xx.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        route_resolver: RouteResolver = route_template_from_scope,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.route_resolver = route_resolver
        # Bounded: methods, route templates and status codes are all finite sets.
        self._children: dict[tuple[str, str, int], _RouteMetrics] = {}
        self._in_flight: dict[tuple[str, str], Gauge] = {}

    def _route_metrics(self, method: str, route: str, status: int) -> _RouteMetrics:
        """The labelled children for one method, route and status, looked up once: a
        `labels()` call validates and locks, and three ran on every request."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            status_label = status_class(status)
            metrics = self.metrics
            children = _RouteMetrics(
                duration=metrics.http_request_duration.labels(method=method, route=route),
                requests=metrics.http_requests.labels(
                    method=method, route=route, status_class=status_label
                ),
                errors=metrics.http_errors.labels(
                    method=method, route=route, status_class=status_label
                )
                if status >= 400
                else None,
            )
            self._children[key] = children
        return children

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = _method_label(scope)
        route = self.route_resolver(scope) or UNMATCHED_ROUTE
        in_flight = self._in_flight.get((method, route))
        if in_flight is None:
            in_flight = self.metrics.http_requests_in_flight.labels(method=method, route=route)
            self._in_flight[method, route] = in_flight
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        in_flight.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            elapsed = time.perf_counter() - started
            in_flight.dec()
            children = self._route_metrics(method, route, status)
            children.duration.observe(elapsed)
            children.requests.inc()
            if children.errors is not None:
                children.errors.inc()
            state = scope.get("state", {})
            _access_log.info(
                "http_request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                user_id=state.get("user_id"),
                dealership_id=state.get("dealership_id"),
            )


class RequestContextMiddleware:
    """Gives every request a correlation id: the client's `X-Request-ID` when it is at
    most 128 characters of `[A-Za-z0-9._-]`, else a new uuid4 hex. The id is bound to
    the structlog context for the request, stored as `request.state.request_id`, and
    returned in the `X-Request-ID` response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {ScopeType.HTTP, ScopeType.WEBSOCKET}:
            await self.app(scope, receive, send)
            return
        request_id = sane_request_id(_header(scope, REQUEST_ID_HEADER.encode()))
        scope.setdefault("state", {})["request_id"] = request_id
        encoded = request_id.encode()

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (key, value)
                    for key, value in message.get("headers", ())
                    if key.lower() != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), encoded))
                message = {**message, "headers": headers}
            await send(message)

        clear_request_context()
        bind_request_context(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            clear_request_context()


class TracingMiddleware:
    """A SERVER span per HTTP request, continuing the caller's W3C `traceparent`.

    Named `METHOD route-template`; a 5xx marks the span as an error. With no tracer
    provider configured the global tracer is a no-op, so this costs next to nothing.
    """

    def __init__(
        self,
        app: ASGIApp,
        route_resolver: RouteResolver = route_template_from_scope,
        tracer: Tracer | None = None,
    ) -> None:
        self.app = app
        self.route_resolver = route_resolver
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = self.tracer
        if tracer is None:
            if not isinstance(trace.get_tracer_provider(), SdkTracerProvider):
                # Tracing is off (no SDK provider installed): a no-op span would still
                # cost a header copy, a context parse and a context attach per request.
                await self.app(scope, receive, send)
                return
            tracer = trace.get_tracer("avataradam.http")
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = _method_label(scope)
        route = self.route_resolver(scope) or UNMATCHED_ROUTE
        carrier = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope.get("headers", ())
        }
        with tracer.start_as_current_span(
            f"{method} {route}",
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route},
        ) as span:

            async def send_recording_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            await self.app(scope, receive, send_recording_status)


def instrument_app(app: Litestar, *, metrics: Metrics, tracer: Tracer | None = None) -> Litestar:
    """Wraps the app's whole ASGI handler (after routing errors are turned into
    responses, before anything else) with request context, tracing and metrics, and
    returns the same app. Call it once, after constructing the app."""
    resolver = litestar_route_resolver(app)
    handler: ASGIApp = HttpMetricsMiddleware(app.asgi_handler, metrics, resolver)
    handler = TracingMiddleware(handler, resolver, tracer)
    app.asgi_handler = RequestContextMiddleware(handler)
    return app

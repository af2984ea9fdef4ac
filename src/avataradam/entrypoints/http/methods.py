"""Methods as RFC 9110 defines them, where Litestar 2's router falls short; browser origins.

- `HEAD` is answered wherever `GET` is (RFC 9110 §9.3.2): the request is routed as a
  GET and its answer sent with the same status and headers and no body. Litestar 2 has
  no implicit HEAD, so a monitor probing `/health/live` with HEAD saw a 405.
- `Allow` (RFC 9110 §10.2.1) on a 405 and on an OPTIONS answer lists every method of
  the route, from the route table. Litestar 2's automatic OPTIONS handler is built for
  the first handler registered on a path and keeps listing only that handler's methods
  when a controller adds more to the same path (`OPTIONS /v1/users` said `OPTIONS, POST`
  while GET works too); its 405 lists the methods unordered and without HEAD.
- CORS: with an allow-list (`AVATARADAM_HTTP_CORS_ORIGINS`) Litestar's CORS middleware
  answers preflights; a request from an origin not on the list is passed on as if it
  came from no browser origin at all, so it gets no `Access-Control-Allow-*` header
  (Litestar's middleware adds `-Methods` and `-Headers` to any origin's answers).

`HttpSemanticsMiddleware` wraps the app's whole ASGI handler, outside routing, the
seam `instrument_app` uses too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils import normalize_path

METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
API_HEADERS = (
    "authorization",
    "content-type",
    "idempotency-key",
    "x-request-id",
    # A reply's stored audio: conditional and range requests.
    "if-none-match",
    "if-match",
    "if-range",
    "range",
)
"""Request headers a browser client may send across origins (beyond the CORS-safelisted)."""
EXPOSED_HEADERS = (
    "location",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "x-request-id",
    "idempotent-replayed",
    "etag",
    "content-range",
    "accept-ranges",
    "x-voice",
)
"""Response headers a browser client may read across origins."""


def allowed_methods(methods: Iterable[str]) -> str:
    """A route's methods as an `Allow` value: HEAD wherever GET, in a stable order."""
    present = {method.upper() for method in methods}
    if "GET" in present:
        present.add("HEAD")
    rank = {method: i for i, method in enumerate(METHOD_ORDER)}
    return ", ".join(sorted(present, key=lambda m: (rank.get(m, len(rank)), m)))


class RouteTable:
    """The `Allow` value of every route, keyed by its path template as the router
    reports it (parameters without their types: `/v1/users/{user_id}`)."""

    def __init__(self, app: Litestar) -> None:
        self._router = app.asgi_router
        self._allow = {
            route.path_format: allowed_methods(route.methods)
            for route in app.routes
            if isinstance(route, HTTPRoute)
        }

    def allow(self, path: str) -> str | None:
        """`Allow` for a request path; None when no route matches it."""
        try:
            # Every route answers OPTIONS, so this finds any existing path's template.
            *_, template = self._router.handle_routing(path=normalize_path(path), method="OPTIONS")
        except HTTPException:
            return None
        return self._allow.get(template)


def cors_config(origins: Iterable[str]) -> CORSConfig | None:
    """Litestar's CORS configuration for an allow-list of origins; None when empty.

    Credentials (cookies) are not allowed: the API authenticates with bearer tokens.
    """
    allowed = list(origins)
    if not allowed:
        return None
    return CORSConfig(
        allow_origins=allowed,
        allow_methods=[m for m in METHOD_ORDER if m != "PUT"],  # type: ignore[misc]
        allow_headers=list(API_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        allow_credentials=False,
        max_age=600,
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class HttpSemanticsMiddleware:
    """HEAD, `Allow` and the CORS origin gate, around the app's routing (see module)."""

    def __init__(self, app: ASGIApp, routes: RouteTable, cors: CORSConfig | None) -> None:
        self.app = app
        self.routes = routes
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", ""))
        if self.cors is not None and (origin := _header(scope, b"origin")) is not None:
            send = _vary_on_origin(send)
            if not self.cors.is_origin_allowed(origin):
                headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"origin"]
                scope = {**scope, "headers": headers}
        if method == "HEAD":
            scope = {**scope, "method": "GET"}
            send = without_body(send)
        await self.app(scope, receive, self._with_allow(scope["path"], method, send))

    def _with_allow(self, path: str, method: str, send: Send) -> Send:
        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 405 or (method == "OPTIONS" and status < 300):
                    allow = self.routes.allow(path)
                    if allow is not None:
                        message = {**message, "headers": _replaced(message, b"allow", allow)}
            await send(message)

        return send_with_allow


def _replaced(message: Message, name: bytes, value: str) -> list[tuple[bytes, bytes]]:
    headers = cast("list[tuple[bytes, bytes]]", message.get("headers", []))
    kept = [(k, v) for k, v in headers if k.lower() != name]
    return [*kept, (name, value.encode("latin-1"))]


def without_body(send: Send) -> Send:
    """The answer's status and headers as they are, its body left out (an empty last
    part): the answer to HEAD (GET's, Content-Length included), or a 304."""

    async def send_head(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
        elif not message.get("more_body", False):
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    return send_head


def _vary_on_origin(send: Send) -> Send:
    """`Vary: Origin` on every answer to a request with an origin: whether the answer
    carries CORS headers depends on it, so no cache may serve it to another origin."""

    async def send_varying(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
            vary = [v.decode("latin-1") for k, v in headers if k.lower() == b"vary"]
            if not any("origin" in value.lower() for value in vary):
                message = {**message, "headers": [*headers, (b"vary", b"Origin")]}
        await send(message)

    return send_varying

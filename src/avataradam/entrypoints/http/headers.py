"""Request headers that change what a request means are honoured or refused, never
ignored (RFC 9110). Checked after routing, before anything runs:

- `Content-Encoding` other than `identity`: no coding of request bodies is supported
  (§8.4): 415 with `Accept-Encoding: identity`.
- `Content-Range`: partial request bodies are not supported (§14.5): 400.
- `Content-Type` of a body: JSON (UTF-8) or, for uploads, `multipart/form-data`, as the
  operation takes; a body without one reads as the operation's type (§8.3). Else 415.
- `Accept`: the API's resources are JSON, a reply may also stream as
  `text/event-stream` (§12.5.1). Nothing acceptable: 406.
- `If-Match` other than `*`: no representation carries an entity tag, so the condition
  is false (§13.1.1): 412, nothing done.
- `If-None-Match: *`: true only for a resource that does not exist (§13.1.2): 412 for a
  method that changes state, 304 for a GET or HEAD of one that exists.
- `Range`, `If-Range`: a server MAY ignore them (§14.2, §13.1.5); the whole
  representation is sent (200).

A handler whose representation carries an entity tag (`opt=entity_tags()`: a reply's
stored audio) evaluates `If-Match`, `If-None-Match`, `Range` and `If-Range` itself
(`audio.py`); the rules above on them are not applied to it.
- `If-Modified-Since`, `If-Unmodified-Since`: no resource has a modification date, so
  they MUST be ignored (§13.1.3, §13.1.4).
"""

from __future__ import annotations

import functools
from typing import Any

from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import ClientException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPI, OpenAPIResponse
from litestar.status_codes import (
    HTTP_412_PRECONDITION_FAILED,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.http import parse_options_header

from avataradam.entrypoints.http.methods import without_body
from avataradam.entrypoints.http.negotiation import JSON, NotAcceptable, preferred
from avataradam.entrypoints.http.openapi import operations

REPRESENTATIONS = "representations"
API_PREFIXES = ("/v1/", "/health/")
"""Routes of the API's own resources, all JSON unless a handler names others."""
SAFE_METHODS = frozenset({"GET", "HEAD"})


def representations(*media_types: str) -> dict[str, Any]:
    """Handler `opt` naming the media types an operation answers, preferred first."""
    return {REPRESENTATIONS: media_types}


ENTITY_TAGS = "entity_tags"


def entity_tags() -> dict[str, Any]:
    """Handler `opt` of an operation that evaluates its preconditions itself (see the
    module docstring)."""
    return {ENTITY_TAGS: True}


class UnsupportedMediaType(ClientException):
    """415: the body's media type or coding is not one the operation takes."""

    status_code = HTTP_415_UNSUPPORTED_MEDIA_TYPE


class PreconditionFailed(ClientException):
    """412: a precondition header evaluated to false; nothing was done."""

    status_code = HTTP_412_PRECONDITION_FAILED


_BODY_TYPES: dict[str, tuple[str, ...]] = {
    RequestEncodingType.JSON: (JSON,),
    RequestEncodingType.MULTI_PART: ("multipart/form-data",),
    RequestEncodingType.URL_ENCODED: ("application/x-www-form-urlencoded",),
}


@functools.lru_cache(maxsize=256)
def _body_types(handler: HTTPRouteHandler) -> tuple[str, ...] | None:
    """The media types the handler's `data` takes; None when it takes no body."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    media_type = getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON)
    return _BODY_TYPES.get(media_type, (str(media_type),))


def _is_json(mimetype: str) -> bool:
    return mimetype == JSON or (mimetype.startswith("application/") and mimetype.endswith("+json"))


@functools.lru_cache(maxsize=256)
def _content_type_refusal(content_type: str, wanted: tuple[str, ...]) -> str | None:
    """Why a body of `content_type` is refused where `wanted` is taken; None if it is not."""
    mimetype, options = parse_options_header(content_type)
    if wanted == (JSON,):
        charset = options.get("charset", "utf-8").lower()
        if _is_json(mimetype) and charset in ("utf-8", "utf8"):
            return None
        return f"this operation takes a body of type {JSON} (UTF-8), not {content_type}"
    if mimetype in wanted:
        return None
    return f"this operation takes a body of type {' or '.join(wanted)}, not {content_type}"


_WATCHED = frozenset(
    name.encode()
    for name in (
        "accept",
        "content-encoding",
        "content-length",
        "content-range",
        "content-type",
        "if-match",
        "if-none-match",
        "transfer-encoding",
    )
)


def watched_headers(scope: Scope) -> dict[str, str]:
    """The request headers this module rules on (ASGI names them in lower case)."""
    return {
        name.decode(): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in _WATCHED
    }


def check_body_headers(headers: dict[str, str], handler: HTTPRouteHandler) -> None:
    if "content-encoding" in headers:
        codings = {c.strip().lower() for c in headers["content-encoding"].split(",")}
        if codings - {"", "identity"}:
            raise UnsupportedMediaType(
                detail="request bodies cannot be content-coded; send them uncompressed",
                headers={"Accept-Encoding": "identity"},
            )
    if "content-range" in headers:
        raise ClientException(detail="partial request bodies (Content-Range) are not supported")
    wanted = _body_types(handler)
    has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    content_type = headers.get("content-type")
    if wanted is None or not has_body or content_type is None:
        return
    if (refusal := _content_type_refusal(content_type, wanted)) is not None:
        raise UnsupportedMediaType(detail=refusal)


def check_accept(headers: dict[str, str], handler: HTTPRouteHandler, template: str) -> None:
    if not template.startswith(API_PREFIXES):
        return
    offers: tuple[str, ...] = handler.opt.get(REPRESENTATIONS, (JSON,))
    if preferred(headers.get("accept"), offers) is None:
        raise NotAcceptable(detail=f"this resource is available as {' or '.join(offers)} only")


def check_preconditions(headers: dict[str, str], method: str) -> None:
    if_match = headers.get("if-match")
    if if_match is not None and if_match.strip() != "*":
        raise PreconditionFailed(
            detail="no representation of this API carries an entity tag: If-Match can only be '*'"
        )
    if headers.get("if-none-match", "").strip() == "*" and method not in SAFE_METHODS:
        raise PreconditionFailed(detail="If-None-Match: * failed: the target resource exists")


class RequestHeadersMiddleware:
    """Applies the module's rules to every routed HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # OPTIONS is about the route, not a representation: it answers 204 and `Allow`.
        if scope["type"] != ScopeType.HTTP or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        headers = watched_headers(scope)
        handler: HTTPRouteHandler = scope["route_handler"]  # type: ignore[assignment]
        method = scope["method"]
        check_body_headers(headers, handler)
        check_accept(headers, handler, str(scope.get("path_template", "")))
        if not handler.opt.get(ENTITY_TAGS):
            check_preconditions(headers, method)
            if method in SAFE_METHODS and headers.get("if-none-match", "").strip() == "*":
                send = _not_modified_when_found(send)
        await self.app(scope, receive, send)


def _not_modified_when_found(send: Send) -> Send:
    """`If-None-Match: *` on a GET of a resource that exists: 304 and no body."""
    found = False
    bodiless = without_body(send)

    async def send_not_modified(message: Message) -> None:
        nonlocal found
        if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
            found = True
            kept = [
                (k, v)
                for k, v in message.get("headers", ())
                if k.lower() not in (b"content-type", b"content-length")
            ]
            message = {**message, "status": 304, "headers": kept}
        await (bodiless if found else send)(message)

    return send_not_modified


def document_http_semantics(openapi: OpenAPI) -> None:
    """Adds this module's answers to every API operation of the document: 406 and 412,
    and 415 where a body is taken. Call before `finish_openapi`, which completes them."""
    for path, operation in operations(openapi):
        if not path.startswith(API_PREFIXES) or operation.responses is None:
            continue
        statuses = ["406", "412"] + (["415"] if operation.request_body is not None else [])
        for status in statuses:
            operation.responses.setdefault(status, OpenAPIResponse(description=status))

"""RFC 9457 problem+json for every error the API can answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from avataradam.domain import errors

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = structlog.get_logger(__name__)


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem document; `code` is the stable machine-readable kind."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    details: dict[str, Any] | None = None
    """Facts about this occurrence, e.g. the `document_id` a duplicate upload matches."""


_DOMAIN_STATUS: dict[type[errors.DomainError], tuple[int, str]] = {
    errors.NotFound: (404, "Not found"),
    errors.UnsupportedFileType: (415, "Unsupported media type"),
    errors.FileTooLarge: (413, "Content too large"),
    errors.Conflict: (409, "Conflict"),
    errors.InvalidInput: (422, "Invalid input"),
    errors.InvalidToken: (401, "Invalid token"),
    errors.AuthenticationFailed: (401, "Authentication failed"),
    errors.PermissionDenied: (403, "Forbidden"),
    errors.RateLimited: (429, "Too many requests"),
    errors.DependencyUnavailable: (503, "Service unavailable"),
}

_HTTP_CODES = {
    400: "invalid_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def problem_type(code: str) -> str:
    """The problem `type` URI: a relative reference to the error's documentation."""
    return f"/problems/{code.replace('_', '-')}"


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None,
    errors_: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> Response[Problem]:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return Response(
        Problem(
            type=problem_type(code),
            title=title,
            status=status,
            code=code,
            detail=detail,
            instance=request.url.path,
            request_id=request_id,
            errors=errors_,
            details=details,
        ),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _domain_status(exc: errors.DomainError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in _DOMAIN_STATUS:
            return _DOMAIN_STATUS[cls]
    return 400, "Bad request"


def handle_domain_error(
    request: Request[Any, Any, Any], exc: errors.DomainError
) -> Response[Problem]:
    status, title = _domain_status(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after_s + 0.499)))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="avataradam"'
    field = exc.details.get("field")
    extra = {k: v for k, v in exc.details.items() if k != "field"}
    return problem_response(
        request,
        status=status,
        code=exc.code,
        title=title,
        detail=exc.message,
        errors_=[{"field": field, "message": exc.message}] if field else None,
        headers=headers or None,
        details=extra or None,
    )


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    details: list[dict[str, Any]] | None = None
    if isinstance(exc, ValidationException):
        code = "invalid_request"
        extra = exc.extra
        if isinstance(extra, list):
            details = [
                {"field": str(e.get("key", "")), "message": str(e.get("message", ""))}
                if isinstance(e, dict)
                else {"message": str(e)}
                for e in extra
            ]
    elif isinstance(exc, NotFoundException):
        code = "not_found"
    elif isinstance(exc, MethodNotAllowedException):
        code = "method_not_allowed"
    elif isinstance(exc, NotAuthorizedException):
        code = "not_authenticated"
    else:
        code = _HTTP_CODES.get(status, "http_error")
    headers = dict(exc.headers or {})
    return problem_response(
        request,
        status=status,
        code=code,
        title=_title(status),
        detail=exc.detail,
        errors_=details,
        headers=headers or None,
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    _log.exception("unhandled_error", error_type=type(exc).__name__)
    return problem_response(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        code="internal_error",
        title="Internal server error",
        detail="an unexpected error occurred; quote the request_id when reporting it",
    )


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


EXCEPTION_HANDLERS = {
    errors.DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}

"""RFC 9457 problem+json for every error the API can answer.

400 or 422 (RFC 9110 sections 15.5.1 and 15.5.21): `400 invalid_request` when the
request is malformed, i.e. cannot be parsed as what the API reference declares (its
syntax, a type, format, length, range, enum, a required or unknown field, in the body,
the query or a header, or an opaque token such as a `cursor` the API never issued);
`422` (`invalid_input` and its specific codes) when the request is well-formed but a
value breaks a rule of the service that the reference cannot state. A path that names
no resource is 404. The guide's errors chapter says the same to integrators.
"""

from __future__ import annotations

import re
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

from avataradam.domain import codes, errors

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


class ProblemKind(msgspec.Struct, frozen=True):
    """How the API answers one `code`: its status, its title (the same for every
    occurrence, RFC 9457 section 3.1.3) and the `details` keys it may carry."""

    status: int
    title: str
    details: tuple[str, ...] = ()


PROBLEMS: dict[str, ProblemKind] = {
    codes.INVALID_REQUEST: ProblemKind(400, "Bad request"),
    codes.DOMAIN_ERROR: ProblemKind(400, "Bad request"),
    codes.HTTP_ERROR: ProblemKind(400, "Bad request"),
    codes.INVALID_TOKEN: ProblemKind(401, "Invalid token"),
    codes.SESSION_ENDED: ProblemKind(401, "Session ended"),
    codes.AUTHENTICATION_FAILED: ProblemKind(401, "Authentication failed"),
    codes.NOT_AUTHENTICATED: ProblemKind(401, "Not authenticated"),
    codes.PERMISSION_DENIED: ProblemKind(403, "Forbidden"),
    codes.CURRENT_PASSWORD_REQUIRED: ProblemKind(403, "Current password required"),
    codes.WRONG_CURRENT_PASSWORD: ProblemKind(403, "Wrong current password"),
    codes.SCENARIO_READ_ONLY: ProblemKind(403, "Scenario read-only", ("scenario_id",)),
    codes.RUBRIC_READ_ONLY: ProblemKind(403, "Rubric read-only", ("rubric_id",)),
    codes.FEATURE_DISABLED: ProblemKind(403, "Feature disabled", ("feature",)),
    codes.NOT_FOUND: ProblemKind(404, "Not found"),
    codes.METHOD_NOT_ALLOWED: ProblemKind(405, "Method not allowed"),
    codes.NOT_ACCEPTABLE: ProblemKind(406, "Not acceptable"),
    codes.REQUEST_TIMEOUT: ProblemKind(408, "Request timeout"),
    codes.CONFLICT: ProblemKind(409, "Conflict"),
    codes.CONCURRENT_UPDATE: ProblemKind(409, "Concurrent update"),
    codes.EMAIL_TAKEN: ProblemKind(409, "Email taken"),
    codes.DUPLICATE_DOCUMENT: ProblemKind(409, "Duplicate document", ("document_id",)),
    codes.REEMBEDDING_RUNNING: ProblemKind(409, "Re-embedding already running", ("generation",)),
    codes.DOCUMENT_NOT_RETRYABLE: ProblemKind(409, "Document not retryable", ("status",)),
    codes.SCENARIO_SLUG_TAKEN: ProblemKind(409, "Scenario slug taken"),
    codes.RUBRIC_ID_TAKEN: ProblemKind(409, "Rubric id taken"),
    codes.CONVERSATION_COMPLETED: ProblemKind(409, "Conversation completed"),
    codes.FILE_TOO_LARGE: ProblemKind(413, "File too large"),
    codes.PRECONDITION_FAILED: ProblemKind(412, "Precondition failed"),
    codes.PAYLOAD_TOO_LARGE: ProblemKind(413, "Content too large"),
    codes.UNSUPPORTED_FILE_TYPE: ProblemKind(415, "Unsupported file type"),
    codes.UNDECODABLE_TEXT: ProblemKind(415, "Undecodable text"),
    codes.UNSUPPORTED_MEDIA_TYPE: ProblemKind(415, "Unsupported media type"),
    codes.AUDIO_TOO_LONG: ProblemKind(413, "Audio too long", ("duration_s", "limit_s")),
    codes.RANGE_NOT_SATISFIABLE: ProblemKind(416, "Range not satisfiable"),
    codes.INVALID_INPUT: ProblemKind(422, "Invalid input"),
    codes.IDEMPOTENCY_KEY_REUSED: ProblemKind(422, "Idempotency key reused"),
    codes.WEBHOOK_DESTINATION_REFUSED: ProblemKind(422, "Webhook destination refused", ("host",)),
    codes.NOT_A_ROLEPLAY: ProblemKind(422, "Not a roleplay"),
    codes.UNREADABLE_AUDIO: ProblemKind(422, "Unreadable audio"),
    codes.NO_SPEECH: ProblemKind(422, "No speech"),
    codes.RATE_LIMITED: ProblemKind(429, "Too many requests", ("policy",)),
    codes.BUDGET_EXHAUSTED: ProblemKind(
        429, "Budget exhausted", ("budget", "remaining", "required", "resets_at")
    ),
    codes.INTERNAL_ERROR: ProblemKind(500, "Internal server error"),
    codes.DEPENDENCY_UNAVAILABLE: ProblemKind(503, "Service unavailable"),
    codes.SERVICE_UNAVAILABLE: ProblemKind(503, "Service unavailable"),
    codes.WARMING_UP: ProblemKind(503, "Warming up"),
    codes.WARM_UP_FAILED: ProblemKind(503, "Warm-up failed"),
    codes.CACHE_UNAVAILABLE: ProblemKind(503, "Cache unavailable"),
    codes.EMBEDDER_UNAVAILABLE: ProblemKind(503, "Embedder unavailable"),
    codes.VECTOR_INDEX_UNAVAILABLE: ProblemKind(503, "Vector index unavailable"),
    codes.TASK_QUEUE_UNAVAILABLE: ProblemKind(503, "Task queue unavailable"),
    codes.CHAT_MODEL_UNAVAILABLE: ProblemKind(503, "Chat model unavailable"),
    codes.SPEECH_UNAVAILABLE: ProblemKind(503, "Speech unavailable"),
}
"""Every code the API answers (exactly the catalogue's `codes.ANSWERED`), in the one
table that maps codes to HTTP. A domain
error whose own code is not here answers the nearest listed code of its classes
(`ExtractorUnavailable` would answer `dependency_unavailable`). The guide's error
table (docs/guide/07-errors.md) and the OpenAPI document list exactly these codes."""

_HTTP_EXCEPTION_CODES = {
    400: codes.INVALID_REQUEST,
    401: codes.NOT_AUTHENTICATED,
    403: codes.PERMISSION_DENIED,
    404: codes.NOT_FOUND,
    405: codes.METHOD_NOT_ALLOWED,
    406: codes.NOT_ACCEPTABLE,
    408: codes.REQUEST_TIMEOUT,
    412: codes.PRECONDITION_FAILED,
    413: codes.PAYLOAD_TOO_LARGE,
    415: codes.UNSUPPORTED_MEDIA_TYPE,
    416: codes.RANGE_NOT_SATISFIABLE,
    429: codes.RATE_LIMITED,
    500: codes.INTERNAL_ERROR,
    503: codes.SERVICE_UNAVAILABLE,
}
"""The code of a refusal by the HTTP framework itself, by status (`http_error` else)."""


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


def domain_problem(exc: errors.DomainError) -> tuple[str, ProblemKind]:
    """The documented code and kind a domain error answers: its own code if listed,
    else the nearest listed code among its base classes (`DomainError`'s at worst)."""
    codes = (getattr(cls, "code", None) for cls in type(exc).__mro__)
    code = next(code for code in codes if isinstance(code, str) and code in PROBLEMS)
    return code, PROBLEMS[code]


def handle_domain_error(
    request: Request[Any, Any, Any], exc: errors.DomainError
) -> Response[Problem]:
    """The problem for a domain error. `details.field` becomes `errors`; of the other
    details only the keys its kind lists are sent (the rest may be internal)."""
    code, kind = domain_problem(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after_s + 0.499)))
    if kind.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="avataradam"'
    field = exc.details.get("field")
    public = {k: v for k, v in exc.details.items() if k in kind.details}
    return problem_response(
        request,
        status=kind.status,
        code=code,
        title=kind.title,
        detail=exc.message,
        errors_=[{"field": field, "message": exc.message}] if field else None,
        headers=headers or None,
        details=public or None,
    )


_NAMED_FIELD = re.compile(r"(?:missing required|contains unknown) field `([^`]+)`")
_WHOLE_BODY = "data"  # Litestar's name for the request body itself


def body_field(key: str, message: str) -> str:
    """The body field a validation error is about, as a client names it.

    Litestar reports an error about the body's own keys (a required field missing, an
    unknown one) under the handler's parameter name `data`, naming the field only in the
    message ("Object missing required field `topic`"); nested ones under their parent
    (`criteria[0]`). The named field is joined to its parent; `data` alone becomes `body`.
    """
    named = _NAMED_FIELD.search(message)
    parent = "" if key == _WHOLE_BODY else key
    if named:
        return f"{parent}.{named[1]}" if parent else named[1]
    return parent or "body"


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    details: list[dict[str, Any]] | None = None
    if isinstance(exc, ValidationException):
        code = codes.INVALID_REQUEST
        extra = exc.extra
        if isinstance(extra, list):
            details = [
                {
                    "field": body_field(str(e.get("key", "")), str(e.get("message", ""))),
                    "message": str(e.get("message", "")),
                }
                if isinstance(e, dict)
                else {"message": str(e)}
                for e in extra
            ]
    elif isinstance(exc, NotFoundException):
        code = codes.NOT_FOUND
    elif isinstance(exc, MethodNotAllowedException):
        code = codes.METHOD_NOT_ALLOWED
    elif isinstance(exc, NotAuthorizedException):
        code = codes.NOT_AUTHENTICATED
    else:
        code = _HTTP_EXCEPTION_CODES.get(status, codes.HTTP_ERROR)
    headers = dict(exc.headers or {})
    return problem_response(
        request,
        status=status,
        code=code,
        title=PROBLEMS[code].title if PROBLEMS[code].status == status else _title(status),
        detail=exc.detail,
        errors_=details,
        headers=headers or None,
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    _log.exception("unhandled_error", error_type=type(exc).__name__)
    return problem_response(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        code=codes.INTERNAL_ERROR,
        title=PROBLEMS[codes.INTERNAL_ERROR].title,
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

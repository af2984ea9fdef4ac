"""What the OpenAPI document tells beyond the handlers' types: the problem+json answers
of every operation, the headers that come with them, and the tags.

Handlers declare their errors with `responses=problems(...)`; each status lists an
example of every code the API answers with it (the table in `problems.py`).
`finish_openapi` then completes the built document in place: `components.responses`
catalogues every code by status, every error response is the `Problem` schema
(Litestar's own 400 schema is not what the API answers), 401s carry `WWW-Authenticate`,
429s `Retry-After` and the RateLimit headers, and every answer `X-Request-ID`. JSON
request bodies say `additionalProperties: false`: every body struct forbids unknown
fields, and a client (or a fuzzer) must know that an extra field is a 400. Every
operation with a body may answer 408 (see `bodytimeout`).
"""

from __future__ import annotations

from typing import Any

from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Reference,
    RequestBody,
    Schema,
    Tag,
)
from litestar.openapi.spec.enums import OpenAPIType

from avataradam.entrypoints.http.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEMS,
    Problem,
    problem_type,
)

PROBLEM_SCHEMA = "Problem"


class _Kind:
    """The problems of one status: its most common `code`, what they mean, what to do,
    and an example `detail` of that code."""

    def __init__(self, code: str, description: str, detail: str) -> None:
        self.code = code
        self.description = description
        self.detail = detail


PROBLEM_KINDS: dict[int, _Kind] = {
    400: _Kind(
        "invalid_request",
        "The request is malformed (`invalid_request`): it cannot be parsed as this "
        "reference declares it, e.g. a wrong type, a value out of its stated range or "
        "length, a missing or unknown field, in the body, the query or a header, or a "
        "`cursor` the API never issued. `errors` lists each field. Fix the request; do "
        "not retry it.",
        "Validation failed for POST /v1/search",
    ),
    401: _Kind(
        "invalid_token",
        "No bearer token, or an invalid, expired or revoked one (`invalid_token`): refresh "
        "the access token or sign in again; a token whose session was ended (password "
        "changed or reset, account or dealership deactivated, sessions ended by an admin: "
        "`session_ended`): sign in again; on sign-in, wrong credentials "
        "(`authentication_failed`).",
        "token has expired",
    ),
    403: _Kind(
        "permission_denied",
        "The caller's role may not do this (`permission_denied`); one's own password is "
        "changed with POST /v1/me/password (`current_password_required`), whose "
        "`current_password` was wrong (`wrong_current_password`).",
        "this action needs the role dealership_admin or super_admin",
    ),
    404: _Kind(
        "not_found",
        "No such object in the caller's dealership (`not_found`). Objects of another "
        "dealership answer 404 too, never 403.",
        "document not found",
    ),
    406: _Kind(
        "not_acceptable",
        "The `Accept` header rules out every representation of the resource "
        "(`not_acceptable`): accept `application/json` (a reply also `text/event-stream`).",
        "this resource is available as application/json only",
    ),
    408: _Kind(
        "request_timeout",
        "The request body did not arrive in full within the server's deadline "
        "(`request_timeout`); the connection is closed. Retry on a better connection.",
        "the request body did not arrive within 120 s",
    ),
    409: _Kind(
        "duplicate_document",
        "The request conflicts with the current state: the same file already in the "
        "topic (`duplicate_document`, `details.document_id` names it), an email another "
        "user has (`email_taken`), a document that is not `failed` (`document_not_retryable`, "
        "`details.status`), another request changing the same data first "
        "(`concurrent_update`: retry).",
        "the same file is already in this knowledge base",
    ),
    412: _Kind(
        "precondition_failed",
        "A precondition header is false (`precondition_failed`): no representation "
        "carries an entity tag, so `If-Match` can only be `*`, and `If-None-Match: *` "
        "fails on a resource that exists. Nothing was done; send the request without it.",
        "no representation of this API carries an entity tag: If-Match can only be '*'",
    ),
    413: _Kind(
        "file_too_large",
        "The body or the uploaded file exceeds its size limit (`file_too_large`, "
        "`payload_too_large`).",
        "the file exceeds the upload limit of 26214400 bytes",
    ),
    415: _Kind(
        "unsupported_file_type",
        "The uploaded file is not PDF, DOCX, HTML, Markdown or plain text, judged by its "
        "bytes (`unsupported_file_type`); or the body is not of the operation's type: "
        "JSON in UTF-8, `multipart/form-data` for uploads, never content-coded "
        "(`unsupported_media_type`).",
        "only PDF, DOCX, HTML, Markdown and plain text files are accepted",
    ),
    422: _Kind(
        "invalid_input",
        "Well-formed, but a value breaks a rule of the service that this reference "
        "cannot state (`invalid_input`), e.g. a super admin acting on dealership data "
        "without `dealership_id`, an empty file; a webhook URL that points at a private, "
        "link-local or metadata address (`webhook_destination_refused`); an "
        "`Idempotency-Key` first used for a different request (`idempotency_key_reused`).",
        "a super admin must pass dealership_id",
    ),
    429: _Kind(
        "rate_limited",
        "A rate limit is exhausted (`rate_limited`). Wait `Retry-After` seconds; the "
        "`RateLimit` header tells what remains of each policy.",
        "rate limit 'search' exceeded",
    ),
    405: _Kind(
        "method_not_allowed",
        "The path exists, but not with this method (`method_not_allowed`); `Allow` lists "
        "the methods it has.",
        "Method Not Allowed",
    ),
    500: _Kind(
        "internal_error",
        "A bug (`internal_error`). Retry once; report the `request_id` if it persists.",
        "an unexpected error occurred; quote the request_id when reporting it",
    ),
    503: _Kind(
        "dependency_unavailable",
        "A backing service (database, Redis, vector store, model) cannot be reached "
        "(`dependency_unavailable`). Retry with exponential backoff.",
        "the database is unavailable",
    ),
}


def _example(status: int, kind: _Kind, code: str) -> Example:
    """An example problem for `code`; `summary` is the code, so a reader (and the test
    that walks the document) finds every code a status may carry."""
    value: dict[str, Any] = {
        "type": problem_type(code),
        "title": PROBLEMS[code].title,
        "status": status,
        "code": code,
        "instance": "/v1/documents",
        "request_id": "5f0c6c1e9b2a4e0f8a7d3c2b1a09f8e7",
    }
    if code == kind.code:
        value["detail"] = kind.detail
    if status == 400:
        value["errors"] = [{"field": "query", "message": "Expected `str` of length >= 1"}]
    return Example(summary=code, value=value)


def problem_codes(status: int) -> list[str]:
    """Every code the API answers with `status`, the status's most common first."""
    main = PROBLEM_KINDS[status].code
    return [main, *sorted(c for c, k in PROBLEMS.items() if k.status == status and c != main)]


def _examples(status: int) -> list[Example]:
    return [_example(status, PROBLEM_KINDS[status], code) for code in problem_codes(status)]


def problems(*statuses: int, public: bool = False) -> dict[int, ResponseSpec]:
    """The problem+json answers of an operation: `statuses`, 503 and, unless `public`, 401."""
    wanted = {*statuses, 503} | (set() if public else {401})
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=PROBLEM_KINDS[status].description,
            generate_examples=False,
            examples=_examples(status),
        )
        for status in sorted(wanted)
    }


TAGS = [
    Tag(name="auth", description="Sign in, rotate refresh tokens, sign out."),
    Tag(name="users", description="The caller's profile; user management for admins."),
    Tag(name="dealerships", description="Dealerships (tenants); super admins only."),
    Tag(
        name="documents",
        description="Knowledge-base documents: upload (202), follow the status, delete, retry.",
    ),
    Tag(name="search", description="Ranked passages of the dealership's knowledge base."),
    Tag(
        name="conversations",
        description="Training and roleplay sessions with Adam, as JSON or streamed (SSE).",
    ),
    Tag(name="feedback", description="Ratings of Adam's answers; reports for admins."),
    Tag(name="webhooks", description="Signed event deliveries (Standard Webhooks)."),
    Tag(name="usage", description="Model usage per day and monthly token budgets."),
    Tag(name="health", description="Liveness and readiness probes."),
]

_REQUEST_ID = "X-Request-ID"
_HEADERS: dict[str, OpenAPIHeader] = {
    _REQUEST_ID: OpenAPIHeader(
        description="Correlation id of the request (echoed when the client sent one).",
        schema=Schema(type=OpenAPIType.STRING),
    ),
    "WWW-Authenticate": OpenAPIHeader(
        description='The scheme to authenticate with: `Bearer realm="avataradam"`.',
        schema=Schema(type=OpenAPIType.STRING),
    ),
    "Retry-After": OpenAPIHeader(
        description="Seconds to wait before trying again.",
        schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
    ),
    "RateLimit-Policy": OpenAPIHeader(
        description='Policies applied: `"name";q=<limit>;w=<window seconds>`, comma-separated.',
        schema=Schema(type=OpenAPIType.STRING),
    ),
    "RateLimit": OpenAPIHeader(
        description='What remains: `"name";r=<remaining>;t=<seconds to reset>`, comma-separated.',
        schema=Schema(type=OpenAPIType.STRING),
    ),
}


def _ref(name: str) -> Reference:
    return Reference(ref=f"#/components/headers/{name}")


def _operations(openapi: OpenAPI) -> list[Operation]:
    found: list[Operation] = []
    for item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if isinstance(operation, Operation):
                found.append(operation)
    return found


def _is_problem_or_own(response: OpenAPIResponse) -> bool:
    """True when an error response already documents its body (problem+json or its own)."""
    content = response.content or {}
    return PROBLEM_MEDIA_TYPE in content or any(
        isinstance(media.schema, Reference) for media in content.values()
    )


def _close_json_body(openapi: OpenAPI, operation: Operation) -> None:
    body = operation.request_body
    media = body.content.get("application/json") if isinstance(body, RequestBody) else None
    if media is None or not isinstance(media.schema, Reference):
        return
    schema = (openapi.components.schemas or {}).get(media.schema.ref.rsplit("/", 1)[-1])
    if schema is not None:
        schema.additional_properties = False


def _catalogue(problem_ref: Reference) -> dict[str, OpenAPIResponse | Reference]:
    """`components.responses`: one problem response per status, with an example of every
    code of that status, so the document lists every code the API can answer (405, 406
    and 500 belong to no operation in particular)."""
    return {
        f"Problem{status}": OpenAPIResponse(
            description=PROBLEM_KINDS[status].description,
            content={
                PROBLEM_MEDIA_TYPE: OpenAPIMediaType(
                    schema=problem_ref, examples={e.summary or "": e for e in _examples(status)}
                )
            },
        )
        for status in sorted(PROBLEM_KINDS)
    }


def finish_openapi(openapi: OpenAPI) -> OpenAPI:
    """Completes the built document in place (see the module docstring)."""
    components = openapi.components
    components.headers = {**(components.headers or {}), **_HEADERS}
    problem_ref = Reference(ref=f"#/components/schemas/{PROBLEM_SCHEMA}")
    components.responses = {**(components.responses or {}), **_catalogue(problem_ref)}
    for operation in _operations(openapi):
        _close_json_body(openapi, operation)
        if operation.request_body is not None and operation.responses is not None:
            operation.responses.setdefault(
                "408", OpenAPIResponse(description=PROBLEM_KINDS[408].description)
            )
        responses = operation.responses or {}
        limited = "429" in responses
        for status, response in responses.items():
            if not isinstance(response, OpenAPIResponse):
                continue
            code = int(status)
            if code >= 400 and not _is_problem_or_own(response):
                kind = PROBLEM_KINDS.get(code)
                media = OpenAPIMediaType(schema=problem_ref)
                if kind is not None:
                    response.description = kind.description
                    media.examples = {e.summary or "": e for e in _examples(code)}
                response.content = {PROBLEM_MEDIA_TYPE: media}
            headers = dict(response.headers or {})
            headers[_REQUEST_ID] = _ref(_REQUEST_ID)
            if code == 401:
                headers["WWW-Authenticate"] = _ref("WWW-Authenticate")
            if code == 429:
                headers["Retry-After"] = _ref("Retry-After")
            if limited:
                headers["RateLimit-Policy"] = _ref("RateLimit-Policy")
                headers["RateLimit"] = _ref("RateLimit")
            response.headers = headers
    return openapi

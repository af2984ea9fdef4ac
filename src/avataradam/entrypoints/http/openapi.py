"""What the OpenAPI document tells beyond the handlers' types: the problem+json answers
of every operation, the headers that come with them, and the tags.

Handlers declare their errors with `responses=problems(...)`; each status lists an
example of every code the API answers with it (the table in `problems.py`), under
the status's description (`problem_kinds.py`).
`finish_openapi` then completes the built document in place: `components.responses`
catalogues every code by status, every error response is the `Problem` schema
(Litestar's own 400 schema is not what the API answers), 401s carry `WWW-Authenticate`,
429s `Retry-After` and the RateLimit headers, and every answer `X-Request-ID`. JSON
request bodies say `additionalProperties: false`: every body struct forbids unknown
fields, and a client (or a fuzzer) must know that an extra field is a 400. Every
operation with a body may answer 408 (see `bodytimeout`). List pages keep the
component names they were published with.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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

from avataradam.entrypoints.http.problem_kinds import PROBLEM_KINDS, ProblemKind
from avataradam.entrypoints.http.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEMS,
    Problem,
    problem_type,
)

PROBLEM_SCHEMA = "Problem"


def _example(status: int, kind: ProblemKind, code: str) -> Example:
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
        name="reembeddings",
        description="Re-embedding a dealership's knowledge base with another model, in the "
        "background, while search keeps serving; admins.",
    ),
    Tag(
        name="documents",
        description="Knowledge-base documents: upload (202), follow the status, delete, retry.",
    ),
    Tag(name="search", description="Ranked passages of the dealership's knowledge base."),
    Tag(
        name="conversations",
        description="Training and roleplay sessions with Adam, as JSON or streamed (SSE).",
    ),
    Tag(
        name="scenarios",
        description=(
            "Roleplay scenarios: the built-in F&I library and the dealership's own "
            "(written by admins)."
        ),
    ),
    Tag(
        name="assignments",
        description=(
            "Practice an admin assigns (a scenario, a due date, a bar), with each assignee's "
            "progress derived from their scored sessions."
        ),
    ),
    Tag(
        name="scoring",
        description=(
            "Completing a roleplay session (202) and its scorecard: scored in the background "
            "against a frozen rubric version, with verbatim quotes of the trainee."
        ),
    ),
    Tag(name="feedback", description="Ratings of Adam's answers; reports for admins."),
    Tag(name="webhooks", description="Signed event deliveries (Standard Webhooks)."),
    Tag(name="usage", description="Model usage per day and monthly token budgets."),
    Tag(
        name="analytics",
        description=(
            "What managers read: a dealership's training overview, one person's progress, "
            "the opt-in leaderboard, and knowledge gaps (training questions the knowledge "
            "base could not answer, grouped); JSON, or CSV with `Accept: text/csv`."
        ),
    ),
    Tag(
        name="speech",
        description=(
            "Adam and the roleplay customers speak (WAV, streamed as spoken; replies kept "
            "and served with caching and ranges), recordings are transcribed, and a "
            "talking-head avatar session is started for the browser."
        ),
    ),
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


def operations(openapi: OpenAPI) -> Iterator[tuple[str, Operation]]:
    """Every operation of the document with its path, path by path."""
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if isinstance(operation, Operation):
                yield path, operation


_LIST_PAGE = re.compile(r"ListResponse_avataradam\.entrypoints\.http\.schemas\.\w+\.(\w+)_")


def _keep_list_page_names(openapi: OpenAPI) -> None:
    """A page of `XOut` keeps the component name it was published with,
    `ListResponse_avataradam.entrypoints.http.schemas.XOut_`: Litestar names a generic
    struct after its argument's module, and the bodies now have a module per resource."""
    schemas = openapi.components.schemas or {}
    renamed = {
        name: f"ListResponse_avataradam.entrypoints.http.schemas.{m.group(1)}_"
        for name in schemas
        if (m := _LIST_PAGE.fullmatch(name))
    }
    if not renamed:
        return
    openapi.components.schemas = {renamed.get(name, name): s for name, s in schemas.items()}
    for _, operation in operations(openapi):
        for response in (operation.responses or {}).values():
            content = response.content if isinstance(response, OpenAPIResponse) else None
            for media in (content or {}).values():
                if isinstance(ref := media.schema, Reference):
                    name = ref.ref.rsplit("/", 1)[-1]
                    if name in renamed:
                        ref.ref = f"#/components/schemas/{renamed[name]}"


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
    _keep_list_page_names(openapi)
    for _, operation in operations(openapi):
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

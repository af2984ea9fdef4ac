"""The OpenAPI document is valid and complete: what an integrator reads instead of the source."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.serialization import encode_json
from openapi_spec_validator import validate

from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.http import schemas as http_schemas
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import load_settings

METHODS = ("get", "put", "post", "patch", "delete")
PUBLIC = {"createToken", "refreshToken", "live", "ready"}
RATE_LIMITED = {"changeOwnPassword", "createToken", "search", "sendMessage", "uploadDocument"}
RATE_LIMITED |= {"speak", "getMessageAudio", "transcribe", "createAvatarSession"}
PROBLEM_REF = "#/components/schemas/Problem"


def body_struct(name: str) -> Any:
    """The body struct `name` of the API's schemas package (one module per resource)."""
    found = [
        getattr(module, name)
        for info in pkgutil.iter_modules(http_schemas.__path__)
        if hasattr(module := importlib.import_module(f"{http_schemas.__name__}.{info.name}"), name)
    ]
    assert found, name
    return found[0]


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The document as served, built from the real app (no service is contacted)."""
    settings = load_settings(
        {
            "AVATARADAM_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/unused",
            "AVATARADAM_EMBEDDER": "hashing",
        },
        env_file=None,
    )
    document: dict[str, Any] = create_app(build_container(settings)).openapi_schema.to_schema()
    return document


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_document_validates_against_the_openapi_schema(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_operation_has_summary_description_declared_tag_and_readable_id(
    spec: dict[str, Any],
) -> None:
    declared = {tag["name"]: tag.get("description") for tag in spec["tags"]}
    ids = []
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert operation.get("description"), where
        assert operation.get("tags"), where
        for tag in operation["tags"]:
            assert declared.get(tag), f"{where}: tag {tag} is not declared with a description"
        assert re.fullmatch(r"[a-z][A-Za-z]+", operation["operationId"]), where
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids)) >= 30


def test_every_error_response_is_a_documented_problem(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if int(status) < 400 or operation["operationId"] == "ready":
                continue
            where = f"{method.upper()} {path} {status}"
            assert response["description"], where
            assert list(response["content"]) == ["application/problem+json"], where
            media = response["content"]["application/problem+json"]
            assert media["schema"] == {"$ref": PROBLEM_REF}, where
            assert "examples" in media, where
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "code"}


def test_public_operations_are_the_only_ones_without_bearer_security(
    spec: dict[str, Any],
) -> None:
    scheme = spec["components"]["securitySchemes"]["BearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, method, operation in operations(spec):
        secured = operation.get("security") == [{"BearerToken": []}]
        assert secured == (operation["operationId"] not in PUBLIC), f"{method} {path}"
        if secured:
            assert "401" in operation["responses"], f"{method} {path}"


def test_rate_limited_operations_document_429_with_retry_after_and_ratelimit_headers(
    spec: dict[str, Any],
) -> None:
    limited = {
        operation["operationId"]
        for _, _, operation in operations(spec)
        if "429" in operation["responses"]
    }
    assert limited == RATE_LIMITED
    for _, _, operation in operations(spec):
        if operation["operationId"] in RATE_LIMITED:
            headers = operation["responses"]["429"]["headers"]
            assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(headers)
    assert spec["components"]["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_inputs_document_their_rejections(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        if "{" in path:
            assert {"400", "404"} <= set(responses), where
        if "requestBody" in operation:
            assert {"400", "408", "413"} <= set(responses), where


def test_request_bodies_carry_examples(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for path, method, operation in operations(spec):
        body = operation.get("requestBody")
        if body is None:
            continue
        (media,) = body["content"].values()
        schema = schemas[media["schema"]["$ref"].rsplit("/", 1)[-1]]
        examples = [p for p in schema["properties"].values() if "examples" in p or "enum" in p]
        assert examples, f"{method.upper()} {path}: no property shows an example"


def test_upload_documents_its_location_header(spec: dict[str, Any]) -> None:
    upload = spec["paths"]["/v1/documents"]["post"]
    assert "Location" in upload["responses"]["202"]["headers"]
    assert {"413", "415", "409"} <= set(upload["responses"])


def test_json_bodies_are_closed_exactly_where_the_server_refuses_unknown_fields(
    spec: dict[str, Any],
) -> None:
    schemas = spec["components"]["schemas"]
    closed = 0
    for _, _, operation in operations(spec):
        media = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if media is None:
            continue
        name = media["schema"]["$ref"].rsplit("/", 1)[-1]
        struct = body_struct(name)
        assert struct.__struct_config__.forbid_unknown_fields, name
        assert schemas[name]["additionalProperties"] is False, name
        closed += 1
    assert closed >= 12


def test_list_pages_keep_their_published_component_names(spec: dict[str, Any]) -> None:
    pages = {name for name in spec["components"]["schemas"] if name.startswith("ListResponse")}
    published = "ListResponse_avataradam.entrypoints.http.schemas.{}_"
    assert pages == {
        published.format(item)
        for item in (
            "AssignmentOut",
            "ConversationOut",
            "DealershipOut",
            "DocumentOut",
            "FeedbackReportOut",
            "KnowledgeGapOut",
            "RubricOut",
            "TrainingScenarioOut",
            "UserOut",
            "WebhookOut",
        )
    }
    refs = {
        media["schema"]["$ref"].rsplit("/", 1)[-1]
        for _, _, operation in operations(spec)
        for media in operation["responses"].get("200", {}).get("content", {}).values()
        if "$ref" in media.get("schema", {})
    }
    assert pages <= refs


def test_analytics_operations_document_their_range_and_csv_sections(spec: dict[str, Any]) -> None:
    encode_json(spec)  # served as /schema/openapi.json: no bare Python type (`object`) in it
    sections = {
        "/v1/analytics/overview": {
            "summary", "weekly", "criteria", "blockers", "weakest_skills", "top_questions",
            "knowledge_gaps",
        },
        "/v1/analytics/users/{user_id}": {"sessions", "weekly", "criteria_trend", "assignments"},
        "/v1/analytics/leaderboard": None,
    }  # fmt: skip
    for path, expected in sections.items():
        operation = spec["paths"][path]["get"]
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert {"from", "to"} <= set(parameters), path
        assert "text/csv" in operation["description"], path
        assert {"200", "404", "422"} <= set(operation["responses"]), path
        if expected is not None:
            assert set(parameters["section"]["schema"]["enum"]) == expected, path

"""HTTP semantics (RFC 9110) of every route, walked from the app's route table against a
real `avataradam serve` process: `Allow` on OPTIONS and 405 agrees with the table, HEAD
works wherever GET does, request headers that change a body's meaning are honoured or
refused, and browser origins on the CORS allow-list (and only they) get CORS headers.
"""

from __future__ import annotations

import gzip
import json
import re
import tomllib
import uuid
from collections.abc import AsyncIterator, Iterator
from itertools import chain
from pathlib import Path

import httpx
import pytest
from litestar.routes import HTTPRoute

from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.http.headers import ENTITY_TAGS
from tests.integration.conftest import Account, Tenant, api_process, service_environment

ALLOWED_ORIGIN = "https://crm.example.com"
OTHER_ORIGIN = "https://evil.example.net"
PROBED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_PARAMETER = re.compile(r"\{(\w+):(\w+)\}")

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT, CHANGELOG = ROOT / "pyproject.toml", ROOT / "CHANGELOG.md"


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    env = service_environment(database_url, redis_url) | {
        "AVATARADAM_HTTP_CORS_ORIGINS": f"{ALLOWED_ORIGIN}, http://localhost:5173",
    }
    with api_process(env, tmp_path_factory.mktemp("http-semantics")) as url:
        yield url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


def routes(container: Container) -> list[tuple[str, frozenset[str], HTTPRoute]]:
    """(a concrete path, the route's methods, the route) for every route of the app."""
    app = create_app(container)
    walked: list[tuple[str, frozenset[str], HTTPRoute]] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = _PARAMETER.sub(
            lambda m: str(uuid.uuid4()) if m[2] == "uuid" else "1" if m[2] == "int" else "x",
            route.path,
        )
        methods = frozenset(chain.from_iterable(h.http_methods for h in route.route_handlers))
        walked.append((path, methods, route))
    return walked


def allow_of(response: httpx.Response) -> set[str]:
    return {method.strip() for method in response.headers.get("allow", "").split(",")}


def expected_allow(methods: frozenset[str]) -> set[str]:
    return set(methods) | ({"HEAD"} if "GET" in methods else set())


async def test_allow_on_options_and_405_lists_every_method_of_the_route(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    for path, methods, _ in routes(container):
        wanted = expected_allow(methods)

        options = await http.options(path, headers={"accept": "text/html", "if-match": '"x"'})
        assert options.status_code == 204, path
        assert allow_of(options) == wanted, path
        for method in set(PROBED_METHODS) - wanted:
            refused = await http.request(method, path, headers=tenant.admin.headers)
            assert refused.status_code == 405, (method, path)
            assert allow_of(refused) == wanted, (method, path)
            if method != "HEAD":  # a HEAD answer has no body
                assert refused.json()["code"] == "method_not_allowed"


async def test_head_answers_wherever_get_does_with_its_status_and_headers_and_no_body(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    heads = 0
    for path, methods, _ in routes(container):
        if "GET" not in methods:
            continue
        first = await http.get(path, headers=tenant.admin.headers)
        second = await http.get(path, headers=tenant.admin.headers)
        head = await http.head(path, headers=tenant.admin.headers)

        assert head.status_code == first.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-type") == first.headers.get("content-type"), path
        if first.content == second.content:  # a stable body: HEAD states its exact length
            assert head.headers.get("content-length") == str(len(first.content)), path
        heads += 1
    assert heads >= 15


async def test_uptime_probes_with_head_see_a_healthy_service(http: httpx.AsyncClient) -> None:
    for probe in ("/health/live", "/health/ready"):
        response = await http.head(probe)
        assert response.status_code == 200, probe
        assert response.content == b""
    metrics = (await http.get("/metrics")).text
    assert 'method="HEAD",route="/health/live"' in metrics


async def test_liveness_the_build_info_metric_and_the_changelog_name_one_release(
    http: httpx.AsyncClient,
) -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    released = re.findall(r"^## \[(\d[^\]]*)\]", CHANGELOG.read_text(), re.M)

    live = (await http.get("/health/live")).json()
    metrics = (await http.get("/metrics")).text

    assert live == {"status": "ok", "version": declared}
    assert f'avataradam_build_info{{version="{declared}"}} 1.0' in metrics
    assert released[0] == declared


def _api_operations(container: Container) -> list[tuple[str, str, bool, bool]]:
    """(method, path, takes a body, has entity tags) of every operation of the API's own
    resources."""
    operations: list[tuple[str, str, bool, bool]] = []
    for path, _, route in routes(container):
        if not path.startswith(("/v1/", "/health/")):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods - {"OPTIONS"}:
                takes_body = "data" in handler.parsed_fn_signature.parameters
                tagged = bool(handler.opt.get(ENTITY_TAGS))
                operations.append((method, path, takes_body, tagged))
    return operations


async def test_every_api_operation_refuses_what_it_cannot_honour(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    refusals = {
        "accept": ({"accept": "text/html"}, 406, "not_acceptable"),
        "if-match": ({"if-match": '"v1"'}, 412, "precondition_failed"),
        "content-encoding": ({"content-encoding": "gzip"}, 415, "unsupported_media_type"),
    }
    body_refusals = {
        "content-type": ({"content-type": "text/plain"}, 415, "unsupported_media_type"),
        "charset": ({"content-type": "application/json; charset=iso-8859-1"}, 415, None),
        "content-range": ({"content-range": "bytes 0-1/2"}, 400, "invalid_request"),
    }
    checked = 0
    for method, path, takes_body, tagged in _api_operations(container):
        cases = refusals | (body_refusals if takes_body else {})
        if tagged:
            # A representation with entity tags judges If-Match by its tag; the paths
            # here name nothing, and a condition on nothing is ignored (RFC 9110
            # §13.2.1): 404. A wrong tag on a real one is 412 (test_speech_api.py).
            cases["if-match"] = ({"if-match": '"v1"'}, 404, "not_found")
        for name, (headers, status, code) in cases.items():
            response = await http.request(
                method, path, content=b"{}", headers=tenant.admin.headers | headers
            )
            assert response.status_code == status, (name, method, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert code is None or response.json()["code"] == code, (name, method, path)
            checked += 1
    assert checked > 60


async def test_refused_preconditions_change_nothing_and_wildcards_hold(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    async def count() -> int:
        listed = await http.get("/v1/conversations", headers=tenant.user.headers)
        return len(listed.json()["items"])

    before = await count()
    create = {"mode": "training"}
    refused = [
        await http.post(
            "/v1/conversations", json=create, headers=tenant.user.headers | precondition
        )
        for precondition in ({"if-match": '"x", "y"'}, {"if-none-match": "*"})
    ]
    accepted = await http.post(
        "/v1/conversations", json=create, headers=tenant.user.headers | {"if-match": "*"}
    )
    not_modified = await http.get("/v1/me", headers=tenant.user.headers | {"if-none-match": "*"})
    tag_list = await http.get("/v1/me", headers=tenant.user.headers | {"if-none-match": '"a"'})

    assert [r.status_code for r in refused] == [412, 412]
    assert accepted.status_code == 201
    assert await count() == before + 1
    assert (not_modified.status_code, not_modified.content) == (304, b"")
    assert tag_list.status_code == 200


async def test_ignorable_headers_are_ignored_as_rfc_9110_allows(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    whole = await http.get("/v1/me", headers=tenant.user.headers)
    for headers in (
        {"range": "bytes=0-3"},
        {"range": "bytes=0-3", "if-range": '"x"'},
        {"if-modified-since": "Sat, 01 Jan 2000 00:00:00 GMT"},
        {"if-unmodified-since": "Sat, 01 Jan 2000 00:00:00 GMT"},
    ):
        response = await http.get("/v1/me", headers=tenant.user.headers | headers)
        assert (response.status_code, response.content) == (200, whole.content), headers


async def test_bodies_of_the_right_type_are_taken_with_or_without_a_content_type(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = json.dumps({"query": "gap coverage", "top_k": 1}).encode()
    for headers in (
        {},
        {"content-type": "application/json; charset=UTF-8"},
        {"content-type": "application/json", "content-encoding": "identity"},
    ):
        response = await http.post(
            "/v1/search", content=body, headers=tenant.user.headers | headers
        )
        assert response.status_code == 200, (headers, response.text)
    coded = await http.post(
        "/v1/search",
        content=gzip.compress(body),
        headers=tenant.user.headers | {"content-encoding": "gzip"},
    )
    assert coded.status_code == 415
    assert coded.headers["accept-encoding"] == "identity"
    upload = await http.post("/v1/documents", json={"topic": "books"}, headers=tenant.admin.headers)
    assert (upload.status_code, upload.json()["code"]) == (415, "unsupported_media_type")


async def test_accept_is_negotiated_with_quality_values(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    statuses = {
        accept: (
            await http.get("/v1/me", headers=tenant.user.headers | {"accept": accept})
        ).status_code
        for accept in (
            "*/*",
            "application/*",
            "text/html, application/json;q=0.1",
            "application/json;q=0, */*",
            "application/json;q=0",
            "text/csv",
        )
    }
    assert statuses == {
        "*/*": 200,
        "application/*": 200,
        "text/html, application/json;q=0.1": 200,
        "application/json;q=0, */*": 406,
        "application/json;q=0": 406,
        "text/csv": 406,
    }


# --- CORS ------------------------------------------------------------------------------


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def preflight(origin: str) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }


async def test_a_preflight_from_an_allowed_origin_is_granted(http: httpx.AsyncClient) -> None:
    response = await http.options("/v1/search", headers=preflight(ALLOWED_ORIGIN))

    assert response.status_code == 204
    granted = cors_headers(response)
    assert granted["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in granted["access-control-allow-methods"]
    assert {"authorization", "content-type"} <= {
        h.strip().lower() for h in granted["access-control-allow-headers"].split(",")
    }
    assert "access-control-allow-credentials" not in granted
    assert "origin" in response.headers["vary"].lower()


async def test_a_request_from_an_allowed_origin_may_read_the_answer(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await http.get("/v1/me", headers=tenant.user.headers | {"origin": ALLOWED_ORIGIN})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


async def test_another_origin_gets_no_cors_header_at_all(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    refused_preflight = await http.options("/v1/search", headers=preflight(OTHER_ORIGIN))
    plain = await http.get("/v1/me", headers=tenant.user.headers | {"origin": OTHER_ORIGIN})

    assert cors_headers(refused_preflight) == {}
    assert cors_headers(plain) == {}
    assert plain.status_code == 200
    assert "origin" in plain.headers["vary"].lower()


async def test_cors_is_off_by_default(client: httpx.AsyncClient, super_admin: Account) -> None:
    """The session's in-process app runs on default settings: no origin is allowed."""
    granted = await client.options("/v1/search", headers=preflight(ALLOWED_ORIGIN))
    plain = await client.get("/v1/me", headers=super_admin.headers | {"origin": ALLOWED_ORIGIN})

    assert cors_headers(granted) == {}
    assert cors_headers(plain) == {}
    assert allow_of(granted) == {"POST", "OPTIONS"}

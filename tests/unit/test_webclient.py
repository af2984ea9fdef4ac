"""The web client's static files in front of the API (entrypoints/http/webclient.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from avataradam.entrypoints.http.webclient import CSP, IMMUTABLE, WebClient, default_web_dir

INDEX = b"<!doctype html><title>AvatarAdam</title><div id=app></div>"
SCRIPT = b"console.log('adam')"


async def api(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Stands for the API: answers which path and method reached it."""
    body = f"api {scope['method']} {scope['path']}".encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"x/api")]}
    )
    await send({"type": "http.response.body", "body": body})


def client_on(directory: Path) -> httpx.AsyncClient:
    inner: Any = api
    app: Callable[..., Any] = WebClient(inner, directory)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.fixture
def build(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(INDEX)
    (tmp_path / "assets" / "index-AbC123.js").write_bytes(SCRIPT)
    (tmp_path / "favicon.svg").write_bytes(b"<svg/>")
    (tmp_path.parent / "secret.txt").write_bytes(b"outside the build")
    return tmp_path


async def test_api_paths_and_other_methods_reach_the_api(build: Path) -> None:
    async with client_on(build) as http:
        for path in ("/v1/me", "/v1", "/health/live", "/metrics", "/schema/openapi.json", "/docs"):
            response = await http.get(path)
            assert response.text == f"api GET {path}"
        assert (await http.post("/chat")).text == "api POST /chat"
        # A prefix only counts as a whole path segment.
        assert (await http.get("/v1x")).content == INDEX


async def test_files_are_served_with_type_and_cache_headers(build: Path) -> None:
    async with client_on(build) as http:
        script = await http.get("/assets/index-AbC123.js")
        assert script.status_code == 200
        assert script.content == SCRIPT
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert script.headers["cache-control"] == IMMUTABLE
        icon = await http.get("/favicon.svg")
        assert icon.headers["content-type"] == "image/svg+xml"
        assert icon.headers["cache-control"] == "no-cache"
        root = await http.get("/")
        assert root.content == INDEX
        assert root.headers["content-type"] == "text/html; charset=utf-8"
        assert root.headers["cache-control"] == "no-cache"
        for response in (script, icon, root):
            assert response.headers["content-security-policy"] == CSP
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert int(response.headers["content-length"]) == len(response.content)


async def test_client_routes_fall_back_to_index_and_missing_files_are_404(build: Path) -> None:
    async with client_on(build) as http:
        for route in ("/chat", "/chat/0b6c6a2e-0000-4000-8000-000000000000", "/documents"):
            response = await http.get(route)
            assert response.status_code == 200
            assert response.content == INDEX
        for missing in ("/assets/gone-123.js", "/assets/new", "/robots.txt"):
            response = await http.get(missing)
            assert response.status_code == 404
            assert response.headers["content-type"].startswith("text/plain")


async def test_nothing_outside_the_build_directory_is_served(build: Path) -> None:
    async with client_on(build) as http:
        for path in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt"):
            response = await http.get(path)
            assert b"outside the build" not in response.content


async def test_head_sends_headers_only(build: Path) -> None:
    async with client_on(build) as http:
        response = await http.head("/assets/index-AbC123.js")
        assert response.status_code == 200
        assert response.content == b""
        assert response.headers["content-length"] == str(len(SCRIPT))


async def test_without_a_build_the_page_says_how_to_build_and_the_api_works(
    tmp_path: Path,
) -> None:
    async with client_on(tmp_path / "missing") as http:
        page = await http.get("/")
        assert page.status_code == 503
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert b"just setup" in page.content
        assert (await http.get("/v1/me")).text == "api GET /v1/me"


def test_the_default_directory_is_web_dist_of_the_checkout() -> None:
    assert default_web_dir() == Path(__file__).resolve().parents[2] / "web" / "dist"


def test_the_policy_lets_nothing_else_in() -> None:
    """Replies are fetched with the bearer header and played through the Web Audio API
    (no media element, so no `blob:` media); no other origin may serve media, scripts
    or connections."""
    directives = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert directives["media-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["script-src"] == "'self'"

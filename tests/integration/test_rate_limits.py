"""Rate limits at the HTTP edge: headers, 429s, the sign-in guard, Redis outages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from avataradam.domain.model import Role
from avataradam.domain.usecases.users import NewUser
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import load_settings
from tests.integration.conftest import PASSWORD, problem, service_environment
from tests.support.asgi import asgi_transport

Stack = Callable[[dict[str, str]], AbstractAsyncContextManager[tuple[Container, httpx.AsyncClient]]]


@pytest.fixture
def stack(database_url: str, redis_url: str) -> Stack:
    @asynccontextmanager
    async def build(
        extra: dict[str, str],
    ) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
        env = service_environment(database_url, redis_url) | extra
        container = build_container(load_settings(env, env_file=None))
        await container.start()
        transport = asgi_transport(create_app(container))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                yield container, http
        finally:
            await container.close()

    return build


async def _user_token(container: Container, http: httpx.AsyncClient) -> str:
    dealership = await container.create_dealership.create(f"Limits {uuid.uuid4().hex[:6]}")
    email = f"limited-{uuid.uuid4().hex[:8]}@example.com"
    await container.create_user.create(
        NewUser(email=email, password=PASSWORD, role=Role.USER), dealership.id
    )
    response = await http.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_limited_route_advertises_its_policy_and_refuses_past_the_limit(
    stack: Stack,
) -> None:
    async with stack(
        {"AVATARADAM_RATE_LIMIT_SEARCH_LIMIT": "3", "AVATARADAM_RATE_LIMIT_SEARCH_WINDOW_S": "60"}
    ) as (container, http):
        headers = {"Authorization": f"Bearer {await _user_token(container, http)}"}
        answers = [
            await http.post("/v1/search", json={"query": "gap"}, headers=headers) for _ in range(4)
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    first = answers[0].headers
    assert '"search";q=3;w=60' in first["ratelimit-policy"]
    assert '"search";r=2;t=' in first["ratelimit"]
    assert '"dealership";q=' in first["ratelimit-policy"]
    refused = answers[-1]
    assert problem(refused)["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert '"search";r=0;t=' in refused.headers["ratelimit"]


async def test_unlimited_routes_carry_no_ratelimit_headers(stack: Stack) -> None:
    async with stack({}) as (container, http):
        headers = {"Authorization": f"Bearer {await _user_token(container, http)}"}
        response = await http.get("/v1/me", headers=headers)
    assert response.status_code == 200
    assert "ratelimit" not in response.headers


async def test_sign_in_attempts_are_limited_per_email_even_with_the_right_password(
    stack: Stack,
) -> None:
    async with stack({"AVATARADAM_RATE_LIMIT_LOGIN_LIMIT": "3"}) as (container, http):
        await _user_token(container, http)  # one attempt for another email
        email = f"brute-{uuid.uuid4().hex[:8]}@example.com"
        dealership = await container.create_dealership.create("Brute Force Motors")
        await container.create_user.create(
            NewUser(email=email, password=PASSWORD, role=Role.USER), dealership.id
        )
        wrong = [
            await http.post("/v1/auth/token", json={"email": email, "password": "nope-nope-nope"})
            for _ in range(3)
        ]
        right = await http.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert [w.status_code for w in wrong] == [401, 401, 401]
    assert right.status_code == 429
    assert '"login";q=3;w=900' in right.headers["ratelimit-policy"]


async def test_redis_down_search_fails_open_and_sign_in_fails_closed(stack: Stack) -> None:
    async with stack({}) as (container, http):
        token = await _user_token(container, http)
    down = {"AVATARADAM_REDIS_URL": "redis://127.0.0.1:1/0"}
    async with stack(down) as (_container, http):
        headers = {"Authorization": f"Bearer {token}"}
        search = await http.post("/v1/search", json={"query": "gap"}, headers=headers)
        login = await http.post(
            "/v1/auth/token", json={"email": "anyone@example.com", "password": PASSWORD}
        )
        metrics = (await http.get("/metrics")).text
    assert search.status_code == 200, search.text
    assert login.status_code == 503
    assert problem(login)["code"] == "dependency_unavailable"
    assert (
        'avataradam_rate_limit_decisions_total{decision="fail_open",policy="search"} 1.0' in metrics
    )
    assert (
        'avataradam_rate_limit_decisions_total{decision="fail_closed",policy="login"} 1.0'
        in metrics
    )

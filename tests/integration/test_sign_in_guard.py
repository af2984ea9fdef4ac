"""The sign-in guard counts failed password checks, not sign-ins, over the real API
and Redis: per email + client address, per client address, and a wrong current
password at a password change like a failed sign-in."""

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

Stack = Callable[
    [dict[str, str], str], AbstractAsyncContextManager[tuple[Container, httpx.AsyncClient]]
]
WRONG = "not-the-password"


@pytest.fixture
def stack(database_url: str, redis_url: str) -> Stack:
    @asynccontextmanager
    async def build(
        extra: dict[str, str], address: str
    ) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
        env = service_environment(database_url, redis_url) | extra
        container = build_container(load_settings(env, env_file=None))
        await container.start()
        # A client address of its own, so no other test's failures count here.
        transport = asgi_transport(create_app(container), client=(address, 40000))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                yield container, http
        finally:
            await container.close()

    return build


def _address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


async def _user(container: Container) -> str:
    dealership = await container.create_dealership.create(f"Guard {uuid.uuid4().hex[:6]}")
    email = f"guarded-{uuid.uuid4().hex[:8]}@example.com"
    await container.create_user.create(
        NewUser(email=email, password=PASSWORD, role=Role.USER), dealership.id
    )
    return email


async def _attempt(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/v1/auth/token", json={"email": email, "password": password})


async def test_correct_sign_ins_never_lock_an_account_out(stack: Stack) -> None:
    async with stack({"AVATARADAM_RATE_LIMIT_LOGIN_LIMIT": "3"}, _address()) as (container, http):
        email = await _user(container)
        answers = [await _attempt(http, email, PASSWORD) for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 10
    assert '"login";r=3;' in answers[-1].headers["ratelimit"], "a success costs nothing"


async def test_failures_count_and_a_success_in_between_does_not_reset_them(stack: Stack) -> None:
    async with stack({"AVATARADAM_RATE_LIMIT_LOGIN_LIMIT": "3"}, _address()) as (container, http):
        email = await _user(container)
        first = [await _attempt(http, email, WRONG) for _ in range(2)]
        success = await _attempt(http, email, PASSWORD)
        third = await _attempt(http, email, WRONG)
        locked = await _attempt(http, email, PASSWORD)
    assert [a.status_code for a in (*first, success, third)] == [401, 401, 200, 401]
    assert '"login";r=1;' in success.headers["ratelimit"]
    assert locked.status_code == 429, "three failures spend the budget, right password or not"
    assert problem(locked)["details"] == {"policy": "login"}


async def test_failures_for_many_emails_from_one_address_hit_the_address_limit(
    stack: Stack,
) -> None:
    address = _address()
    limits = {
        "AVATARADAM_RATE_LIMIT_LOGIN_LIMIT": "3",
        "AVATARADAM_RATE_LIMIT_LOGIN_ADDRESS_LIMIT": "4",
    }
    async with stack(limits, address) as (container, http):
        email = await _user(container)
        spray = [
            await _attempt(http, f"guess-{n}-{uuid.uuid4().hex[:6]}@example.com", WRONG)
            for n in range(4)
        ]
        blocked = await _attempt(http, email, PASSWORD)
    async with stack(limits, _address()) as (_container, elsewhere):
        fine = await _attempt(elsewhere, email, PASSWORD)
    assert [a.status_code for a in spray] == [401] * 4
    assert blocked.status_code == 429
    assert problem(blocked)["details"] == {"policy": "login_address"}
    assert fine.status_code == 200, "the account itself is not locked from elsewhere"


async def test_a_wrong_current_password_counts_like_a_failed_sign_in(stack: Stack) -> None:
    async with stack({"AVATARADAM_RATE_LIMIT_LOGIN_LIMIT": "2"}, _address()) as (container, http):
        email = await _user(container)
        token = (await _attempt(http, email, PASSWORD)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        change = {"current_password": WRONG, "new_password": "a-brand-new-passphrase"}
        guesses = [
            await http.post("/v1/me/password", json=change, headers=headers) for _ in range(2)
        ]
        locked = await http.post(
            "/v1/me/password",
            json=change | {"current_password": PASSWORD},
            headers=headers,
        )
        sign_in = await _attempt(http, email, PASSWORD)
    assert [g.status_code for g in guesses] == [403, 403]
    assert locked.status_code == 429
    assert sign_in.status_code == 429, "one budget for the account, whichever check failed"

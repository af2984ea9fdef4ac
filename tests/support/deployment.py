"""A test deployment of the service, shared by every test package (integration, e2e):
its environment, the session's real worker process, its in-process API with a client,
and accounts. The fixtures are registered once, by tests/conftest.py: a conftest that
imported them too would start a second session worker on the same queues.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from avataradam.domain.model import Role
from avataradam.domain.usecases.users import NewUser
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import Settings, load_settings
from ops.harness.environment import FAST_RECONCILE, local_environment
from tests.support.asgi import asgi_transport
from tests.support.processes import ServiceProcess
from tests.support.secrets import register_secret

PASSWORD = "correct-horse-battery-staple"


def service_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """AVATARADAM_* variables of a test deployment (cheap hashing, hashing embedder, the
    in-memory speech engines)."""
    return local_environment(database_url, redis_url) | {
        # The session's super admin signs in once; the suite outlasts the 15-minute default.
        "AVATARADAM_AUTH_ACCESS_TOKEN_TTL_S": "21600",
        "AVATARADAM_WEBHOOKS_ALLOW_PRIVATE": "true",
        "AVATARADAM_LOGGING_LEVEL": "WARNING",
        # The speech twins: no engine to install, words that survive a round trip.
        "AVATARADAM_SPEECH_SYNTHESIZER": "memory",
        "AVATARADAM_SPEECH_RECOGNIZER": "memory",
    }


@pytest.fixture(scope="session", autouse=True)
def _password_never_logged() -> None:
    """Every process fixture's teardown (`ServiceProcess.stop`) also looks for it."""
    register_secret(PASSWORD)


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str) -> Settings:
    return load_settings(service_environment(database_url, redis_url), env_file=None)


@pytest.fixture(scope="session")
def worker_env(database_url: str, redis_url: str) -> dict[str, str]:
    """A worker deployment that re-drives lost work within seconds."""
    return (
        service_environment(database_url, redis_url)
        | FAST_RECONCILE
        | {"AVATARADAM_LOGGING_LEVEL": "INFO"}
    )


@pytest.fixture(scope="session")
def worker(
    worker_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """One real Dramatiq worker process shared by the integration tests."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    process = ServiceProcess(["worker", "--processes", "1", "--threads", "2"], worker_env, log)
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
async def container(settings: Settings) -> AsyncIterator[Container]:
    built = build_container(settings)
    await built.start()
    yield built
    await built.close()


@pytest.fixture(scope="session")
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app in this event loop; the session container is started."""
    transport = asgi_transport(create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    token: str
    dealership_id: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Tenant:
    dealership_id: str
    admin: Account
    user: Account


async def sign_in(client: httpx.AsyncClient, email: str, dealership: str | None) -> Account:
    response = await client.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    me = await client.get(
        "/v1/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )
    return Account(
        id=me.json()["id"],
        email=email,
        token=response.json()["access_token"],
        dealership_id=dealership,
    )


@pytest.fixture(scope="session")
async def super_admin(container: Container, client: httpx.AsyncClient) -> Account:
    email = f"root-{uuid.uuid4().hex[:8]}@example.com"
    await container.create_user.create(
        NewUser(email=email, password=PASSWORD, role=Role.SUPER_ADMIN), None
    )
    return await sign_in(client, email, None)


async def new_tenant(client: httpx.AsyncClient, super_admin: Account) -> Tenant:
    """A dealership with one admin and one user, created through the API."""
    created = await client.post(
        "/v1/dealerships",
        json={"name": f"Dealer {uuid.uuid4().hex[:6]}"},
        headers=super_admin.headers,
    )
    assert created.status_code == 201, created.text
    dealership_id = created.json()["id"]
    accounts = []
    for role in ("dealership_admin", "user"):
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        response = await client.post(
            "/v1/users",
            json={
                "email": email,
                "password": PASSWORD,
                "role": role,
                "dealership_id": dealership_id,
            },
            headers=super_admin.headers,
        )
        assert response.status_code == 201, response.text
        accounts.append(await sign_in(client, email, dealership_id))
    return Tenant(dealership_id=dealership_id, admin=accounts[0], user=accounts[1])


@pytest.fixture
async def tenant(client: httpx.AsyncClient, super_admin: Account) -> Tenant:
    return await new_tenant(client, super_admin)


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient, super_admin: Account) -> Tenant:
    return await new_tenant(client, super_admin)

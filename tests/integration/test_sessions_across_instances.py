"""Two real API processes: a change made through one takes effect on the other's very
next request, although each keeps account states in memory.

Both processes keep a state for 300 s (`AVATARADAM_AUTH_ACCOUNT_CACHE_TTL_S`), so only
the broadcast over Redis can explain the other process refusing at once; a change
written straight into PostgreSQL (no broadcast) shows that the cache is in effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from avataradam.domain.model import Role
from avataradam.domain.usecases.users import NewUser
from avataradam.entrypoints.container import Container
from ops.harness.processes import free_port, wait_until_healthy
from tests.integration.conftest import PASSWORD, problem, service_environment
from tests.support.processes import ServiceProcess


@pytest.fixture(scope="module")
def instances(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    logs = tmp_path_factory.mktemp("two-apis")
    started: list[ServiceProcess] = []
    urls = []
    try:
        for name in ("a", "b"):
            port = free_port()
            env = service_environment(database_url, redis_url) | {
                "AVATARADAM_HTTP_PORT": str(port),
                "AVATARADAM_AUTH_ACCOUNT_CACHE_TTL_S": "300",
            }
            started.append(ServiceProcess(["serve"], env, logs / f"{name}.log").start())
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, started, strict=True):
            wait_until_healthy(url, process)
        yield urls[0], urls[1]
    finally:
        for process in started:
            process.stop()


async def _token(http: httpx.AsyncClient, url: str, email: str) -> dict[str, str]:
    response = await http.post(f"{url}/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_a_change_through_one_instance_is_refused_by_the_other_at_once(
    instances: tuple[str, str], container: Container, pg_pool: asyncpg.Pool
) -> None:
    a, b = instances
    dealership = await container.create_dealership.create(f"Twin {uuid.uuid4().hex[:6]}")
    emails = {role: f"{role}-{uuid.uuid4().hex[:8]}@example.com" for role in ("admin", "user")}
    await container.create_user.create(
        NewUser(email=emails["admin"], password=PASSWORD, role=Role.DEALERSHIP_ADMIN),
        dealership.id,
    )
    user = await container.create_user.create(
        NewUser(email=emails["user"], password=PASSWORD, role=Role.USER), dealership.id
    )
    async with httpx.AsyncClient(timeout=10) as http:
        admin = await _token(http, a, emails["admin"])
        member = await _token(http, a, emails["user"])
        assert (await http.get(f"{b}/v1/users", headers=admin)).status_code == 200
        assert (await http.get(f"{b}/v1/conversations", headers=member)).status_code == 200

        # Behind the API's back (no broadcast): b still serves the state it keeps.
        await pg_pool.execute("UPDATE users SET active = false WHERE id = $1", user.id)
        assert (await http.get(f"{b}/v1/conversations", headers=member)).status_code == 200
        await pg_pool.execute("UPDATE users SET active = true WHERE id = $1", user.id)

        off = await http.delete(f"{a}/v1/users/{user.id}", headers=admin)
        assert off.status_code == 200
        refused = await http.get(f"{b}/v1/conversations", headers=member)
        assert refused.status_code == 401
        assert problem(refused)["code"] == "session_ended"

        admin_id = (await http.get(f"{a}/v1/me", headers=admin)).json()["id"]
        root = await container.create_user.create(
            NewUser(
                email=f"root-{uuid.uuid4().hex[:8]}@example.com",
                password=PASSWORD,
                role=Role.SUPER_ADMIN,
            ),
            None,
        )
        root_headers = await _token(http, a, root.email)
        demoted = await http.patch(
            f"{a}/v1/users/{admin_id}", json={"role": "user"}, headers=root_headers
        )
        assert demoted.status_code == 200
        assert (await http.get(f"{b}/v1/users", headers=admin)).status_code == 403

        gone = await http.delete(f"{a}/v1/dealerships/{dealership.id}", headers=root_headers)
        assert gone.status_code == 200
        assert problem(await http.get(f"{b}/v1/me", headers=admin))["code"] == "session_ended"

"""Manager analytics are read from the replica when one is configured (issue 18), never
from the primary by accident: with the standby's replay paused, a session started on
the primary is missing from the overview, the person view and the knowledge gaps until
the replica replays it. Every analytics read also works on a read-only server (it
writes nothing). The standby is a real streaming replica (ops/drills/pgcluster.py).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from avataradam.adapters.postgres.migrate import apply_migrations
from avataradam.domain.model import Role
from avataradam.domain.usecases.users import NewUser
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import load_settings
from ops.drills.pgcluster import ReplicatedPair
from tests.drills.clusters import require_cluster_tools
from tests.integration.conftest import (
    PASSWORD,
    Account,
    new_tenant,
    service_environment,
    sign_in,
)
from tests.support.asgi import asgi_transport


@pytest.fixture(scope="module")
def replicated() -> Iterator[ReplicatedPair]:
    require_cluster_tools()
    pair = ReplicatedPair.create(synchronous=False)
    try:
        apply_migrations(pair.primary.dsn(pair.database))
        yield pair
    finally:
        pair.drop()


@pytest.fixture
async def api(
    replicated: ReplicatedPair, redis_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Account]]:
    """The API on the pair: writes to the primary, read-only work to the standby (a lag
    of up to two minutes is tolerated, so a paused replay keeps reads there)."""
    environment = service_environment(replicated.primary.dsn(replicated.database), redis_url)
    settings = load_settings(
        environment
        | {
            "AVATARADAM_DATABASE_REPLICA_URL": replicated.standby.dsn(replicated.database),
            "AVATARADAM_DATABASE_REPLICA_MAX_LAG_S": "120",
            "AVATARADAM_DATABASE_REPLICA_STATUS_TTL_S": "0.1",
        },
        env_file=None,
    )
    container = build_container(settings)
    await container.start()
    try:
        email = f"root-{uuid.uuid4().hex[:8]}@example.com"
        await container.create_user.create(
            NewUser(email=email, password=PASSWORD, role=Role.SUPER_ADMIN), None
        )
        transport = asgi_transport(create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, await sign_in(http, email, None)
    finally:
        await container.close()


async def _eventually(read: Callable[[], Awaitable[Any]], expected: Any) -> None:
    deadline = time.monotonic() + 30
    while (value := await read()) != expected:
        assert time.monotonic() < deadline, f"still {value!r}, expected {expected!r}"
        await asyncio.sleep(0.2)


async def test_analytics_read_the_replica_not_the_primary(
    api: tuple[httpx.AsyncClient, Account], replicated: ReplicatedPair
) -> None:
    client, super_admin = api
    tenant = await new_tenant(client, super_admin)
    admin, user = tenant.admin.headers, tenant.user.headers

    async def started() -> int:
        overview = await client.get("/v1/analytics/overview", headers=admin)
        assert overview.status_code == 200, overview.text
        person = await client.get(f"/v1/analytics/users/{tenant.user.id}", headers=admin)
        assert person.status_code == 200, person.text
        assert overview.json()["sessions_started"] == person.json()["sessions_started"]
        return int(overview.json()["sessions_started"])

    async def start_roleplay() -> None:
        response = await client.post(
            "/v1/conversations", json={"mode": "roleplay", "scenario_id": "skeptical"}, headers=user
        )
        assert response.status_code == 201, response.text

    await start_roleplay()
    await _eventually(started, 1)  # the replica replayed the first session

    await asyncio.to_thread(replicated.standby.execute, "SELECT pg_wal_replay_pause()")
    try:
        await start_roleplay()
        primary = await asyncpg.connect(replicated.primary.dsn(replicated.database))
        try:
            on_primary = await primary.fetchval(
                "SELECT count(*) FROM conversations WHERE dealership_id = $1",
                uuid.UUID(tenant.dealership_id),
            )
        finally:
            await primary.close()
        assert on_primary == 2
        # Read on the paused standby: the second session is not there yet.
        assert await started() == 1
        for path in (
            "/v1/analytics/knowledge-gaps",
            "/v1/analytics/overview?section=weekly",
            f"/v1/analytics/users/{tenant.user.id}?section=assignments",
        ):
            for accept in ("application/json", "text/csv"):
                read = await client.get(path, headers=admin | {"Accept": accept})
                assert read.status_code == 200, (path, accept, read.text)
    finally:
        await asyncio.to_thread(replicated.standby.execute, "SELECT pg_wal_replay_resume()")
    await _eventually(started, 2)


async def test_a_user_not_yet_on_the_replica_is_read_from_the_primary(
    api: tuple[httpx.AsyncClient, Account], replicated: ReplicatedPair
) -> None:
    """A new trainee's first `GET /v1/me` (and a manager's look at them) must not be a
    404 because asynchronous replication has not brought their row yet."""
    client, super_admin = api
    replicated.standby.execute("SELECT pg_wal_replay_pause()")
    try:
        tenant = await new_tenant(client, super_admin)
        me = await client.get("/v1/me", headers=tenant.user.headers)
        seen = await client.get(f"/v1/users/{tenant.user.id}", headers=tenant.admin.headers)
        on_replica = await asyncpg.connect(replicated.standby.dsn(replicated.database))
        try:
            rows = await on_replica.fetchval(
                "SELECT count(*) FROM users WHERE id = $1", uuid.UUID(tenant.user.id)
            )
        finally:
            await on_replica.close()
    finally:
        replicated.standby.execute("SELECT pg_wal_replay_resume()")

    assert rows == 0, "the replica must not have the user yet, or this proves nothing"
    assert me.status_code == 200, me.text
    assert me.json()["id"] == tenant.user.id
    assert seen.status_code == 200, seen.text

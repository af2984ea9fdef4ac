"""Read/write routing and failover handling of PostgresDatabase and its units of work.

Most tests use the session's PostgreSQL; the lag test builds a real streaming standby
(ops/drills/pgcluster.py) and pauses its replay.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest

from avataradam.adapters.postgres.database import FallbackReason, PostgresDatabase
from avataradam.adapters.postgres.migrate import apply_migrations
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.model import Dealership
from ops.drills.pgcluster import ReplicatedPair
from tests.drills.clusters import require_cluster_tools

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nowhere"


def dealership() -> Dealership:
    now = datetime.now(UTC)
    return Dealership(
        id=uuid4(),
        name="Routing",
        active=True,
        knowledge_base_generation=0,
        created_at=now,
        updated_at=now,
    )


def make_database(
    dsn: str,
    replica_dsn: str | None,
    fallbacks: list[FallbackReason],
    *,
    replica_max_lag_s: float = 10.0,
    replica_status_ttl_s: float = 1.0,
) -> PostgresDatabase:
    return PostgresDatabase(
        dsn,
        replica_dsn=replica_dsn,
        min_size=1,
        max_size=2,
        command_timeout_s=5,
        statement_cache_size=0,
        connect_timeout_s=2,
        on_replica_fallback=fallbacks.append,
        replica_max_lag_s=replica_max_lag_s,
        replica_status_ttl_s=replica_status_ttl_s,
    )


@pytest.fixture
async def started() -> AsyncIterator[list[PostgresDatabase]]:
    databases: list[PostgresDatabase] = []
    yield databases
    for database in databases:
        await database.close()


async def test_a_replica_down_at_start_sends_reads_to_the_primary_and_counts_them(
    database_url: str, started: list[PostgresDatabase]
) -> None:
    fallbacks: list[FallbackReason] = []
    database = make_database(database_url, UNREACHABLE, fallbacks)
    started.append(database)
    await database.start()
    uow = PostgresUnitOfWorkFactory(database)
    created = dealership()
    async with uow() as work:
        await work.dealerships.add(created)
        await work.commit()

    for _ in range(3):
        async with uow(read_only=True) as work:
            assert await work.dealerships.get(created.id) == created

    assert fallbacks == ["replica_down"] * 3
    assert database.fallbacks["replica_down"] == 3
    assert await database.read_pool() is database.primary


async def test_a_healthy_replica_serves_reads_without_fallback(
    database_url: str, started: list[PostgresDatabase]
) -> None:
    fallbacks: list[FallbackReason] = []
    database = make_database(database_url, database_url, fallbacks)
    started.append(database)
    await database.start()

    status = await database.replication_status(fresh=True)

    assert status.available
    assert status.lag_s == 0.0
    assert await database.read_pool() is database.replica
    assert database.replica is not database.primary
    assert fallbacks == []


async def test_writes_to_a_read_only_server_are_unavailable_not_programming_errors(
    database_url: str, started: list[PostgresDatabase]
) -> None:
    """A primary pool that reaches a read-only (demoted) server: 503, not 500."""
    read_only_dsn = f"{database_url}?default_transaction_read_only=on"
    database = make_database(read_only_dsn, None, [])
    started.append(database)
    await database.start()

    async def write() -> None:
        async with PostgresUnitOfWorkFactory(database)() as work:
            await work.dealerships.add(dealership())
            await work.commit()

    with pytest.raises(DependencyUnavailable):
        await write()


async def test_sqlstate_25006_inside_a_write_is_not_replayed_and_surfaces_as_unavailable(
    database_url: str, started: list[PostgresDatabase]
) -> None:
    database = make_database(database_url, None, [])
    started.append(database)
    await database.start()
    uow = PostgresUnitOfWorkFactory(database)
    lost = dealership()

    async def write_after_the_server_turned_read_only() -> None:
        async with uow() as work:
            assert work._connection is not None
            await work._connection.execute("SET TRANSACTION READ ONLY")
            await work.dealerships.add(lost)
            await work.commit()

    with pytest.raises(DependencyUnavailable) as raised:
        await write_after_the_server_turned_read_only()

    assert raised.value.details["dependency"] == "postgres"
    async with uow(read_only=True) as work:
        assert await work.dealerships.get(lost.id) is None


async def test_connections_killed_by_the_server_are_replaced_without_an_error(
    database_url: str, pg_pool: asyncpg.Pool, started: list[PostgresDatabase]
) -> None:
    database = make_database(database_url, None, [])
    started.append(database)
    await database.start()
    uow = PostgresUnitOfWorkFactory(database)
    async with uow() as work:
        assert work._connection is not None
        backend = await work._connection.fetchval("SELECT pg_backend_pid()")

    assert await pg_pool.fetchval("SELECT pg_terminate_backend($1)", backend)
    created = dealership()
    async with uow() as work:
        await work.dealerships.add(created)
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.dealerships.get(created.id) == created


@pytest.fixture(scope="module")
def replicated() -> Iterator[ReplicatedPair]:
    require_cluster_tools()
    pair = ReplicatedPair.create(synchronous=False)
    try:
        apply_migrations(pair.primary.dsn(pair.database))
        yield pair
    finally:
        pair.drop()


async def test_reads_leave_a_lagging_replica_and_come_back_when_it_catches_up(
    replicated: ReplicatedPair, started: list[PostgresDatabase]
) -> None:
    fallbacks: list[FallbackReason] = []
    database = make_database(
        replicated.primary.dsn(replicated.database),
        replicated.standby.dsn(replicated.database),
        fallbacks,
        replica_max_lag_s=0.5,
        replica_status_ttl_s=0.1,
    )
    started.append(database)
    await database.start()
    uow = PostgresUnitOfWorkFactory(database)
    assert await database.read_pool() is database.replica

    await asyncio.to_thread(replicated.standby.execute, "SELECT pg_wal_replay_pause()")
    try:
        created = dealership()
        async with uow() as work:
            await work.dealerships.add(created)
            await work.commit()
        await asyncio.sleep(1.0)
        status = await database.replication_status(fresh=True)
        assert status.lag_s is not None
        assert status.lag_s > 0.5
        async with uow(read_only=True) as work:
            # On the primary: the paused replica has not replayed this row yet.
            assert await work.dealerships.get(created.id) == created
        assert fallbacks == ["replica_lagging"]
    finally:
        await asyncio.to_thread(replicated.standby.execute, "SELECT pg_wal_replay_resume()")

    deadline = time.monotonic() + 10
    while await database.read_pool() is not database.replica:
        assert time.monotonic() < deadline, "reads never returned to the caught-up replica"
        await asyncio.sleep(0.1)
    async with uow(read_only=True) as work:
        assert await work.dealerships.get(created.id) == created

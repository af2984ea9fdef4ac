"""PostgresDatabase: pools, health pings and the errors an unreachable server gives."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest

from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.model import Dealership


def database(dsn: str, replica_dsn: str | None = None) -> PostgresDatabase:
    return PostgresDatabase(
        dsn,
        replica_dsn=replica_dsn,
        min_size=1,
        max_size=2,
        command_timeout_s=5,
        statement_cache_size=0,
    )


async def test_ping_answers_for_primary_and_replica(contract_database_url: str) -> None:
    db = database(contract_database_url, replica_dsn=contract_database_url)
    await db.start()
    try:
        await db.ping()
        await db.ping(replica=True)
        assert db.replica is not db.primary
    finally:
        await db.close()


async def test_replica_falls_back_to_primary_when_not_configured(
    contract_database_url: str,
) -> None:
    db = database(contract_database_url)
    await db.start()
    try:
        assert db.replica is db.primary
        await db.ping(replica=True)
    finally:
        await db.close()


async def test_unreachable_server_is_dependency_unavailable(contract_database_url: str) -> None:
    db = database("postgresql://postgres@127.0.0.1:1/nowhere")
    with pytest.raises(DependencyUnavailable):
        await db.start()


async def test_connections_go_back_to_the_pool_after_failures(contract_database_url: str) -> None:
    db = database(contract_database_url)
    await db.start()
    uow = PostgresUnitOfWorkFactory(db)
    now = datetime.now(UTC)

    async def fail_inside_a_unit_of_work() -> None:
        async with uow() as work:
            await work.dealerships.add(
                Dealership(
                    id=uuid4(),
                    name="x",
                    active=True,
                    knowledge_base_generation=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            raise RuntimeError("handler failed")

    try:
        for _ in range(5):  # more than max_size: a leaked connection would hang here
            with pytest.raises(RuntimeError):
                await fail_inside_a_unit_of_work()
        async with asyncio.timeout(5), uow(read_only=True) as work:
            assert await work.dealerships.list_page(cursor=None, limit=1) is not None
    finally:
        await db.close()


async def test_a_released_connection_never_carries_an_open_transaction(
    contract_database_url: str,
) -> None:
    """The pool skips asyncpg's session reset query, but not the rollback on release."""
    db = database(contract_database_url)
    await db.start()
    try:
        pool = db.primary
        async with pool.acquire() as connection:
            first_pid = connection.get_server_pid()
            await connection.execute("BEGIN")
            await connection.execute("CREATE TEMP TABLE leaked_by_an_open_transaction (x int)")
        async with pool.acquire() as connection:
            assert connection.get_server_pid() == first_pid  # the same session, reused
            assert not connection.is_in_transaction()
            leaked = await connection.fetchval(
                "SELECT to_regclass('pg_temp.leaked_by_an_open_transaction')"
            )
            assert leaked is None
    finally:
        await db.close()


async def test_close_terminates_a_pool_whose_connection_is_never_given_back(
    contract_database_url: str,
) -> None:
    db = PostgresDatabase(
        contract_database_url,
        min_size=1,
        max_size=2,
        command_timeout_s=5,
        statement_cache_size=0,
        close_timeout_s=0.5,
    )
    await db.start()
    pool = db.primary
    held = await pool.acquire()  # a stuck task's connection, never released

    await asyncio.wait_for(db.close(), 5)

    assert pool.is_closing()
    with pytest.raises(asyncpg.InterfaceError):  # its connection was closed under it
        await held.fetchval("SELECT 1")

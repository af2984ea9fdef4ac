"""Contract-suite fixtures: every `Cache` adapter (reachable or not), and the PostgreSQL
adapters behind PgBouncer in transaction mode.

A PgBouncer of Debian's package (`ops/install-pgbouncer.sh`) is started for the session
with its own config, port and directory, pointing at the test server; the pool on it
runs with `statement_cache_size=0`, as a deployment behind a transaction pooler must.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from avataradam.adapters.memory.cache import InMemoryCache
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.adapters.redis.cache import RedisCache
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import Cache
from ops.harness.services import FreshDatabase, PrivatePgBouncer
from tests.conftest import ADMIN_DSN, IN_CI, require_service


@pytest.fixture(scope="session")
def contract_database_url() -> Iterator[str]:
    """A migrated database of the contract tests' own, dropped afterwards. Not the
    session's `database_url`: a real worker of the integration tests works on that one
    (in the same session under pytest-xdist), and its reconciler would take up what a
    contract test leaves behind on purpose (an expired processing lease, say)."""
    require_service(ADMIN_DSN, 5432, "PostgreSQL")
    database = FreshDatabase(ADMIN_DSN, prefix="avataradam_test").create()
    yield database.url
    database.drop()


@pytest.fixture(scope="session")
def pgbouncer_url(contract_database_url: str) -> Iterator[str]:
    """The test database, reached through a transaction-mode PgBouncer."""
    if not PrivatePgBouncer.installed():
        message = "pgbouncer is not installed (bash ops/install-pgbouncer.sh)"
        if IN_CI:
            pytest.fail(f"{message}, and CI=true forbids skipping")
        pytest.skip(message)
    server = urlsplit(contract_database_url)
    bouncer = PrivatePgBouncer(server.hostname or "127.0.0.1", server.port or 5432)
    try:
        bouncer.start()
        yield bouncer.url(server.path.lstrip("/"), server.username or "postgres")
    finally:
        bouncer.stop()


@pytest.fixture(scope="session")
async def pgbouncer_database(pgbouncer_url: str) -> AsyncIterator[PostgresDatabase]:
    database = PostgresDatabase(
        pgbouncer_url, min_size=1, max_size=10, command_timeout_s=30, statement_cache_size=0
    )
    await database.start()
    yield database
    await database.close()


@pytest.fixture(scope="session")
async def postgres_database(contract_database_url: str) -> AsyncIterator[PostgresDatabase]:
    database = PostgresDatabase(
        contract_database_url,
        min_size=1,
        max_size=10,
        command_timeout_s=30,
        statement_cache_size=100,
    )
    await database.start()
    yield database
    await database.close()


@pytest.fixture(params=["memory", "postgres", "pgbouncer"])
def uow(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "memory":
        return InMemoryUnitOfWorkFactory(InMemoryStore())
    # pgbouncer: the same database through transaction pooling (pgbouncer_database above)
    database: PostgresDatabase = request.getfixturevalue(f"{request.param}_database")
    return PostgresUnitOfWorkFactory(database)


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    """Each `Cache` adapter: Redis and the in-memory twin."""
    if request.param == "memory":
        yield InMemoryCache()
        return
    client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisCache(client)
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def unreachable_cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    """Each `Cache` adapter while its store is down: every call raises CacheUnavailable."""
    if request.param == "memory":
        cache = InMemoryCache()
        cache.available = False
        yield cache
        return
    client = aioredis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    yield RedisCache(client)
    await client.aclose()

"""Contract-suite fixtures: every `Cache` adapter (reachable or not), and the PostgreSQL
adapters behind PgBouncer in transaction mode.

A PgBouncer of Debian's package (`ops/install-pgbouncer.sh`) is started for the session
with its own config, port and directory, pointing at the test server; the pool on it
runs with `statement_cache_size=0`, as a deployment behind a transaction pooler must.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
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
from ops.harness.processes import free_port, spawn
from ops.harness.services import FreshDatabase
from tests.conftest import ADMIN_DSN, IN_CI, require_service

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _config(directory: Path, port: int, server_host: str, server_port: int) -> str:
    return f"""\
[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 20
ignore_startup_parameters = extra_float_digits,options
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
admin_users = postgres
"""


def _wait_until_serving(dsn: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with psycopg.connect(dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        else:
            return


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
    if not Path(PGBOUNCER).exists():
        message = "pgbouncer is not installed (bash ops/install-pgbouncer.sh)"
        if IN_CI:
            pytest.fail(f"{message}, and CI=true forbids skipping")
        pytest.skip(message)
    server = urlsplit(contract_database_url)
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="avataradam-pgbouncer-"))
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    config = directory / "pgbouncer.ini"
    config.write_text(_config(directory, port, server.hostname or "127.0.0.1", server.port or 5432))
    command = [PGBOUNCER, str(config)]
    # pgbouncer refuses to run as root; it drops to the postgres user, who must own its files.
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        for path in directory.iterdir():
            shutil.chown(path, "postgres")
        command = [PGBOUNCER, "-u", "postgres", str(config)]
    process = spawn(command, label="pgbouncer", stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = urlunsplit(server._replace(netloc=f"{server.username or 'postgres'}@127.0.0.1:{port}"))
    try:
        _wait_until_serving(url, process, directory / "pgbouncer.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


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

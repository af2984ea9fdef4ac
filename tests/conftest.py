"""Shared fixtures: a throwaway PostgreSQL database per session, Redis, service checks.

Real services are skipped locally when absent, but under CI=true their absence fails
the run (a skip must never hide a missing service in CI). A run that leaves any process
it started alive fails too (`pytest_sessionfinish` below).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import asyncpg
import pytest

from ops.harness import processes
from ops.harness.services import FreshDatabase
from tests.support.deployment import (  # noqa: F401 -- registered once here, for every package
    _password_never_logged,
    client,
    container,
    other_tenant,
    settings,
    super_admin,
    tenant,
    worker,
    worker_env,
)
from tests.support.s3 import s3_server  # noqa: F401 -- one S3 server per session, for every package

ADMIN_DSN = os.environ.get(
    "AVATARADAM_TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# pytest-xdist runs the suite in worker processes (`gw0`, `gw1`, …), each a session of
# its own: its own database (`database_url`), Redis database and run mark.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _worker_redis_url(url: str) -> str:
    """`url` for this xdist worker: the Redis database numbered down from `url`'s by the
    worker's index (gw0 keeps it), so two sessions never share queues or keys."""
    if not XDIST_WORKER:
        return url
    parts = urlsplit(url)
    index = int(XDIST_WORKER.removeprefix("gw"))
    database = int(parts.path.strip("/") or 0) - index
    if database < 0:
        raise RuntimeError(f"no Redis database left for xdist worker {XDIST_WORKER}")
    return parts._replace(path=f"/{database}").geturl()


REDIS_URL = _worker_redis_url(
    os.environ.get("AVATARADAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_sessionstart(session: pytest.Session) -> None:
    if XDIST_WORKER:
        # The controller's mark is inherited: each worker marks (and checks) its own.
        os.environ.pop(processes.RUN_MARK, None)
    processes.mark_run()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> Iterator[None]:
    """After every fixture's teardown (the inner hooks), before the summary: fails the
    run if a process it started (API, worker, their children, redis-server, PgBouncer,
    PostgreSQL cluster, ...) is still alive, and kills it."""
    yield
    if not XDIST_WORKER and getattr(session.config.option, "numprocesses", None):
        return  # xdist's controller: each worker checks what it started (its own mark)
    left = processes.leftovers()
    if not left:
        return
    processes.kill_all(left)
    lines = [f"pid {p.pid} ({p.why}): {p.command}" for p in left]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "processes left running by this run (now killed)", red=True)
        for line in lines:
            reporter.write_line(line, red=True)
    else:
        print("processes left running by this run:", *lines, sep="\n", file=sys.stderr)  # noqa: T201
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def require_service(url: str, default_port: int, name: str) -> None:
    if _reachable(url, default_port):
        return
    if IN_CI:
        pytest.fail(f"{name} at {url} is not reachable, and CI=true forbids skipping")
    pytest.skip(f"{name} at {url} is not reachable")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, migrated database for this test session, dropped afterwards."""
    require_service(ADMIN_DSN, 5432, "PostgreSQL")
    database = FreshDatabase(ADMIN_DSN, prefix="avataradam_test").create()
    yield database.url
    database.drop()


@pytest.fixture(scope="session")
async def pg_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=5)
    assert pool is not None
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    require_service(REDIS_URL, 6379, "Redis")
    return REDIS_URL


@pytest.fixture
def new_database() -> Iterator[str]:
    """An empty (unmigrated) database for tests of the migrations themselves."""
    require_service(ADMIN_DSN, 5432, "PostgreSQL")
    database = FreshDatabase(ADMIN_DSN, prefix="avataradam_test").create(migrate=False)
    yield database.url
    database.drop()

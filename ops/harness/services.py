"""Throwaway services of a test run, a drill or a benchmark: a fresh PostgreSQL database
and a private `redis-server`."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from avataradam.adapters.postgres.migrate import apply_migrations
from ops.harness.processes import free_port, spawn

ADMIN_DSN = os.environ.get(
    "DRILL_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
"""A superuser connection to the machine's PostgreSQL, which databases are made on."""


class PrivateRedis:
    """`redis-server` without persistence on a free port; `restart` loses everything.

    The private Redis of the drills, the benchmark and the guide's executed examples.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10) -> Self:
        self.popen = spawn(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            label=f"redis-server :{self.port}",
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def flushdb(self) -> None:
        client = redis.Redis.from_url(self.url)
        try:
            client.flushdb()
        finally:
            client.close()

    def shutdown_nosave(self) -> None:
        """SHUTDOWN NOSAVE: the server exits and every queued message is gone."""
        client = redis.Redis(port=self.port)
        try:
            client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it exits
        finally:
            client.close()
        if self.popen is not None:
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)


class FreshDatabase:
    """`<prefix>_<random>` on the machine's PostgreSQL, migrated unless told otherwise by
    `create`; `drop` drops it WITH FORCE. The session database of the tests and the
    fresh database of the drills, the benchmark and the guide's executed examples."""

    def __init__(self, admin_dsn: str = ADMIN_DSN, prefix: str = "avataradam_drill") -> None:
        self.admin_dsn = admin_dsn
        self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.url = urlunsplit(urlsplit(admin_dsn)._replace(path="/" + self.name))

    def create(self, *, migrate: bool = True) -> Self:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        if migrate:
            apply_migrations(self.url)
        return self

    def drop(self) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

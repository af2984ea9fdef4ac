"""Throwaway services of a test run, a drill or a benchmark: a fresh PostgreSQL database,
a private `redis-server`, a private PgBouncer and a private S3-compatible server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import httpx
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


class PrivateS3:
    """moto's standalone S3-compatible server (`moto_server`, a real HTTP server speaking
    the S3 protocol) on a free port, its objects in memory: `stop` loses them all.

    The object store of the blob contract suite and of the S3 deployment tests.
    """

    ACCESS_KEY_ID = "avataradam-test-key-id"
    SECRET_ACCESS_KEY = "avataradam-test-secret-access-key"  # noqa: S105 -- a local throwaway server's
    REGION = "us-east-1"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30) -> Self:
        self.popen = spawn(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            label=f"moto_server :{self.port}",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.popen.returncode}")
            try:
                if httpx.get(f"{self.endpoint_url}/moto-api/", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"moto_server did not start on port {self.port}")

    def create_bucket(self, name: str) -> None:
        """Creates `name` through the S3 API itself (`CreateBucket`)."""
        from botocore.session import get_session  # noqa: PLC0415 -- only where one runs

        client = get_session().create_client(
            "s3",
            region_name=self.REGION,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.ACCESS_KEY_ID,
            aws_secret_access_key=self.SECRET_ACCESS_KEY,
        )
        try:
            client.create_bucket(Bucket=name)  # type: ignore[attr-defined]  # botocore builds its methods at run time
        finally:
            client.close()

    def environment(self, bucket: str) -> dict[str, str]:
        """AVATARADAM_* variables of a deployment keeping its blobs in `bucket` here."""
        return {
            "AVATARADAM_BLOBS_BACKEND": "s3",
            "AVATARADAM_BLOBS_S3_BUCKET": bucket,
            "AVATARADAM_BLOBS_S3_REGION": self.REGION,
            "AVATARADAM_BLOBS_S3_ENDPOINT_URL": self.endpoint_url,
            "AVATARADAM_BLOBS_S3_ACCESS_KEY_ID": self.ACCESS_KEY_ID,
            "AVATARADAM_BLOBS_S3_SECRET_ACCESS_KEY": self.SECRET_ACCESS_KEY,
        }

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)


PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

_PGBOUNCER_INI = """\
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


class PrivatePgBouncer:
    """Debian's `pgbouncer` in transaction mode on a free port, in front of one server,
    with its own configuration and directory (`ops/install-pgbouncer.sh` installs it).

    Clients behind it need `statement_cache_size=0` (asyncpg). `url(database)` reaches
    a database of the server through it.
    """

    def __init__(self, server_host: str, server_port: int, port: int | None = None) -> None:
        self.server_host = server_host
        self.server_port = server_port
        self.port = port or free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="avataradam-pgbouncer-"))
        self.popen: subprocess.Popen[bytes] | None = None

    @staticmethod
    def installed() -> bool:
        return Path(PGBOUNCER).exists()

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout_s: float = 15, *, server_up: bool = True) -> Self:
        """Starts it and waits until it serves a query (`server_up`), or only until it
        listens (its server may be down: a pooler restarted before its database)."""
        (self.directory / "userlist.txt").write_text('"postgres" ""\n')
        config = self.directory / "pgbouncer.ini"
        config.write_text(
            _PGBOUNCER_INI.format(
                directory=self.directory,
                port=self.port,
                server_host=self.server_host,
                server_port=self.server_port,
            )
        )
        command = [PGBOUNCER, str(config)]
        # pgbouncer refuses to run as root; it drops to the postgres user, who must own its files.
        if os.geteuid() == 0:
            for path in (self.directory, *self.directory.iterdir()):
                shutil.chown(path, "postgres")
            command = [PGBOUNCER, "-u", "postgres", str(config)]
        self.popen = spawn(
            command,
            label=f"pgbouncer :{self.port}",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            if server_up:
                self._wait_until_serving(timeout_s)
            else:
                self._wait_until_listening(timeout_s)
        except BaseException:
            self.stop()  # never leave a pooler behind that nobody holds
            raise
        return self

    def _wait_until_listening(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.log()[-2000:]}")
            with socket.socket() as sock:
                sock.settimeout(0.5)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer is not listening on {self.port}")
            time.sleep(0.05)

    def _wait_until_serving(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.log()[-2000:]}")
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
            else:
                return

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the pooler dies with the host it ran on."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)

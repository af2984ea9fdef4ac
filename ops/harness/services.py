"""Throwaway services of a test run, a drill or a benchmark: a fresh PostgreSQL database,
a private `redis-server` and a private S3-compatible server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
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

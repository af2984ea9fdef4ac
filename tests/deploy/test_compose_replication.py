"""The streaming replica of compose.yaml, for real: deploy/compose/postgres/primary-init.sh
runs against a primary and replica-entrypoint.sh clones it and runs the standby, with
this machine's Debian PostgreSQL binaries in place of the postgres image (the scripts
call the same programs: psql, pg_isready, pg_basebackup, postgres). Both servers are
throwaway, on their own ports, run as the `postgres` user (PostgreSQL refuses root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ops.drills.pgcluster import pg_version
from ops.harness.processes import free_port, spawn, stop_group
from tests.deploy.support import COMPOSE_DIR

PG_BIN = Path("/usr/lib/postgresql") / pg_version() / "bin"
RUNUSER = "/usr/sbin/runuser"
REPLICATION_PASSWORD = "replication-password-for-the-test"


def _as_postgres(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [RUNUSER, "-u", "postgres", "--", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _wait_for(dsn: str, query: str, *, expected: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(dsn, connect_timeout=2, autocommit=True) as conn:
                row = conn.execute(query).fetchone()
                last = row[0] if row else None
                if last == expected:
                    return
        except psycopg.Error as exc:  # not up yet, or the table not replayed yet
            last = exc
        time.sleep(0.2)
    pytest.fail(f"{query!r} on {dsn} gave {last!r}, not {expected!r}, within {timeout_s} s")


def _readable(directory: Path, script: str) -> Path:
    """A copy of a deploy/compose/postgres script the `postgres` user can read: the
    checkout may lie under a directory only root may enter (a `mktemp -d` clone)."""
    copy = directory / script
    shutil.copyfile(COMPOSE_DIR / "postgres" / script, copy)
    shutil.chown(copy, "postgres", "postgres")
    return copy


@pytest.fixture
def directory() -> Iterator[Path]:
    """A directory the `postgres` user owns (pytest's tmp_path is root's alone)."""
    assert os.geteuid() == 0, "runs PostgreSQL as the postgres user: needs root, as CI has"
    path = Path(tempfile.mkdtemp(prefix="avataradam-replica-test-"))
    shutil.chown(path, "postgres", "postgres")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_replica_entrypoint_clones_the_primary_and_streams_its_writes(directory: Path) -> None:
    environment = {"PATH": f"{PG_BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    primary_data, replica_data = directory / "primary", directory / "replica"
    primary_port, replica_port = free_port(), free_port()
    # Throwaway servers: nothing is flushed to disk (the test's time is the machine's).
    server_options = ["-k", str(directory), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
    # As the postgres image initialises its data directory: password (SCRAM) over TCP.
    _as_postgres(
        [
            "initdb",
            "--pgdata",
            str(primary_data),
            "--username",
            "postgres",
            "--auth-local",
            "trust",
            "--auth-host",
            "scram-sha-256",
            "--no-sync",
        ],
        environment,
    )
    primary = spawn(
        [
            *(RUNUSER, "-u", "postgres", "--", str(PG_BIN / "postgres")),
            *("-D", str(primary_data), "-p", str(primary_port), "-c", "wal_level=replica"),
            *server_options,
        ],
        label="test primary",
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    replica: subprocess.Popen[bytes] | None = None
    try:
        local = f"host={directory} user=postgres dbname=postgres"
        _wait_for(f"{local} port={primary_port}", "SELECT 1", expected=1)
        _as_postgres(
            ["bash", str(_readable(directory, "primary-init.sh"))],
            {
                **environment,
                "PGHOST": str(directory),
                "PGPORT": str(primary_port),
                "PGDATA": str(primary_data),
                "POSTGRES_USER": "postgres",
                "POSTGRES_DB": "postgres",
                "POSTGRES_REPLICATION_PASSWORD": REPLICATION_PASSWORD,
            },
        )
        _wait_for(f"{local} port={primary_port}", "SELECT pg_reload_conf()", expected=True)

        replica = spawn(
            [
                *(RUNUSER, "-u", "postgres", "--", "bash"),
                str(_readable(directory, "replica-entrypoint.sh")),
                *("-p", str(replica_port), *server_options),
            ],
            label="test replica",
            env={
                **environment,
                "PGDATA": str(replica_data),
                "PRIMARY_HOST": "127.0.0.1",
                "PRIMARY_PORT": str(primary_port),
                "PGPASSWORD": REPLICATION_PASSWORD,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(f"{local} port={replica_port}", "SELECT pg_is_in_recovery()", expected=True)
        slot = "SELECT active FROM pg_replication_slots WHERE slot_name = 'replica'"
        _wait_for(f"{local} port={primary_port}", slot, expected=True)
        with psycopg.connect(f"{local} port={primary_port}", autocommit=True) as conn:
            conn.execute("CREATE TABLE replicated (value int)")
            conn.execute("INSERT INTO replicated VALUES (42)")

        _wait_for(f"{local} port={replica_port}", "SELECT max(value) FROM replicated", expected=42)
    finally:
        for server in (replica, primary):
            if server is not None:
                stop_group(server, 30, whole_group=True)

"""A pg_auto_failover formation (monitor + two nodes) for drills and tests, driven
through `ops/failover/formation.sh`, which makes and runs it.

The script starts each member's `pg_autoctl run` keeper in a session of its own, so
that a member's keeper, its services and its PostgreSQL form one process group whose
id the script records (`<dir>/pids/<member>.pid`): `kill` SIGKILLs that group and any
process working in the member's data directory, which is every process of the node.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import psutil
import psycopg

from ops.drills.pgcluster import kill_processes
from ops.harness.processes import free_port, mark_run, track_group

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ops" / "failover" / "formation.sh"
NODES = ("node_1", "node_2")
BASH = shutil.which("bash") or "/bin/bash"


def tools_available() -> bool:
    """Whether formations can be made here: Debian's PostgreSQL server, root (to run
    the keepers as the postgres user), and apt-get when pg_autoctl is missing."""
    return (
        Path("/usr/lib/postgresql").is_dir()
        and os.geteuid() == 0
        and (shutil.which("pg_autoctl") is not None or shutil.which("apt-get") is not None)
    )


@dataclass(frozen=True)
class MemberState:
    name: str
    port: int
    reported: str
    goal: str


@dataclass(frozen=True)
class Event:
    at: datetime
    node: str
    reported: str
    goal: str
    description: str


@dataclass(frozen=True)
class Kill:
    processes: int
    """How many processes died."""
    at: float
    """`time.monotonic()` just before the first signal."""
    wall: datetime
    """The same moment on the wall clock (the monitor's events are stamped with it)."""


class Formation:
    """`formation.sh` on a directory of its own and three spare ports."""

    def __init__(self, directory: Path | None = None, database: str = "avataradam") -> None:
        self.directory = directory or Path(tempfile.mkdtemp(prefix="avataradam-failover-"))
        self.database = database
        ports_file = self.directory / "ports"
        if ports_file.exists():
            monitor, first, second = (int(p) for p in ports_file.read_text().split())
        else:
            monitor, first, second = free_port(), free_port(), free_port()
        self.monitor_port = monitor
        self.ports = {NODES[0]: first, NODES[1]: second}

    def _script(self, *args: str, timeout_s: float = 300) -> str:
        mark_run()  # the keepers inherit the run's mark: a leftover one is found
        env = {
            **os.environ,
            "AVATARADAM_FAILOVER_DIR": str(self.directory),
            "AVATARADAM_FAILOVER_PORTS": f"{self.monitor_port} {self.ports[NODES[0]]} "
            f"{self.ports[NODES[1]]}",
            "AVATARADAM_FAILOVER_DATABASE": self.database,
        }
        with tempfile.TemporaryFile() as output:  # a file: keepers inherit the descriptors
            result = subprocess.run(  # noqa: S603 -- the project's own script
                [BASH, str(SCRIPT), *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
            )
            output.seek(0)
            text = output.read().decode(errors="replace")
        if result.returncode != 0:
            raise RuntimeError(f"formation.sh {' '.join(args)} failed: {text[-3000:]}")
        return text

    def up(self) -> Self:
        """Makes the formation and waits for a primary and a synchronous secondary."""
        try:
            self._script("up")
        finally:
            self._track()
        return self

    def down(self, keep_logs: Path | None = None) -> None:
        """Stops every member and deletes the directory; its logs (keepers' and
        PostgreSQL's) are copied to `keep_logs` first when given."""
        if keep_logs is not None:
            shutil.copytree(self.directory / "logs", keep_logs / "keepers", dirs_exist_ok=True)
            for name in ("monitor", *NODES):
                postgres_logs = self.directory / name / "log"
                if postgres_logs.is_dir():
                    shutil.copytree(postgres_logs, keep_logs / name, dirs_exist_ok=True)
        self._script("down")

    def start(self, name: str) -> None:
        """Starts a member's keeper again (a killed node rejoins as a secondary)."""
        self._script("start", name)
        self._track()

    def wait_healthy(self, timeout_s: float = 120) -> None:
        self._script("wait", str(int(timeout_s)), timeout_s=timeout_s + 30)

    def _track(self) -> None:
        for name in ("monitor", *NODES):
            pgid = self.keeper_pid(name)
            if pgid is not None:
                track_group(pgid, f"pg_autoctl {name}")

    def keeper_pid(self, name: str) -> int | None:
        try:
            return int((self.directory / "pids" / f"{name}.pid").read_text())
        except (OSError, ValueError):
            return None

    def uri(self, attrs: str = "read-write", database: str | None = None) -> str:
        hosts = ",".join(f"127.0.0.1:{self.ports[name]}" for name in NODES)
        return (
            f"postgresql://postgres@{hosts}/{database or self.database}"
            f"?target_session_attrs={attrs}"
        )

    def node_dsn(self, name: str, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports[name]}/{database}"

    def _monitor(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            f"postgresql://autoctl_node@127.0.0.1:{self.monitor_port}/pg_auto_failover",
            autocommit=True,
            connect_timeout=5,
        )

    def state(self) -> list[MemberState]:
        with self._monitor() as conn:
            rows = conn.execute(
                "SELECT nodename, nodeport, reportedstate::text, goalstate::text"
                " FROM pgautofailover.node ORDER BY nodeid"
            ).fetchall()
        return [MemberState(str(n), int(str(p)), str(r), str(g)) for n, p, r, g in rows]

    def primary(self) -> str:
        """The node the monitor holds as primary (reported and goal)."""
        for member in self.state():
            if member.reported == member.goal == "primary":
                return member.name
        raise RuntimeError(f"no primary: {self.state()}")

    def other(self, name: str) -> str:
        return NODES[1] if name == NODES[0] else NODES[0]

    def events_since(self, moment: datetime) -> list[Event]:
        with self._monitor() as conn:
            rows = conn.execute(
                "SELECT eventtime, nodename, reportedstate::text, goalstate::text, description"
                " FROM pgautofailover.event WHERE eventtime >= %s ORDER BY eventid",
                (moment,),
            ).fetchall()
        return [
            Event(at, str(node), str(reported), str(goal), str(description))
            for at, node, reported, goal, description in rows
            if isinstance(at, datetime)
        ]

    def monitor_settings(self) -> dict[str, str]:
        """The monitor's `pgautofailover.*` settings as it runs with them."""
        with self._monitor() as conn:
            rows = conn.execute(
                "SELECT name, setting || coalesce(' ' || unit, '') FROM pg_settings"
                " WHERE name LIKE 'pgautofailover.%' ORDER BY name"
            ).fetchall()
        return {str(name): str(value) for name, value in rows}

    def keeper_setting(self, name: str, key: str) -> str:
        """A keeper's configuration value (`timeout.network_partition_timeout`, ...)."""
        config = next((self.directory / "home" / "config").rglob(f"{name}/pg_autoctl.cfg"))
        section, _, option = key.partition(".")
        current = ""
        for line in config.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("["):
                current = stripped.strip("[]")
            elif current == section and stripped.partition("=")[0].strip() == option:
                return stripped.partition("=")[2].strip()
        raise KeyError(key)

    def synchronous(self, name: str) -> bool:
        """Whether `name` is a primary committing only once a standby has the WAL."""
        with psycopg.connect(self.node_dsn(name), autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT current_setting('synchronous_standby_names') <> ''"
                " AND current_setting('synchronous_commit') IN ('on', 'remote_apply')"
                " AND EXISTS (SELECT 1 FROM pg_stat_replication"
                "             WHERE sync_state IN ('sync', 'quorum'))"
            ).fetchone()
        return bool(row and row[0])

    def writable(self, name: str) -> bool:
        """Whether `name` accepts writes now (what target_session_attrs=read-write asks)."""
        try:
            with psycopg.connect(self.node_dsn(name), autocommit=True, connect_timeout=1) as conn:
                row = conn.execute(
                    "SELECT NOT pg_is_in_recovery()"
                    " AND current_setting('default_transaction_read_only') = 'off'"
                ).fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0])

    def processes(self, name: str) -> list[int]:
        """Every live process of a member: its keeper's process group (the keeper, its
        services, the postmaster) and every process working in its data directory
        (PostgreSQL's children each make a session of their own, but all of them run
        with the data directory as their working directory)."""
        pgid = self.keeper_pid(name)
        data_dir = str(self.directory / name)
        found: list[int] = []
        for process in psutil.process_iter(["pid", "status", "cwd"]):
            info = process.info
            if info["status"] == psutil.STATUS_ZOMBIE:
                continue
            try:
                in_group = pgid is not None and os.getpgid(info["pid"]) == pgid
            except ProcessLookupError:
                continue
            if in_group or info["cwd"] == data_dir:
                found.append(info["pid"])
        return found

    def kill(self, name: str) -> Kill:
        """SIGKILLs every process of a member at once."""
        pids = self.processes(name)
        at, wall = time.monotonic(), datetime.now(UTC)
        killed = kill_processes(lambda: self.processes(name), name, first=pids)
        return Kill(processes=killed, at=at, wall=wall)

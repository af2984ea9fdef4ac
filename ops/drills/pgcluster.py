"""Throwaway PostgreSQL primary + streaming standby pairs for drills and tests.

Built with Debian's cluster tools (`pg_createcluster`, `pg_ctlcluster`, `pg_basebackup
-R`), on their own ports, never touching the main cluster. Cluster names carry the pid
of the process that made them (`adrill_<pid>_<n>_<role>`), so leftovers of a crashed run
are recognised and removed without disturbing a concurrent run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ops.harness.processes import free_port, track_group

PREFIX = "adrill"
_counter = itertools.count()

_HBA = """\
local all all trust
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
"""


def pg_version() -> str:
    override = os.environ.get("AVATARADAM_DRILL_PG_VERSION")
    if override:
        return override
    versions = sorted(
        (p.name for p in Path("/usr/lib/postgresql").iterdir() if p.name.isdigit()), key=int
    )
    if not versions:
        raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql")
    return versions[-1]


def tools_available() -> bool:
    """Whether this machine can run the drill (Debian cluster tools, root)."""
    return (
        shutil.which("pg_createcluster") is not None
        and Path("/usr/lib/postgresql").is_dir()
        and os.geteuid() == 0
    )


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _run(*command: str, timeout_s: float = 60) -> str:
    """Runs a tool; output goes through a file, not a pipe, because a server it starts
    inherits the descriptors and would hold a pipe open for its whole life."""
    with tempfile.TemporaryFile() as output:
        result = subprocess.run(  # noqa: S603 -- fixed tool names, our own arguments
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
            check=False,
        )
        output.seek(0)
        text = output.read().decode(errors="replace")
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {text}")
    return text


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_processes(
    find: Callable[[], list[int]],
    what: str,
    timeout_s: float = 10,
    *,
    first: list[int] | None = None,
) -> int:
    """SIGKILLs every process `find` lists (`first`, when given, on the first round),
    until it lists none alive; returns how many died. All are stopped (SIGSTOP) before
    any is killed, so that none of them reacts to the death of another (a postmaster
    restarting, a supervisor respawning)."""
    killed: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found, first = (find() if first is None else first), None
        pids = [pid for pid in found if pid not in killed or _pid_alive(pid)]
        if not pids:
            return len(killed)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.05)
    raise RuntimeError(f"processes of {what} survived SIGKILL: {find()}")


@dataclass(frozen=True)
class Node:
    """One cluster: `version/name` on `port`, owned by the postgres user."""

    version: str
    name: str
    port: int

    @property
    def data_dir(self) -> Path:
        return Path("/var/lib/postgresql") / self.version / self.name

    @property
    def conf_dir(self) -> Path:
        return Path("/etc/postgresql") / self.version / self.name

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def ctl(self, action: str, *args: str, timeout_s: float = 60) -> None:
        _run("pg_ctlcluster", self.version, self.name, action, *args, timeout_s=timeout_s)

    def write_config(self, settings: dict[str, str]) -> None:
        (self.conf_dir / "pg_hba.conf").write_text(_HBA)
        conf_d = self.conf_dir / "conf.d"
        conf_d.mkdir(exist_ok=True)
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        (conf_d / "drill.conf").write_text(lines)

    def processes(self) -> list[int]:
        """Every process of this cluster: the postmaster and all its children.

        Children are found both by parent pid and by their process title
        (`postgres: <version>/<name>: …`), so backends orphaned by an earlier kill of
        the postmaster are found too.
        """
        title = f"postgres: {self.version}/{self.name}:".encode()
        data_dir = str(self.data_dir).encode()
        postmaster = self._postmaster_pid()
        found: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                cmdline = (entry / "cmdline").read_bytes()
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if not cmdline:  # zombie: already dead
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            is_postmaster = data_dir in cmdline and b"postgres" in cmdline.split(b"\0")[0]
            if (
                cmdline.startswith(title)
                or is_postmaster
                or (postmaster is not None and parent == postmaster)
            ):
                found.append(pid)
        return found

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def kill_all(self, timeout_s: float = 10) -> int:
        """SIGKILLs the postmaster and every backend at once; returns how many died."""
        return kill_processes(self.processes, self.name, timeout_s)

    def drop(self) -> None:
        """Kills every process, then removes what pg_createcluster made (what
        pg_dropcluster would do, without its seconds of overhead)."""
        self.kill_all()
        for path in (self.data_dir, self.conf_dir):
            shutil.rmtree(path, ignore_errors=True)
        log = Path("/var/log/postgresql") / f"postgresql-{self.version}-{self.name}.log"
        log.unlink(missing_ok=True)

    def start(self) -> None:
        """`pg_ctl start -w` as the postgres user: pg_ctlcluster's wrapper costs ~1 s."""
        _run(
            "runuser",
            "-u",
            "postgres",
            "--",
            f"/usr/lib/postgresql/{self.version}/bin/pg_ctl",
            "start",
            "-w",
            "-D",
            str(self.data_dir),
            "-o",
            f"-c config_file={self.conf_dir / 'postgresql.conf'}",
            "-l",
            f"/var/log/postgresql/postgresql-{self.version}-{self.name}.log",
            timeout_s=60,
        )
        postmaster = self._postmaster_pid()
        if postmaster is not None:  # pg_ctl starts it in a session of its own
            track_group(postmaster, f"postgres {self.name}")

    def execute(self, sql: str, database: str = "postgres") -> None:
        with psycopg.connect(self.dsn(database), autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.encode())

    def fetch_value(self, sql: str, database: str = "postgres") -> object:
        with psycopg.connect(self.dsn(database), autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(sql.encode()).fetchone()
            return None if row is None else row[0]

    def wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.fetch_value("SELECT 1")
            except psycopg.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
            else:
                return


def _empty(directory: Path) -> None:
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _create(version: str, name: str, port: int) -> Node:
    node = Node(version, name, port)
    _run(
        "pg_createcluster",
        version,
        name,
        "--port",
        str(port),
        "--start-conf",
        "manual",
        "--",
        "--auth=trust",
        timeout_s=120,
    )
    return node


_COMMON = {
    "listen_addresses": "'127.0.0.1'",
    "ssl": "off",
    "shared_buffers": "'32MB'",
    "max_connections": "60",
    "wal_level": "replica",
    "max_wal_senders": "5",
    "hot_standby": "on",
    "wal_receiver_status_interval": "'1s'",
    "log_min_messages": "warning",
}


@dataclass
class ReplicatedPair:
    """A primary and one streaming standby made from its base backup.

    With `synchronous`, the primary commits only after the standby has applied the
    WAL (`synchronous_commit = remote_apply`): an acknowledged write survives the loss
    of the primary and is visible on the standby at once.
    """

    primary: Node
    standby: Node
    database: str

    @classmethod
    def create(
        cls,
        *,
        synchronous: bool,
        database: str = "avataradam",
        ports: tuple[int, int] | None = None,
    ) -> ReplicatedPair:
        cleanup_leftovers()
        version = pg_version()
        base = f"{PREFIX}_{os.getpid()}_{next(_counter)}"
        primary_port, standby_port = ports or (free_port(), free_port())
        nodes: list[Node] = []
        try:
            primary = _create(version, f"{base}_primary", primary_port)
            nodes.append(primary)
            primary.write_config(dict(_COMMON))
            primary.start()
            primary.wait_ready()
            primary.execute(f'CREATE DATABASE "{database}"')

            standby = _create(version, f"{base}_standby", standby_port)
            nodes.append(standby)
            standby.write_config(dict(_COMMON))
            _empty(standby.data_dir)  # kept: postgres owns it, not its parent
            _run(
                "runuser",
                "-u",
                "postgres",
                "--",
                "pg_basebackup",
                "-D",
                str(standby.data_dir),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-X",
                "stream",
                "-c",
                "fast",
                "-R",
                timeout_s=120,
            )
            standby.start()
            standby.wait_ready()
            pair = cls(primary, standby, database)
            pair.wait_streaming()
            if synchronous:
                # Only now: with no standby connected, every commit would wait forever.
                primary.write_config(
                    {
                        **_COMMON,
                        "synchronous_standby_names": "'*'",
                        "synchronous_commit": "remote_apply",
                    }
                )
                primary.ctl("reload")
        except BaseException:
            for node in reversed(nodes):
                node.drop()
            raise
        return pair

    def wait_streaming(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        query = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
        while self.primary.fetch_value(query) != 1:
            if time.monotonic() > deadline:
                raise RuntimeError("the standby did not start streaming")
            time.sleep(0.1)

    def primary_dsn(self) -> str:
        """Both nodes, for a pool that must find whichever one accepts writes."""
        return self._multi_host("read-write")

    def replica_dsn(self, attrs: str = "prefer-standby") -> str:
        return self._multi_host(attrs)

    def _multi_host(self, attrs: str) -> str:
        hosts = f"127.0.0.1:{self.primary.port},127.0.0.1:{self.standby.port}"
        return f"postgresql://postgres@{hosts}/{self.database}?target_session_attrs={attrs}"

    def promote_standby(self) -> None:
        self.standby.ctl("promote", timeout_s=60)

    def drop(self) -> None:
        errors: list[BaseException] = []
        for node in (self.standby, self.primary):
            try:
                node.drop()
            except Exception as exc:  # noqa: BLE001 -- drop the other node regardless
                errors.append(exc)
        if errors:
            raise errors[0]


def cleanup_leftovers() -> list[str]:
    """Drops drill clusters whose creating process is gone; returns their names."""
    version = pg_version()
    conf_root = Path("/etc/postgresql") / version
    dropped: list[str] = []
    if not conf_root.is_dir():
        return dropped
    for conf_dir in conf_root.iterdir():
        parts = conf_dir.name.split("_")
        if len(parts) != 4 or parts[0] != PREFIX or not parts[1].isdigit():
            continue
        if _pid_alive(int(parts[1])):
            continue
        port = _configured_port(conf_dir)
        Node(version, conf_dir.name, port).drop()
        dropped.append(conf_dir.name)
    return dropped


def _configured_port(conf_dir: Path) -> int:
    try:
        for line in (conf_dir / "postgresql.conf").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "port":
                return int(value.split("#", 1)[0].strip())
    except (OSError, ValueError):
        pass
    return 0

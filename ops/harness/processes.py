"""Starting real processes for tests, drills and benchmarks, and proving none is left.

Every process is started by `spawn`: in a new session (its own process group, so one
signal reaches it and everything it forks) and recorded in one registry. Processes
that daemonize out of their group (PostgreSQL's postmaster) are recorded with
`track_group`, and every child of the run carries `RUN_MARK` in its environment,
inherited by whatever it starts. `leftovers()` lists each live process that is in a
recorded group or carries the mark; tests/conftest.py fails the session when, after
every fixture has been torn down, it finds one.

`ChildProcess` is one such child with its output in a log file (the API, the worker, a
benchmark server), and `wait_until_healthy` the one wait for an API to answer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx
import psutil

RUN_MARK = "HARNESS_RUN_ID"
"""Environment variable naming the run that started a process (see `mark_run`)."""


@dataclass(frozen=True)
class _Group:
    label: str
    started_at: float
    """The leader's creation time: a later process reusing the id is someone else's."""


_groups: dict[int, _Group] = {}


def mark_run() -> str:
    """Gives this run its mark (once), in this process's environment: every process
    started from now on, however, inherits it."""
    return os.environ.setdefault(RUN_MARK, uuid.uuid4().hex)


def spawn(
    argv: Sequence[str],
    *,
    label: str | None = None,
    env: Mapping[str, str] | None = None,
    **popen: Any,
) -> subprocess.Popen[bytes]:
    """`subprocess.Popen` in a new session, recorded; `env` defaults to this process's."""
    mark = mark_run()
    child_env = {**(os.environ if env is None else env), RUN_MARK: mark}
    process = subprocess.Popen(  # noqa: S603 -- the project's own processes and tools
        list(argv), env=child_env, start_new_session=True, **popen
    )
    track_group(process.pid, label or " ".join(argv[:4]))
    return process


def track_group(pgid: int, label: str) -> None:
    """Records a process group started some other way (a daemon's own session)."""
    try:
        started_at = psutil.Process(pgid).create_time()
    except psutil.Error:
        return  # already gone
    _groups[pgid] = _Group(label, started_at)


@dataclass(frozen=True)
class Leftover:
    pid: int
    command: str
    why: str


def leftovers() -> list[Leftover]:
    """Live processes this run started (by group or mark), except this one."""
    mark = os.environ.get(RUN_MARK)
    own = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found: list[Leftover] = []
    for process in psutil.process_iter(["pid", "cmdline", "status", "create_time"]):
        info = process.info
        if info["pid"] in own or info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if _own_resource_tracker(process):
            continue
        why = _why_ours(process, mark)
        if why is not None:
            command = " ".join(info["cmdline"] or []) or process.name()
            found.append(Leftover(info["pid"], command[:200], why))
    return found


def _own_resource_tracker(process: psutil.Process) -> bool:
    """multiprocessing's resource tracker of this very process (started when a test
    spawns processes through multiprocessing): it reads a pipe from this process and
    exits when this process does, so it cannot outlive the run."""
    try:
        cmdline = process.info["cmdline"] or []
        return process.ppid() == os.getpid() and any(
            "multiprocessing.resource_tracker" in part for part in cmdline
        )
    except psutil.Error:
        return False


def _why_ours(process: psutil.Process, mark: str | None) -> str | None:
    try:
        group = _groups.get(os.getpgid(process.pid))
        if group is not None and process.info["create_time"] >= group.started_at:
            return f"in the process group of {group.label}"
        if mark is not None and process.environ().get(RUN_MARK) == mark:
            return "started by this run"
    except (psutil.Error, ProcessLookupError):
        pass
    return None


def kill_all(found: Sequence[Leftover]) -> None:
    """SIGKILLs leftovers, so that a failed run does not leave them behind either."""
    for leftover in found:
        try:
            os.kill(leftover.pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is still alive (zombies are dead)."""
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != "zombie":
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def wait_group_gone(pgid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop_group(process: subprocess.Popen[bytes], timeout_s: float, *, whole_group: bool) -> None:
    """SIGTERM (to the leader, or with `whole_group` to every process of the group),
    then waits until the whole group is gone; SIGKILL to the group after `timeout_s`."""
    pgid = process.pid
    if group_alive(pgid):
        try:
            if whole_group or process.poll() is not None:
                os.killpg(pgid, signal.SIGTERM)  # a leader gone: its group has no forwarder
            else:
                process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not wait_group_gone(pgid, timeout_s):
            kill_group(process)
    _reap(process)


def end_group(pgid: int, timeout_s: float) -> None:
    """SIGTERM to every process of a group, SIGKILL to what of it is left after
    `timeout_s`, for a group known only by its id."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    if not wait_group_gone(pgid, timeout_s):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        wait_group_gone(pgid, 10)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the whole group: no chance to ack, clean up or finish."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    wait_group_gone(process.pid, 10)
    _reap(process)


def _reap(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


_given_ports: set[int] = set()
_ports_lock = threading.Lock()


def free_port() -> int:
    """A port no process listens on now, and never one this process handed out before:
    stacks started side by side (the alert drill) pick their ports before their
    processes bind them, and the kernel may offer the same free port twice meanwhile."""
    with _ports_lock:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port: int = sock.getsockname()[1]
            if port not in _given_ports:
                _given_ports.add(port)
                return port


def cli(*command: str) -> list[str]:
    """The argv of `avataradam <command>` run by this interpreter."""
    return [sys.executable, "-m", "avataradam.entrypoints.cli", *command]


class ChildProcess:
    """One child process in its own session (see `spawn`), its output appended to a
    log file. `env` is added to this process's environment, with unbuffered output."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        *,
        label: str | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.log_path = log_path
        self.label = label or " ".join(self.argv[:4])
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        with self.log_path.open("ab") as log:
            self.process = spawn(
                self.argv,
                label=self.label,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.label} has not started")
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited(self) -> bool:
        """Started, and no longer running."""
        return self.process is not None and self.process.poll() is not None

    def stop(self, timeout_s: float = 30, *, whole_group: bool = False) -> None:
        """SIGTERM (to the main process, or with `whole_group` to every process of its
        group); SIGKILL to the group if anything of it is alive after `timeout_s`."""
        if self.process is not None:
            stop_group(self.process, timeout_s, whole_group=whole_group)

    def kill(self) -> None:
        """SIGKILL to the whole process group: no chance to ack, clean up or finish."""
        if self.process is not None:
            kill_group(self.process)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_until_healthy(
    base_url: str,
    process: ChildProcess,
    timeout_s: float = 60,
    *,
    interval_s: float = 0.2,
    what: str = "server",
) -> None:
    """Polls `GET {base_url}/health/live` until it answers 200; RuntimeError (with the
    tail of the process's log) when the process exits first or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.exited():
            raise RuntimeError(f"{what} exited early:\n{process.output()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(interval_s)
    raise RuntimeError(f"{what} not healthy in {timeout_s}s:\n{process.output()[-3000:]}")

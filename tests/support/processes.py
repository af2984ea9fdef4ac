"""Starting the project's own processes (API server, worker) for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.support.secrets import assert_no_secrets


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServiceProcess:
    """One `avataradam <command>` child process whose output goes to a log file."""

    def __init__(self, command: list[str], env: Mapping[str, str], log_path: Path) -> None:
        self.command = command
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "avataradam.entrypoints.cli", *self.command],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL to the whole process group: no chance to ack, clean up or finish."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout_s: float = 20) -> None:
        """Stops the process, then fails if any secret reached its log.

        SIGTERM goes to the main process only: it forwards the signal to its children
        (Dramatiq, uvicorn), and signalling the whole group would hit them twice.
        """
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        assert_no_secrets(self.output(), source=f"log of `avataradam {' '.join(self.command)}`")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_until_healthy(base_url: str, process: ServiceProcess, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.process is not None and process.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{process.output()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not healthy in {timeout_s}s:\n{process.output()[-3000:]}")

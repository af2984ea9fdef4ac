"""The real stack for a bench run: a fresh database, a Redis DB, API servers, a worker.

Every process is started in its own session and stopped by its own process group id;
the database is created at the start of a run and dropped at its end.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from ops.drills.pgcluster import free_port
from ops.drills.stack import DrillDatabase, PrivateRedis
from tests.support.processes import spawn, stop_group

ROOT = Path(__file__).resolve().parents[1]
ADMIN_DSN = os.environ.get(
    "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


class BenchRedis(PrivateRedis):
    """A private `redis-server` for one run (no persistence), on a free port.

    Other test suites on a shared machine flush and consume the shared Redis; a
    private server keeps their messages and FLUSHDBs out of the measurement. Set
    `BENCH_REDIS_URL` to use an existing server instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.url = os.environ.get("BENCH_REDIS_URL") or self.url

    def start(self, timeout_s: float = 10) -> BenchRedis:
        if not os.environ.get("BENCH_REDIS_URL"):
            super().start(timeout_s)
        return self


class BenchDatabase(DrillDatabase):
    """`avataradam_bench_<random>`, migrated; dropped (WITH FORCE) by `drop`."""

    def __init__(self) -> None:
        super().__init__(ADMIN_DSN, prefix="avataradam_bench")


def base_environment(
    database_url: str, redis_url: str, *, server: str = "uvicorn"
) -> dict[str, str]:
    """Production settings except for what a benchmark must control.

    Production environment, INFO JSON logs, local embedder, PostgreSQL vector store.
    Argon2 is cheapened (it only runs at sign-in, never on the measured paths) and
    access tokens outlive the run.
    """
    return {
        "AVATARADAM_ENVIRONMENT": "production",
        "AVATARADAM_AUTH_JWT_SECRET": secrets.token_urlsafe(48),
        "AVATARADAM_AUTH_ACCESS_TOKEN_TTL_S": "7200",
        "AVATARADAM_AUTH_ARGON2_TIME_COST": "1",
        "AVATARADAM_AUTH_ARGON2_MEMORY_KIB": "8192",
        "AVATARADAM_DATABASE_URL": database_url,
        "AVATARADAM_REDIS_URL": redis_url,
        "AVATARADAM_EMBEDDER": "local",
        "AVATARADAM_VECTOR_BACKEND": "postgres",
        "AVATARADAM_HTTP_SERVER": server,
        "AVATARADAM_HTTP_HOST": "127.0.0.1",
        "AVATARADAM_LOGGING_LEVEL": "INFO",
        "AVATARADAM_LOGGING_FORMAT": "json",
        # Rate limiting on, as in production, with limits no bench client reaches:
        # a rejected request is cheaper than an admitted one and would flatter us.
        "AVATARADAM_RATE_LIMIT_ENABLED": "true",
        "AVATARADAM_RATE_LIMIT_SEARCH_LIMIT": "100000000",
        "AVATARADAM_RATE_LIMIT_CHAT_LIMIT": "100000000",
        "AVATARADAM_RATE_LIMIT_UPLOAD_LIMIT": "100000000",
        "AVATARADAM_RATE_LIMIT_DEALERSHIP_LIMIT": "100000000",
        "AVATARADAM_RATE_LIMIT_LOGIN_LIMIT": "100000",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


class Process:
    """One child process in its own session, output to a log file."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name, self.argv = name, argv
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            self.popen = spawn(
                self.argv,
                label=self.name,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def terminate(self) -> None:
        """Asks the process group to stop (SIGTERM) without waiting."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)

    def stop(self, timeout_s: float = 20) -> None:
        """SIGTERM to the group; SIGKILL to what of it is alive after `timeout_s`."""
        if self.popen is not None:
            stop_group(self.popen, timeout_s, whole_group=True)

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


class Server(Process):
    def __init__(
        self, name: str, factory: str | None, env: Mapping[str, str], log_dir: Path
    ) -> None:
        self.port = free_port()
        env = {**env, "AVATARADAM_HTTP_PORT": str(self.port)}
        if factory is None:
            argv = [sys.executable, "-m", "avataradam.entrypoints.cli", "serve"]
        else:
            argv = [sys.executable, "-m", "bench.serve", factory]
        super().__init__(name, argv, env, log_dir)
        self.server = env.get("AVATARADAM_HTTP_SERVER", "uvicorn")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout_s: float = 60) -> Server:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base_url}/health/live", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy in {timeout_s}s:\n{self.tail()}")


def worker(env: Mapping[str, str], log_dir: Path, name: str = "worker", nice: int = 0) -> Process:
    argv = [
        sys.executable,
        "-m",
        "avataradam.entrypoints.cli",
        "worker",
        "--processes",
        "1",
        "--threads",
        "2",
    ]
    return Process(name, argv, {**env, "AVATARADAM_WORKER_NICE": str(nice)}, log_dir)

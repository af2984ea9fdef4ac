"""The real stack for a bench run: a fresh database, a Redis DB, API servers, a worker.

Every process is started in its own session and stopped by its own process group id;
the database is created at the start of a run and dropped at its end.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from ops.harness.environment import CHEAP_ARGON2
from ops.harness.processes import ChildProcess, cli, free_port, wait_until_healthy
from ops.harness.services import FreshDatabase, PrivateRedis

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

    def start(self, timeout_s: float = 10) -> Self:
        if not os.environ.get("BENCH_REDIS_URL"):
            super().start(timeout_s)
        return self


class BenchDatabase(FreshDatabase):
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
        **CHEAP_ARGON2,
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
        "AVATARADAM_RATE_LIMIT_SPEECH_LIMIT": "100000000",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


class Process(ChildProcess):
    """One child process in its own session, output to a log file `<name>.log`."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        # This checkout's code, also where the virtualenv's editable install is another's.
        env = {"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", **env}
        super().__init__(argv, env, log_dir / f"{name}.log", label=name, cwd=ROOT)

    def terminate(self) -> None:
        """Asks the process group to stop (SIGTERM) without waiting."""
        if self.running():
            os.killpg(self.pid, signal.SIGTERM)

    def stop(self, timeout_s: float = 20, *, whole_group: bool = True) -> None:
        """SIGTERM to the group; SIGKILL to what of it is alive after `timeout_s`."""
        super().stop(timeout_s, whole_group=whole_group)

    def tail(self, chars: int = 3000) -> str:
        return self.output()[-chars:]


class Server(Process):
    def __init__(
        self, name: str, factory: str | None, env: Mapping[str, str], log_dir: Path
    ) -> None:
        self.port = free_port()
        env = {**env, "AVATARADAM_HTTP_PORT": str(self.port)}
        argv = cli("serve") if factory is None else [sys.executable, "-m", "bench.serve", factory]
        super().__init__(name, argv, env, log_dir)
        self.server = env.get("AVATARADAM_HTTP_SERVER", "uvicorn")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout_s: float = 60) -> Self:
        wait_until_healthy(self.base_url, self, timeout_s, what=self.name)
        return self


def worker(env: Mapping[str, str], log_dir: Path, name: str = "worker", nice: int = 0) -> Process:
    argv = cli("worker", "--processes", "1", "--threads", "2")
    return Process(name, argv, {**env, "AVATARADAM_WORKER_NICE": str(nice)}, log_dir)

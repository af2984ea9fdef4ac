"""The API as a child process (`avataradam serve`) wired to a drill's database pair."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Self

import httpx

from ops.drills.pgcluster import ReplicatedPair
from ops.harness.environment import local_environment
from ops.harness.processes import ChildProcess, cli, free_port, wait_until_healthy

PASSWORD = "drill-password-correct-horse"  # noqa: S105 -- a throwaway drill account

FAILOVER_DATABASE_ENV = {
    "AVATARADAM_DATABASE_CONNECT_TIMEOUT_S": "2",
    "AVATARADAM_DATABASE_COMMAND_TIMEOUT_S": "5",
    "AVATARADAM_DATABASE_POOL_MIN_SIZE": "2",
    "AVATARADAM_DATABASE_POOL_MAX_SIZE": "8",
}
"""Database settings of the failover drills' app: a dead server is given up on within
seconds (connect and command timeouts), so requests fail fast and new connections
look for the new primary."""


def app_environment(
    pair: ReplicatedPair, *, redis_url: str, port: int, replica_dsn: str | None = None
) -> dict[str, str]:
    """Multi-host URLs by default: the primary pool finds whichever node accepts
    writes; reads prefer a standby and take any node when none is left."""
    return local_environment(pair.primary_dsn(), redis_url) | {
        "AVATARADAM_DATABASE_REPLICA_URL": replica_dsn or pair.replica_dsn("prefer-standby"),
        **FAILOVER_DATABASE_ENV,
        "AVATARADAM_HTTP_PORT": str(port),
        "AVATARADAM_LOGGING_LEVEL": "WARNING",
    }


class AppProcess(ChildProcess):
    """`avataradam serve` in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = int(env["AVATARADAM_HTTP_PORT"])
        super().__init__(cli("serve"), env, log_path, label=f"avataradam serve :{self.port}")
        self.base_url = f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> None:
        result = subprocess.run(  # noqa: S603 -- the project's own CLI
            cli(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"avataradam {args[0]} failed: {result.stderr[-2000:]}")

    def start(self, timeout_s: float = 60) -> Self:
        """Starts the API and waits until it answers its liveness probe."""
        super().start()
        wait_until_healthy(self.base_url, self, timeout_s, interval_s=0.1, what="the API")
        return self

    def stop(self, timeout_s: float = 10, *, whole_group: bool = True) -> None:
        """SIGTERM to the whole group, SIGKILL to what of it is alive after `timeout_s`."""
        super().stop(timeout_s, whole_group=whole_group)

    def sign_in_super_admin(self) -> dict[str, str]:
        """Creates a super admin with the CLI and returns its Authorization header."""
        email = f"drill-{uuid.uuid4().hex[:10]}@example.com"
        self.cli("create-admin", "--email", email, "--password", PASSWORD, "--role", "super_admin")
        response = httpx.post(
            f"{self.base_url}/v1/auth/token",
            json={"email": email, "password": PASSWORD},
            timeout=10,
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


def start_app(
    pair: ReplicatedPair, *, redis_url: str, workdir: Path, replica_dsn: str | None = None
) -> AppProcess:
    port = free_port()
    app = AppProcess(
        app_environment(pair, redis_url=redis_url, port=port, replica_dsn=replica_dsn),
        workdir / f"api-{port}.log",
    )
    app.start()
    return app

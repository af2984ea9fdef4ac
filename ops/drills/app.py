"""The API as a child process (`avataradam serve`) wired to a drill's database pair."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from ops.drills.pgcluster import ReplicatedPair, free_port
from tests.support.processes import spawn, stop_group

PASSWORD = "drill-password-correct-horse"  # noqa: S105 -- a throwaway drill account


def app_environment(
    pair: ReplicatedPair, *, redis_url: str, port: int, replica_dsn: str | None = None
) -> dict[str, str]:
    """Multi-host URLs by default: the primary pool finds whichever node accepts
    writes; reads prefer a standby and take any node when none is left."""
    return {
        "AVATARADAM_ENVIRONMENT": "test",
        "AVATARADAM_DATABASE_URL": pair.primary_dsn(),
        "AVATARADAM_DATABASE_REPLICA_URL": replica_dsn or pair.replica_dsn("prefer-standby"),
        "AVATARADAM_DATABASE_CONNECT_TIMEOUT_S": "2",
        "AVATARADAM_DATABASE_COMMAND_TIMEOUT_S": "5",
        "AVATARADAM_DATABASE_POOL_MIN_SIZE": "2",
        "AVATARADAM_DATABASE_POOL_MAX_SIZE": "8",
        "AVATARADAM_REDIS_URL": redis_url,
        "AVATARADAM_HTTP_PORT": str(port),
        "AVATARADAM_AUTH_ARGON2_TIME_COST": "1",
        "AVATARADAM_AUTH_ARGON2_MEMORY_KIB": "8192",
        "AVATARADAM_EMBEDDER": "hashing",
        "AVATARADAM_LOGGING_LEVEL": "WARNING",
    }


class AppProcess:
    """`avataradam serve` in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **env}
        self.port = int(env["AVATARADAM_HTTP_PORT"])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> None:
        result = subprocess.run(  # noqa: S603 -- the project's own CLI
            [sys.executable, "-m", "avataradam.entrypoints.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"avataradam {args[0]} failed: {result.stderr[-2000:]}")

    def start(self, timeout_s: float = 60) -> None:
        with self.log_path.open("ab") as log:
            self.process = spawn(
                [sys.executable, "-m", "avataradam.entrypoints.cli", "serve"],
                label=f"avataradam serve :{self.port}",
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API exited early:\n{self.output()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/health/live", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the API did not come up in {timeout_s}s:\n{self.output()[-3000:]}")

    def stop(self, timeout_s: float = 10) -> None:
        """SIGTERM to the whole group, SIGKILL to what of it is alive after `timeout_s`."""
        if self.process is not None:
            stop_group(self.process, timeout_s, whole_group=True)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

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

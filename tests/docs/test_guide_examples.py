"""Every executed example of docs/guide/, run in document order against a live service.

A real API server and worker (subprocesses) on a fresh database and a Redis database of
their own; the guide's own commands create the first admin and everything after it. An
example that drifts from the API fails here, with its file and line in the test id.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from ops.harness.environment import FAST_RECONCILE
from ops.harness.processes import end_group, free_port, spawn, wait_until_healthy
from ops.harness.services import FreshDatabase, PrivateRedis
from tests.conftest import ADMIN_DSN, IN_CI, require_service
from tests.docs.guide import Block, guide_blocks, output_mismatch, shown_output
from tests.integration.conftest import service_environment
from tests.support.processes import ServiceProcess

GUIDE_REDIS_DB = 13
"""Without a `redis-server` binary, the database used on the shared Redis (the integration
tests' worker uses db 15 and would otherwise take this deployment's messages)."""
EXAMPLE_TIMEOUT_S = 120
"""Longer than an example's own waits for background work (60 s each, as a loaded
machine may need: ingestion, webhook deliveries, scoring)."""
TOOLS = {"bash": ("bash", "curl", "jq"), "python": (), "javascript": ("node",)}

BLOCKS = guide_blocks()
EXECUTED = [block for block in BLOCKS if block.executed]


@dataclass
class Deployment:
    """The running services; `wait_until_healthy` is left to the first example that
    talks to the API, so that the CLI examples before it overlap the server's start."""

    env: dict[str, str]
    api: ServiceProcess
    healthy: bool = False

    def wait_for_api(self) -> None:
        if not self.healthy:
            wait_until_healthy(self.env["API"], self.api)
            self.healthy = True


@dataclass
class Session:
    """What examples share: the working directory, the environment, the background
    process groups they left running, and whether an earlier example failed."""

    workdir: Path
    env: dict[str, str]
    deployment: Deployment
    process_groups: list[int] = field(default_factory=list)
    failed: str | None = None


def _fresh_database() -> Iterator[str]:
    require_service(ADMIN_DSN, 5432, "PostgreSQL")
    database = FreshDatabase(ADMIN_DSN, prefix="avataradam_guide").create()
    try:
        yield database.url
    finally:
        database.drop()


@pytest.fixture(scope="module")
def guide_database() -> Iterator[str]:
    yield from _fresh_database()


def _private_redis() -> Iterator[str]:
    server = PrivateRedis().start()
    try:
        yield server.url
    finally:
        server.stop()


def _shared_redis(shared: str) -> Iterator[str]:
    url = urlunsplit(urlsplit(shared)._replace(path=f"/{GUIDE_REDIS_DB}"))
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    yield url


@pytest.fixture(scope="module")
def guide_redis(request: pytest.FixtureRequest) -> Iterator[str]:
    """A Redis of the deployment's own: a shared one would let another test run's worker
    take this deployment's messages and share its rate-limit counters."""
    if shutil.which("redis-server") is not None:
        yield from _private_redis()
    else:
        yield from _shared_redis(request.getfixturevalue("redis_url"))


@pytest.fixture(scope="module")
def deployment(
    guide_database: str, guide_redis: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """`just run` for the runner: an API server and a worker, and their environment."""
    logs = tmp_path_factory.mktemp("guide-services")
    port = free_port()
    env = service_environment(guide_database, guide_redis) | FAST_RECONCILE
    env |= {
        "AVATARADAM_HTTP_PORT": str(port),
        "AVATARADAM_HTTP_CORS_ORIGINS": "https://crm.example.com",
    }
    api = ServiceProcess(["serve"], env, logs / "api.log").start()
    worker = ServiceProcess(["worker", "--processes", "1", "--threads", "2"], env, logs / "w.log")
    worker.start()
    try:
        yield Deployment(env=env | {"API": f"http://127.0.0.1:{port}"}, api=api)
    finally:
        worker.kill()  # a test deployment: nothing of the worker's needs a graceful end
        api.stop()


@pytest.fixture(scope="module")
def session(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATARADAM_")}
    env |= deployment.env
    env |= {
        "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
        "HOOK_PORT": str(free_port()),
        "NODE_HOOK_PORT": str(free_port()),
    }
    workdir = tmp_path_factory.mktemp("guide-examples")
    state = Session(workdir=workdir, env=env, deployment=deployment)
    yield state
    for group in state.process_groups:
        end_group(group, timeout_s=5)  # what an example left in the background


def _require_tools(language: str, state: Session) -> None:
    """Skips (fails under CI) without the example's tools; later examples may depend on
    what this one would have done, so they are skipped too."""
    missing = [tool for tool in TOOLS[language] if shutil.which(tool) is None]
    if not missing:
        return
    message = f"{', '.join(missing)} not installed"
    state.failed = message
    if IN_CI:
        pytest.fail(message + ", and CI=true forbids skipping")
    pytest.skip(message)


def _command(block: Block, script: Path, env_dump: Path) -> list[str]:
    if block.runnable_language == "bash":
        # Sourced, so that what the example exports is dumped for the next ones.
        wrapper = 'guide_env_dump=$2; source "$1"; env -0 > "$guide_env_dump"'
        return ["bash", "-euo", "pipefail", "-c", wrapper, "example", str(script), str(env_dump)]
    if block.runnable_language == "python":
        return [sys.executable, str(script)]
    return ["node", str(script)]


_SUFFIX = {"bash": ".sh", "python": ".py", "javascript": ".mjs"}


def _run(block: Block, state: Session, number: int) -> str:
    """Runs `block`; answers what it printed."""
    language = block.runnable_language
    assert language is not None
    stem = f"example-{number:03d}"
    script = state.workdir / f".{stem}{_SUFFIX[language]}"
    script.write_text(block.code, encoding="utf-8")
    env_dump = state.workdir / f".{stem}.env"
    output = state.workdir / f".{stem}.out"
    with output.open("wb") as sink:
        process = spawn(
            _command(block, script, env_dump),
            label=block.label,
            cwd=state.workdir,
            env=state.env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        state.process_groups.append(process.pid)
        try:
            returncode = process.wait(EXAMPLE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            returncode = -1
    text = output.read_text(errors="replace")
    assert returncode == 0, f"{block.label} exited {returncode}:\n{block.code}\n--- output\n{text}"
    if env_dump.exists():
        items = env_dump.read_bytes().decode().split("\0")
        state.env = dict(item.split("=", 1) for item in items if item)
    return text


def _write_files(state: Session, before: Block) -> None:
    """Blocks marked `file=NAME` up to `before` land in the working directory."""
    for block in BLOCKS:
        if block.file_name is not None:
            (state.workdir / block.file_name).write_text(block.code, encoding="utf-8")
        if block == before:
            return


@pytest.mark.parametrize("block", EXECUTED, ids=[b.label for b in EXECUTED])
def test_guide_example_runs_against_a_live_server(block: Block, session: Session) -> None:
    if session.failed is not None:
        pytest.skip(f"an earlier example did not run: {session.failed}")
    _require_tools(block.runnable_language or "", session)
    if "API" in block.code:
        session.deployment.wait_for_api()
    _write_files(session, block)
    try:
        printed = _run(block, session, EXECUTED.index(block))
    except AssertionError:
        session.failed = block.label
        raise
    # The example did run: what it printed differing from what the guide shows leaves
    # the later examples to run.
    shown = shown_output(BLOCKS, block)
    if shown is not None:
        mismatch = output_mismatch(shown.code, printed)
        assert mismatch is None, f"{shown.label} is not what {block.label} printed:\n{mismatch}"

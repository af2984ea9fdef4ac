"""`ops/run-local.sh` (what `just run` starts) stops cleanly however it is stopped.

Reported: `kill -TERM -- -<pgid of run-local.sh>` stopped the API, but the worker stayed
alive with its interpreter shutting down, and every document it then took failed as
`internal_error`. Each way of stopping the script (SIGTERM to its process group, to the
script alone, Ctrl-C's SIGINT to the group) must end every process it started within
the worker's drain timeout, with the running ingestion finished and a document uploaded
after the signal (through another API instance) left queued for a fresh worker.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from avataradam.entrypoints.settings.infrastructure import WorkerSettings
from ops.drills.stack import Stack, large_text, small_document
from ops.harness.processes import free_port, spawn, stop_group, wait_group_gone
from tests.conftest import ADMIN_DSN, IN_CI

ROOT = Path(__file__).resolve().parents[2]
DRAIN_TIMEOUT_S = WorkerSettings().drain_timeout_s
STOPS: dict[str, Callable[[int], None]] = {
    "group-sigterm": lambda pid: os.killpg(pid, signal.SIGTERM),
    "script-sigterm": lambda pid: os.kill(pid, signal.SIGTERM),
    "ctrl-c": lambda pid: os.killpg(pid, signal.SIGINT),
}


@pytest.fixture(scope="module")
def stack(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Asks for `database_url` and `redis_url` for their skip-or-fail when the services
    are absent; the stack uses a database and a Redis server of its own, and an API
    instance of its own for uploads while the script's API is stopped."""
    for tool in ("redis-server", "uv"):
        if shutil.which(tool) is None:
            if IN_CI:
                pytest.fail(f"{tool} is not installed, and CI=true forbids skipping")
            pytest.skip(f"needs {tool}")
    env = {
        "AVATARADAM_INGESTION_QUEUED_TIMEOUT_S": "60",
        "AVATARADAM_INGESTION_LEASE_S": "60",
    }
    with Stack(tmp_path_factory.mktemp("run-local"), extra_env=env, admin_dsn=ADMIN_DSN) as built:
        built.start_api()
        yield built


def _start_run_local(stack: Stack, workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    port = free_port()
    log = workdir / "run-local.log"
    env = {
        **os.environ,
        **stack.env,
        "AVATARADAM_HTTP_PORT": str(port),
        "AVATARADAM_WORKER_NICE": "0",
        "AVATARADAM_LOGGING_LEVEL": "INFO",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
    }
    with log.open("wb") as sink:
        process = spawn(
            ["bash", "ops/run-local.sh"],
            label="ops/run-local.sh",
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        text = log.read_text(errors="replace")
        if "Worker process is ready for action" in text and _answers(port):
            return process, log
        time.sleep(0.2)
    raise AssertionError(f"run-local.sh not up in 90 s:\n{log.read_text(errors='replace')[-3000:]}")


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    "stop",
    [
        "group-sigterm",  # what systemd and `kill -- -PGID` do: runs in `just test`
        pytest.param("script-sigterm", marks=pytest.mark.slow),
        pytest.param("ctrl-c", marks=pytest.mark.slow),
    ],
)
def test_run_local_stops_every_process_within_the_drain_and_fails_no_document(
    stack: Stack, stop: str, tmp_path: Path
) -> None:
    admin = stack.new_dealership_admin()
    script, log = _start_run_local(stack, tmp_path)
    try:
        content, filename = large_text(10_000)
        running = stack.upload(admin, content, filename)
        stack.wait_until_processing(admin, running)

        signalled_at = time.monotonic()
        STOPS[stop](script.pid)
        late_content, late_filename = small_document(stop)
        late = stack.upload(admin, late_content, late_filename, "product_knowledge")
        gone = wait_group_gone(script.pid, DRAIN_TIMEOUT_S + 10)
        gone_after_s = time.monotonic() - signalled_at
    finally:
        stop_group(script, 5, whole_group=True)

    output = log.read_text(errors="replace")
    assert gone, f"processes of run-local.sh outlived the drain:\n{output[-3000:]}"
    assert gone_after_s < DRAIN_TIMEOUT_S, gone_after_s
    assert stack.database.stored(running).status == "ready", "the running ingestion finished"
    assert stack.database.stored(late).status == "queued", "taken by no stopping worker"
    assert "internal_error" not in output

    stack.start_worker()
    settled = stack.wait_until_settled([running, late], 90, since=time.monotonic())
    assert None not in settled.values(), settled
    assert stack.database.stored(late).exactly_one_set
    stack.workers[-1].stop()

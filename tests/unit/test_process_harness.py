"""The harness finds every process it started that is still alive, and a test run that
leaves one behind fails (ops/harness/processes.py, tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from ops.harness.processes import RUN_MARK, leftovers, spawn, stop_group

ROOT = Path(__file__).resolve().parents[2]


def _left_pids() -> set[int]:
    return {leftover.pid for leftover in leftovers()}


def _wait_gone(pid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_a_spawned_process_and_its_children_are_left_over_until_stopped() -> None:
    process = spawn(["bash", "-c", "sleep 60 & wait"], label="sleeper")
    time.sleep(0.3)
    child = psutil.Process(process.pid).children()[0].pid

    found = _left_pids()
    stop_group(process, 5, whole_group=True)

    assert {process.pid, child} <= found
    assert not {process.pid, child} & _left_pids()


def test_a_daemon_that_left_its_process_group_is_found_by_the_run_mark() -> None:
    starter = spawn(
        ["bash", "-c", "setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $!"],
        label="daemon starter",
        stdout=subprocess.PIPE,
    )
    out, _ = starter.communicate(timeout=10)
    daemon = int(out.decode().strip())
    try:
        [found] = [leftover for leftover in leftovers() if leftover.pid == daemon]
    finally:
        os.kill(daemon, 9)

    assert found.why == "started by this run"
    assert "sleep 60" in found.command
    assert _wait_gone(daemon)


def test_this_process_own_multiprocessing_resource_tracker_is_not_a_leftover() -> None:
    """It exits with this process; a tracker of another process is still found."""
    import multiprocessing.resource_tracker as tracker  # noqa: PLC0415 -- starts it on demand

    tracker.ensure_running()
    own: int | None = vars(tracker._resource_tracker)["_pid"]  # the tracker this process started

    assert own is not None
    assert own not in _left_pids()
    other = spawn(
        [
            sys.executable,
            "-c",
            "import multiprocessing.resource_tracker as t, time;"
            " t.ensure_running(); time.sleep(60)",
        ],
        label="process with its own tracker",
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(psutil.Process(other.pid).children()) < 1:
            time.sleep(0.05)
        [theirs] = psutil.Process(other.pid).children()
        assert theirs.pid in _left_pids(), "a tracker of another process is not exempt"
    finally:
        stop_group(other, 5, whole_group=True)


_FORGETFUL_TEST = """
from ops.harness.processes import spawn


def test_forgets_its_server() -> None:
    spawn(["sleep", "60"], label="forgotten server")
"""


def test_a_run_that_leaves_a_process_running_fails_and_kills_it(tmp_path: Path) -> None:
    test_file = tmp_path / "test_forgetful.py"
    test_file.write_text(_FORGETFUL_TEST)
    env = {k: v for k, v in os.environ.items() if k != RUN_MARK}

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            "-q",
            str(test_file),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed" in result.stdout, "the test itself passed: the leftover failed the run"
    assert "processes left running by this run" in result.stdout
    [report] = [line for line in result.stdout.splitlines() if "forgotten server" in line]
    assert "sleep 60" in report
    assert _wait_gone(int(report.split()[1])), "the leftover was killed"

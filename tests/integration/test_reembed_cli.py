"""`avataradam reembed` and `reembed-status` as the operator runs them: real processes
on a database of their own (`--all` reaches every dealership in it). No worker runs: a
started re-embedding stays `running`."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest

from ops.harness.services import FreshDatabase
from tests.integration.conftest import service_environment
from tests.integration.test_cli_and_server import run_cli

CONFIGURED = "hashing:title_section"
"""The profile of the test deployment (`AVATARADAM_EMBEDDER=hashing`, default format)."""


@pytest.fixture(scope="module")
def env(redis_url: str) -> Iterator[dict[str, str]]:
    database = FreshDatabase(prefix="avataradam_test").create()
    try:
        yield service_environment(database.url, redis_url)
    finally:
        database.drop()


def create_dealership(env: dict[str, str], name: str) -> str:
    result = run_cli(env, "create-dealership", "--name", name)
    assert result.returncode == 0, result.stderr
    found = re.search(r"id ([0-9a-f-]{36})", result.stdout)
    assert found is not None
    return found.group(1)


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


def printed(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines the command printed on stdout, without the log lines that share it."""
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if not _LOG_LINE.match(line)]


def failed_cleanly(result: subprocess.CompletedProcess[str]) -> str:
    """stderr of a CLI run that exited 1 with a message and no traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"^error: ", result.stderr, re.MULTILINE), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr


def test_reembed_one_dealership_then_all_and_follow_them(env: dict[str, str]) -> None:
    first = create_dealership(env, "Northside Motors")
    second = create_dealership(env, "Southside Motors")

    started = run_cli(env, "reembed", "--dealership", first, "--profile", "hashing:none")
    assert printed(started) == [
        f"{first}: generation 1 queued ({CONFIGURED} -> hashing:none, 0 document(s))"
    ]
    again = run_cli(env, "reembed", "--dealership", first, "--profile", "hashing:none")
    assert "already running" in failed_cleanly(again)

    # Already on the configured profile: every dealership is skipped.
    nothing = run_cli(env, "reembed", "--all")
    lines = printed(nothing)
    assert sorted(line.split()[0] for line in lines) == sorted([first, second])
    assert all(f"skipped: already on {CONFIGURED} (generation 0)" in line for line in lines)

    everyone = run_cli(env, "reembed", "--all", "--profile", "hashing:none")
    by_id = {line.split()[0]: line for line in printed(everyone)}
    assert set(by_id) == {first, second}
    assert by_id[first].endswith("skipped: generation 1 is already running")
    assert "'Southside Motors'" in by_id[second]
    assert by_id[second].endswith(
        f"generation 1 queued ({CONFIGURED} -> hashing:none, 0 document(s))"
    )

    status = run_cli(env, "reembed-status", "--dealership", second)
    active, reembedding = printed(status)
    assert active == f"active: generation 0, profile {CONFIGURED}"
    assert reembedding.startswith(
        f"generation 1: running, {CONFIGURED} -> hashing:none, 0/0 document(s) (0%), "
        "0 passage(s), started "
    )
    assert "finished" not in reembedding


def test_reembed_refusals_exit_1_with_a_message(env: dict[str, str]) -> None:
    dealership = create_dealership(env, "Eastside Motors")

    unknown = run_cli(env, "reembed", "--dealership", dealership, "--profile", "bert:none")
    stderr = failed_cleanly(unknown)
    assert "unknown vector profile 'bert:none'" in stderr
    assert "e5:title_section" in stderr
    current = run_cli(env, "reembed", "--dealership", dealership, "--profile", CONFIGURED)
    assert f"already embedded with {CONFIGURED}" in failed_cleanly(current)
    not_an_id = run_cli(env, "reembed", "--dealership", "lakeside")
    assert "--dealership: 'lakeside' is not a dealership id" in failed_cleanly(not_an_id)
    missing = run_cli(env, "reembed-status", "--dealership", "00000000-0000-4000-8000-000000000000")
    assert "dealership not found" in failed_cleanly(missing)

    quiet = run_cli(env, "reembed-status", "--dealership", dealership)
    assert printed(quiet) == [
        f"active: generation 0, profile {CONFIGURED}",
        "no re-embedding",
    ]

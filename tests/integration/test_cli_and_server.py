"""The operator's path: migrate, create-admin, serve over real HTTP, metrics, shutdown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ops.harness.processes import free_port, wait_until_healthy
from tests.integration.conftest import PASSWORD, service_environment
from tests.support.processes import ServiceProcess


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "avataradam.entrypoints.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    return service_environment(database_url, redis_url) | {
        "AVATARADAM_HTTP_PORT": str(free_port()),
        "AVATARADAM_LOGGING_LEVEL": "INFO",
    }


@pytest.fixture(scope="module")
def server(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("api") / "api.log"
    process = ServiceProcess(["serve"], server_env, log).start()
    base_url = f"http://127.0.0.1:{server_env['AVATARADAM_HTTP_PORT']}"
    try:
        wait_until_healthy(base_url, process)
        yield base_url
    finally:
        process.stop()


def test_migrate_on_an_up_to_date_database_applies_nothing(server_env: dict[str, str]) -> None:
    result = run_cli(server_env, "migrate")
    assert result.returncode == 0, result.stderr
    assert "applied 0 migration(s)" in result.stdout


def test_migrate_on_an_empty_database_says_what_it_applied_and_nothing_else(
    server_env: dict[str, str], new_database: str
) -> None:
    """No statement of a migration prints its rows (0022 printed an `analytics_rebuild`
    table into every first `just run`)."""
    result = run_cli(server_env | {"AVATARADAM_DATABASE_URL": new_database}, "migrate")
    assert result.returncode == 0, result.stderr
    [said] = result.stdout.strip().splitlines()
    assert said.startswith("applied "), result.stdout
    assert " 0001_foundation, " in said, result.stdout
    assert "row" not in result.stdout + result.stderr


def test_bad_configuration_stops_the_cli_with_a_named_variable(
    server_env: dict[str, str],
) -> None:
    result = run_cli(server_env | {"AVATARADAM_HTTP_PORT": "not-a-port"}, "migrate")
    assert result.returncode == 2
    assert "AVATARADAM_HTTP_PORT" in result.stderr


def test_migrate_to_a_missing_database_names_the_variable_and_hides_the_password(
    server_env: dict[str, str],
) -> None:
    missing = f"avataradam_missing_{uuid.uuid4().hex[:8]}"
    url = f"postgresql://postgres:not-shown-pw@127.0.0.1:5432/{missing}"

    result = run_cli(server_env | {"AVATARADAM_DATABASE_URL": url}, "migrate")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "AVATARADAM_DATABASE_URL" in result.stderr
    assert missing in result.stderr
    assert "not-shown-pw" not in result.stderr + result.stdout


def test_create_admin_then_token_and_me_over_real_http(
    server_env: dict[str, str], server: str
) -> None:
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    created = run_cli(
        server_env,
        "create-admin",
        "--email",
        email,
        "--password",
        PASSWORD,
        "--role",
        "super_admin",
    )
    assert created.returncode == 0, created.stderr
    assert email in created.stdout
    again = run_cli(
        server_env,
        "create-admin",
        "--email",
        email,
        "--password",
        PASSWORD,
        "--role",
        "super_admin",
    )
    assert again.returncode == 1
    assert "error:" in again.stderr

    dealership = run_cli(server_env, "create-dealership", "--name", "Lakeside Motors")
    assert dealership.returncode == 0, dealership.stderr
    dealership_id = re.search(r"id ([0-9a-f-]{36})", dealership.stdout)
    assert dealership_id is not None
    admin_email = f"lakeside-{uuid.uuid4().hex[:8]}@example.com"
    dealer_admin = run_cli(
        server_env,
        "create-admin",
        "--email",
        admin_email,
        "--password",
        PASSWORD,
        "--role",
        "dealership_admin",
        "--dealership-id",
        dealership_id.group(1),
    )
    assert dealer_admin.returncode == 0, dealer_admin.stderr

    with httpx.Client(base_url=server, timeout=10) as http:
        token = http.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert token.status_code == 200
        me = http.get("/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert me.status_code == 200
        assert me.json()["role"] == "super_admin"
        ready = http.get("/health/ready")
        assert ready.status_code == 200


def test_metrics_label_requests_by_route_template_never_by_raw_path(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        for _ in range(3):
            http.get(f"/v1/documents/{uuid.uuid4()}")
        http.get("/no/such/path/123")
        body = http.get("/metrics").text
    assert 'route="/v1/documents/{document_id}"' in body
    assert 'route="unmatched"' in body
    assert "/no/such/path" not in body
    assert not re.search(r'route="[^"]*[0-9a-f]{8}-[0-9a-f]{4}', body)


def test_readme_quickstart_commands_exist(server_env: dict[str, str]) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "just run" in readme
    assert "just test" in readme
    help_text = run_cli(server_env, "--help")
    for command in ("serve", "worker", "migrate", "create-admin"):
        assert command in help_text.stdout

"""compose.yaml, the single-host demo: valid against the Compose Specification's JSON
schema (check-jsonschema's copy) and accepted by `podman-compose config`; the topology of
deploy/k8s/ (two API instances behind HAProxy, both workers, PostgreSQL primary and
streaming replica, PgBouncer, Redis, Prometheus with the shipped rules, Alertmanager); and
each file it mounts accepted by the program that reads it (`haproxy -c`, `promtool check
config`, `amtool check-config`). No container runs here: images are not pulled."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from avataradam import __version__
from avataradam.entrypoints.cli import _parser
from avataradam.entrypoints.settings import env_variable_names
from tests.deploy.support import (
    COMPOSE,
    COMPOSE_DIR,
    ROOT,
    duration_s,
    named,
    render,
    tool,
)

APP_SERVICES = {"migrate", "api-1", "api-2", "worker", "webhooks"}
API_SERVICES = {"api-1", "api-2"}
WORKER_SERVICES = {"worker": "avataradam-worker-ingest", "webhooks": "avataradam-worker-webhooks"}
TOPOLOGY = APP_SERVICES | {
    "proxy",
    "postgres-primary",
    "postgres-replica",
    "pgbouncer",
    "redis",
    "postgres-replica-exporter",
    "prometheus",
    "alertmanager",
}
DEMO_ENVIRONMENT = {
    "AVATARADAM_AUTH_JWT_SECRET": "a-demo-secret-of-at-least-thirty-two-characters",
    "POSTGRES_PASSWORD": "demo-password",
    "POSTGRES_REPLICATION_PASSWORD": "demo-replication-password",
}


def _interpolated(text: str) -> str:
    """`${NAME:?message}` and `${NAME:-default}` replaced as Compose does, from
    DEMO_ENVIRONMENT."""

    def value(match: re.Match[str]) -> str:
        name, default = match[1], match[2] if match[2] is not None else ""
        return DEMO_ENVIRONMENT.get(name, default)

    return re.sub(r"\$\{(\w+)(?::\?[^}]*|:-([^}]*))?\}", value, text)


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(_interpolated(COMPOSE.read_text()))
    return document


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=120, **kwargs
    )


def _check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    program = str(Path(sys.executable).with_name("check-jsonschema"))
    return _run([program, "--builtin-schema", "vendor.compose-spec", str(path)])


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    result = _check_jsonschema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_misplaced_key(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        COMPOSE.read_text().replace("    stop_grace_period: 35s", "    stop_grace: 35s", 1)
    )
    result = _check_jsonschema(broken)
    assert result.returncode == 1
    assert "stop_grace" in result.stdout


def _private_podman(directory: Path) -> dict[str, str]:
    """Environment for a podman whose storage and state live in `directory`: `podman
    version` initialises its runtime, which must not touch the host's
    /var/lib/containers (another tool's images may be there, in another storage driver)."""
    storage, engine = directory / "storage.conf", directory / "containers.conf"
    storage.write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{directory}/run"\ngraphroot = "{directory}/graph"\n'
    )
    engine.write_text(f'[engine]\ntmp_dir = "{directory}/libpod"\nevents_logger = "none"\n')
    return {
        "CONTAINERS_STORAGE_CONF": str(storage),
        "CONTAINERS_CONF": str(engine),
        "HOME": str(directory),
    }


def test_podman_compose_accepts_and_resolves_the_file(tmp_path: Path) -> None:
    tool("podman")  # `podman-compose config` asks `podman version` first
    result = _run(
        [tool("podman-compose", in_tools_venv=True), "-f", str(COMPOSE), "config"],
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            **_private_podman(tmp_path),
            **DEMO_ENVIRONMENT,
        },
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    resolved = yaml.safe_load(result.stdout)

    assert set(resolved["services"]) == TOPOLOGY
    api_1, api_2 = (resolved["services"][name] for name in ("api-1", "api-2"))
    assert api_1["command"] == api_2["command"] == ["avataradam", "serve"]
    secret = DEMO_ENVIRONMENT["AVATARADAM_AUTH_JWT_SECRET"]
    assert api_1["environment"]["AVATARADAM_AUTH_JWT_SECRET"] == secret


def test_application_services_run_cli_commands_with_known_settings() -> None:
    services = _services()
    assert set(services) == TOPOLOGY
    # The image `just image` builds, unless AVATARADAM_IMAGE names another.
    assert {services[name]["image"] for name in APP_SERVICES} == {
        f"localhost/avataradam:{__version__}"
    }
    settings = set(env_variable_names().values())
    for name in APP_SERVICES:
        service = services[name]
        command = service["command"]
        assert command[0] == "avataradam", name
        _parser().parse_args(command[1:])
        assert {k for k in service["environment"] if k.startswith("AVATARADAM_")} <= settings
        assert service["read_only"] is True, name
        assert service["user"] == "10001:10001", name
        assert service["cap_drop"] == ["ALL"], name


def _database_host(service: dict[str, Any]) -> str | None:
    url: str = service["environment"]["AVATARADAM_DATABASE_URL"]
    return urlsplit(url).hostname


def test_app_goes_through_pgbouncer_and_migrations_straight_to_the_primary() -> None:
    services = _services()
    for name in APP_SERVICES - {"migrate"}:
        assert _database_host(services[name]) == "pgbouncer", name
        assert services[name]["environment"]["AVATARADAM_DATABASE_STATEMENT_CACHE_SIZE"] == "0"
        replica = services[name]["environment"]["AVATARADAM_DATABASE_REPLICA_URL"]
        assert urlsplit(replica).hostname == "postgres-replica"
    assert _database_host(services["migrate"]) == "postgres-primary"

    pgbouncer = configparser.ConfigParser()
    pgbouncer.read(COMPOSE_DIR / "pgbouncer" / "pgbouncer.ini")
    assert pgbouncer["pgbouncer"]["pool_mode"] == "transaction"
    assert "host=postgres-primary" in pgbouncer["databases"]["avataradam"]


def test_stop_grace_periods_match_the_kubernetes_manifests() -> None:
    services = _services()
    deployments = named(render("base"), "Deployment")

    def grace_s(deployment: str) -> float:
        return float(
            deployments[deployment]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        )

    for name in API_SERVICES:
        assert duration_s(services[name]["stop_grace_period"]) == grace_s("avataradam-api")
    for name, deployment in WORKER_SERVICES.items():
        assert duration_s(services[name]["stop_grace_period"]) == grace_s(deployment)


def test_every_mounted_file_is_in_the_repository() -> None:
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source}"
        if "build" in service:
            context = ROOT / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file(), name


def test_load_balancer_balances_the_api_services_checked_by_haproxy() -> None:
    config = (COMPOSE_DIR / "haproxy.cfg").read_text()
    servers = dict(re.findall(r"^\s*server (\S+) (\S+):8000\s*$", config, re.MULTILINE))
    assert set(servers) == set(servers.values()) == API_SERVICES
    assert "option httpchk GET /health/ready" in config

    result = _run([tool("haproxy"), "-c", "-f", str(COMPOSE_DIR / "haproxy.cfg")])
    assert result.returncode == 0, result.stderr
    # Compose's service names do not resolve here; HAProxy resolves them at run time.
    alerts = [line for line in result.stderr.splitlines() if "[ALERT]" in line]
    assert alerts == []


def test_prometheus_scrapes_every_instance_and_loads_the_shipped_rules() -> None:
    config_path = COMPOSE_DIR / "prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    [rules] = config["rule_files"]
    assert (config_path.parent / rules).resolve() == ROOT / "deploy" / "prometheus" / "alerts.yml"
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert {f"{name}:8000" for name in API_SERVICES} <= targets
    assert {f"{name}:9101" for name in WORKER_SERVICES} <= targets
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert "postgres-replica" in jobs, "AvatarAdamReplicaDown reads up{job='postgres-replica'}"

    result = _run([tool("promtool"), "check", "config", str(config_path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


def test_alertmanager_config_is_valid() -> None:
    result = _run([tool("amtool"), "check-config", str(COMPOSE_DIR / "alertmanager.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "script",
    sorted((COMPOSE_DIR).rglob("*.sh")),
    ids=lambda path: str(path.relative_to(COMPOSE_DIR)),
)
def test_shell_scripts_parse(script: Path) -> None:
    result = _run(["bash", "-n", str(script)])
    assert result.returncode == 0, result.stderr

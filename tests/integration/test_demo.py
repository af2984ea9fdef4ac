"""`avataradam demo` as a newcomer runs it: the real command on a fresh database, a real
worker beside it on a Redis of their own; then what the web client would show, read
through the API: people who sign in, a ready knowledge base that answers an objection,
scored roleplay sessions; and a second run that neither fails nor duplicates."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.demo_content import (
    DEALERSHIP_NAME,
    MANAGER,
    SESSIONS,
    SUPER_ADMIN,
    TRAINEES,
    knowledge_base,
)
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import load_settings
from ops.harness.environment import FAST_RECONCILE
from ops.harness.services import FreshDatabase, PrivateRedis
from tests.conftest import ADMIN_DSN, IN_CI, require_service
from tests.integration.conftest import service_environment
from tests.support.asgi import asgi_transport
from tests.support.processes import ServiceProcess

WAIT_S = 90
_PASSWORD_LINE = re.compile(r"^Password: (\S+)  \(generated", re.MULTILINE)


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def _demo(env: dict[str, str], *args: str) -> Run:
    result = subprocess.run(
        [sys.executable, "-m", "avataradam.entrypoints.cli", "demo", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=WAIT_S + 60,
        check=False,
    )
    return Run(result.returncode, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh database and a private Redis (a shared one would let another session's
    worker take this deployment's messages), with a worker on them."""
    require_service(ADMIN_DSN, 5432, "PostgreSQL")
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (a private Redis for the demo's worker)"
        if IN_CI:
            pytest.fail(message + ", and CI=true forbids skipping")
        pytest.skip(message)
    database = FreshDatabase(ADMIN_DSN, prefix="avataradam_test").create()
    redis_server = PrivateRedis().start()
    env = service_environment(database.url, redis_server.url) | FAST_RECONCILE
    log = tmp_path_factory.mktemp("demo-worker") / "worker.log"
    worker = ServiceProcess(["worker", "--processes", "1", "--threads", "2"], env, log).start()
    try:
        yield env
    finally:
        worker.stop()
        redis_server.stop()
        database.drop()


@pytest.fixture
def workerless_env(demo_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Another fresh database, and a Redis database no worker reads."""
    database = FreshDatabase(ADMIN_DSN, prefix="avataradam_test").create()
    redis_url = demo_env["AVATARADAM_REDIS_URL"].rsplit("/", 1)[0] + "/1"
    try:
        yield demo_env | {
            "AVATARADAM_DATABASE_URL": database.url,
            "AVATARADAM_REDIS_URL": redis_url,
        }
    finally:
        database.drop()


@pytest.fixture(scope="module")
def first_run(demo_env: dict[str, str]) -> Run:
    return _demo(demo_env, "--wait", "--timeout", str(WAIT_S))


@pytest.fixture(scope="module")
def password(first_run: Run) -> str:
    found = _PASSWORD_LINE.search(first_run.stdout)
    assert found is not None, first_run.stdout
    return found.group(1)


@pytest.fixture(scope="module")
async def api(demo_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """The API in this process, on the demo's database and Redis."""
    container = build_container(load_settings(demo_env, env_file=None))
    await container.start()
    transport = asgi_transport(create_app(container))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            yield client
    finally:
        await container.close()


async def _headers(api: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    token = await api.post("/v1/auth/token", json={"email": email, "password": password})
    assert token.status_code == 200, f"{email}: {token.text}"
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def _items(
    api: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> list[dict[str, object]]:
    response = await api.get(path, params={"limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_a_short_password_stops_the_demo_with_a_message(demo_env: dict[str, str]) -> None:
    run = _demo(demo_env, "--password", "short")

    assert run.returncode == 1
    assert "error: --password must be 12 to 256 characters" in run.stderr
    assert "Traceback" not in run.stderr
    assert "created" not in run.stdout


def test_without_a_worker_it_reports_the_work_queued_and_wait_gives_up_with_a_message(
    workerless_env: dict[str, str],
) -> None:
    seeded = _demo(workerless_env)

    assert seeded.returncode == 0, seeded.stderr
    assert "Queued (documents: 8 queued waiting; sessions: 3 waiting for scoring)" in seeded.stdout
    assert "a worker processes them: `just run`" in seeded.stdout

    waited = _demo(workerless_env, "--wait", "--timeout", "2")

    assert waited.returncode == 1
    assert "is already seeded" in waited.stdout
    assert "error: not done after 2 s" in waited.stderr
    assert "Is a worker running on this database and Redis?" in waited.stderr


def test_a_production_deployment_is_seeded_only_when_asked_explicitly(
    demo_env: dict[str, str],
) -> None:
    production = demo_env | {
        "AVATARADAM_ENVIRONMENT": "production",
        "AVATARADAM_AUTH_JWT_SECRET": "a-production-secret-of-32-characters",
    }

    refused = _demo(production, "--password", "short")

    assert refused.returncode == 2
    assert "pass --allow-production" in refused.stderr
    # Allowed, it goes on to the password check (which stops it here, before any write).
    allowed = _demo(production, "--allow-production", "--password", "short")
    assert allowed.returncode == 1
    assert "--password must be" in allowed.stderr


async def test_every_demo_account_signs_in_with_its_role(
    first_run: Run, password: str, api: httpx.AsyncClient
) -> None:
    assert first_run.returncode == 0, first_run.stderr
    assert f'Demo dealership "{DEALERSHIP_NAME}" created' in first_run.stdout
    assert "Everything is ready" in first_run.stdout
    for account in (MANAGER, *TRAINEES, SUPER_ADMIN):
        assert account.email in first_run.stdout
        me = await api.get("/v1/me", headers=await _headers(api, account.email, password))
        assert me.status_code == 200
        assert me.json()["role"] == account.role.value
        assert me.json()["first_name"] == account.first_name


async def test_the_knowledge_base_is_ready_and_answers_an_objection(
    first_run: Run, password: str, api: httpx.AsyncClient
) -> None:
    manager = await _headers(api, MANAGER.email, password)
    documents = await _items(api, "/v1/documents", manager)
    shipped = {(d.topic.value, d.filename) for d in knowledge_base()}
    assert {(d["topic"], d["filename"]) for d in documents} == shipped
    assert 5 <= len(shipped) <= 8
    assert {d["status"] for d in documents} == {"ready"}

    trainee = await _headers(api, TRAINEES[0].email, password)
    found = await api.post(
        "/v1/search",
        json={"query": "the customer says I'll think about it", "top_k": 3},
        headers=trainee,
    )
    assert found.status_code == 200, found.text
    best = found.json()["results"][0]
    assert best["filename"] == "ill-think-about-it.md"
    assert "think about it" in best["text"].lower()


async def test_the_roleplay_sessions_are_scored(
    first_run: Run, password: str, api: httpx.AsyncClient
) -> None:
    scored: dict[str, dict[str, object]] = {}
    for trainee in TRAINEES:
        headers = await _headers(api, trainee.email, password)
        for conversation in await _items(api, "/v1/conversations", headers):
            assert conversation["mode"] == "roleplay"
            card = await api.get(
                f"/v1/conversations/{conversation['id']}/scorecard", headers=headers
            )
            assert card.status_code == 200, card.text
            scored[f"{trainee.email}/{conversation['scenario_id']}"] = card.json()
    assert set(scored) == {f"{s.trainee}/{s.scenario}" for s in SESSIONS}
    assert {card["status"] for card in scored.values()} == {"scored"}
    # The demo means one session to pass and one to fail a blocker (false urgency).
    assert scored[f"{TRAINEES[0].email}/tire_wheel_think_about_it"]["passed"] is True
    urgent = scored[f"{TRAINEES[1].email}/time_pressured"]
    assert urgent["blockers_failed"] == ["no_false_urgency"]
    assert urgent["passed"] is False


async def test_a_second_run_neither_fails_nor_duplicates(
    demo_env: dict[str, str], first_run: Run, password: str, api: httpx.AsyncClient
) -> None:
    root = await _headers(api, SUPER_ADMIN.email, password)
    manager = await _headers(api, MANAGER.email, password)
    before = {path: await _items(api, path, manager) for path in ("/v1/users", "/v1/documents")}

    again = _demo(demo_env)

    assert again.returncode == 0, again.stderr
    assert "is already seeded" in again.stdout
    assert "Password: unchanged" in again.stdout
    assert password not in again.stdout
    for account in (MANAGER, *TRAINEES, SUPER_ADMIN):
        assert account.email in again.stdout
    dealerships = await _items(api, "/v1/dealerships", root)
    assert [d["name"] for d in dealerships].count(DEALERSHIP_NAME) == 1
    for path, items in before.items():
        assert {i["id"] for i in await _items(api, path, manager)} == {i["id"] for i in items}
    for trainee in TRAINEES:
        headers = await _headers(api, trainee.email, password)
        conversations = await _items(api, "/v1/conversations", headers)
        assert len(conversations) == sum(s.trainee == trainee.email for s in SESSIONS)

"""`/metrics` after real traffic: API and worker processes sharing one
`PROMETHEUS_MULTIPROC_DIR`, on real PostgreSQL and Redis, with processes that restart.

The deployment has a database and a Redis of its own (so no other test's worker takes
its messages, and PostgreSQL's count of its connections is the truth that the pool
gauges must show), an OpenAI-compatible emulator as its embedder and chat model (so
chat reports tokens, and a chat model answering 500 is a failing external call), and
a read replica that is the primary itself for the worker (its lag is measured) and a
replica that is down for the API (its reads fall back, counted). Its processes' logs
are scanned for secrets when they stop.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
import redis
import redis.asyncio as aioredis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from avataradam.entrypoints.observability.logging import configure_logging, reset_logging
from avataradam.entrypoints.worker.metrics import RedisQueueProbe
from ops.harness.environment import FAST_RECONCILE
from ops.harness.processes import free_port, wait_until_healthy
from ops.harness.services import FreshDatabase, PrivateRedis
from tests.conftest import ADMIN_DSN, require_service
from tests.fixtures.openai_chat_server import OpenAIEmulator, running_openai_server
from tests.fixtures.openai_server import API_KEY
from tests.integration.conftest import (
    PASSWORD,
    Account,
    Tenant,
    new_tenant,
    service_environment,
    sign_in,
)
from tests.integration.test_ingestion import upload, wait_for_status
from tests.support.deploy_metrics import (
    defined_metric_names,
    referenced_metric_names,
    unemitted,
)
from tests.support.processes import ServiceProcess
from tests.support.secrets import DOCUMENT_SENTINEL, assert_no_secrets

METRICS_REDIS_DB = 10
"""Without `redis-server` to start a private one: a database of the shared Redis used
by no other test, bench or drill (they take 12, 13, 14 and 15)."""
POOL_SIZE = 2
"""Every pool holds exactly this many connections (min = max), so the pool gauges
have one true value at any time."""
STARTUP_TIMEOUT_S = 90
"""Importing the application takes seconds, many more on a busy machine."""
UNREACHABLE_REPLICA = "postgresql://postgres@127.0.0.1:1/replica_down"
RAW_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-|[0-9a-fA-F]{32}|/\d+(?:/|$)")
CORRUPT_PDF = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    + bytes(range(256)) * 8
)
"""A PDF header and one object, then bytes that are no PDF and no end-of-file marker."""

Labels = frozenset[tuple[str, str]]
Samples = dict[tuple[str, Labels], float]


def scrape_text(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for sample_name, labels in samples if sample_name == name]


def total(samples: Samples, name: str) -> float:
    """The sum over every label set of `name`."""
    return sum(v for (sample_name, _), v in samples.items() if sample_name == name)


@dataclass
class Deployment:
    """The module's API server and worker, and what it takes to start more of them."""

    api_url: str
    worker_metrics_url: str
    database_url: str
    env: dict[str, str]
    api_env: dict[str, str]
    worker_env: dict[str, str]
    metrics_dir: Path
    logs: Path
    openai: OpenAIEmulator
    super_admin_email: str
    api: ServiceProcess
    worker: ServiceProcess
    extra: list[ServiceProcess] = field(default_factory=list)

    async def scrape(self, url: str) -> str:
        async with httpx.AsyncClient() as http:
            response = await http.get(url, timeout=5)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return response.text

    async def api_metrics(self) -> Samples:
        return scrape_text(await self.scrape(f"{self.api_url}/metrics"))

    async def worker_metrics(self) -> Samples:
        return scrape_text(await self.scrape(self.worker_metrics_url))

    def start_api(self) -> tuple[ServiceProcess, str]:
        """One more API server on the host (another port, the same metrics directory)."""
        port = free_port()
        process = ServiceProcess(
            ["serve"],
            self.api_env | {"AVATARADAM_HTTP_PORT": str(port)},
            self.logs / f"api-{port}.log",
        )
        self.extra.append(process.start())
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, STARTUP_TIMEOUT_S)
        return process, url

    def start_worker(self) -> ServiceProcess:
        """One more worker on the host (its metrics page is the first worker's)."""
        port = free_port()
        process = ServiceProcess(
            ["worker", "--processes", "1", "--threads", "1"],
            self.worker_env | {"AVATARADAM_WORKER_METRICS_PORT": str(port)},
            self.logs / f"worker-{port}.log",
        )
        self.extra.append(process.start())
        wait_for_worker_metrics(f"http://127.0.0.1:{port}/metrics", process, STARTUP_TIMEOUT_S)
        return process

    def create_admin(self, email: str, role: str = "super_admin") -> int:
        """`avataradam create-admin`, a one-off process of the host; returns its pid."""
        command = [sys.executable, "-m", "avataradam.entrypoints.cli", "create-admin"]
        command += ["--email", email, "--password", PASSWORD, "--role", role]
        run = subprocess.Popen(
            command,
            env=ServiceProcess([], self.env, self.logs / "cli.log").env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        output, _ = run.communicate(timeout=60)
        assert run.returncode == 0, output.decode(errors="replace")
        assert_no_secrets(output.decode(errors="replace"), source="create-admin output")
        return run.pid

    def live_gauge_pids(self) -> set[int]:
        """Processes whose `live*` gauge files are in the directory."""
        return {
            int(path.stem.rpartition("_")[2]) for path in self.metrics_dir.glob("gauge_live*_*.db")
        }

    def connections_held(self) -> int:
        """What PostgreSQL sees: client connections to the deployment's database."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).fetchone()
        assert row is not None
        return int(row[0])


def wait_for_worker_metrics(url: str, process: ServiceProcess, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.process is not None and process.process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{process.output()[-3000:]}")
        try:
            if "avataradam_worker_heartbeat_timestamp_seconds{" in httpx.get(url, timeout=1).text:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"worker metrics not served in {timeout_s}s:\n{process.output()[-3000:]}")


@pytest.fixture(scope="module")
def deployment_database() -> Iterator[str]:
    require_service(ADMIN_DSN, 5432, "PostgreSQL")
    database = FreshDatabase(ADMIN_DSN, prefix="avataradam_metrics").create()
    try:
        yield database.url
    finally:
        database.drop()


@pytest.fixture(scope="module")
def deployment_redis(request: pytest.FixtureRequest) -> Iterator[str]:
    if shutil.which("redis-server") is not None:
        server = PrivateRedis().start()
        try:
            yield server.url
        finally:
            server.stop()
        return
    shared: str = request.getfixturevalue("redis_url")
    url = urlunsplit(urlsplit(shared)._replace(path=f"/{METRICS_REDIS_DB}"))
    with redis.Redis.from_url(url) as leftovers:
        leftovers.flushdb()  # messages of earlier runs name documents that no longer exist
    yield url


@pytest.fixture(scope="module")
def deployment(
    deployment_database: str, deployment_redis: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    logs = tmp_path_factory.mktemp("metrics-scrape")
    metrics_dir = logs / "prometheus"
    metrics_dir.mkdir()
    api_port, worker_port = free_port(), free_port()
    with running_openai_server() as openai:
        env = (
            service_environment(deployment_database, deployment_redis)
            | FAST_RECONCILE
            | {
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                "AVATARADAM_LOGGING_LEVEL": "INFO",
                "AVATARADAM_DATABASE_POOL_MIN_SIZE": str(POOL_SIZE),
                "AVATARADAM_DATABASE_POOL_MAX_SIZE": str(POOL_SIZE),
                "AVATARADAM_WORKER_HEARTBEAT_INTERVAL_S": "0.5",
                "AVATARADAM_EMBEDDER": "openai",
                "AVATARADAM_EMBEDDING_OPENAI_BASE_URL": openai.base_url,
                "AVATARADAM_EMBEDDING_OPENAI_API_KEY": API_KEY,
                "AVATARADAM_CHAT_MODEL": "openai",
                "AVATARADAM_CHAT_OPENAI_BASE_URL": openai.base_url,
                "AVATARADAM_CHAT_OPENAI_API_KEY": API_KEY,
                "AVATARADAM_CHAT_MAX_RETRIES": "0",
            }
        )
        api_env = env | {
            "AVATARADAM_HTTP_PORT": str(api_port),
            "AVATARADAM_DATABASE_REPLICA_URL": UNREACHABLE_REPLICA,
        }
        worker_env = env | {
            "AVATARADAM_WORKER_METRICS_PORT": str(worker_port),
            "AVATARADAM_DATABASE_REPLICA_URL": deployment_database,
        }
        worker = ServiceProcess(
            ["worker", "--processes", "1", "--threads", "2"], worker_env, logs / "worker.log"
        )
        api = ServiceProcess(["serve"], api_env, logs / "api.log")
        built = Deployment(
            api_url=f"http://127.0.0.1:{api_port}",
            worker_metrics_url=f"http://127.0.0.1:{worker_port}/metrics",
            database_url=deployment_database,
            env=env,
            api_env=api_env,
            worker_env=worker_env,
            metrics_dir=metrics_dir,
            logs=logs,
            openai=openai,
            super_admin_email=f"root-{uuid.uuid4().hex[:8]}@example.com",
            api=api,
            worker=worker,
        )
        try:
            worker.start()
            api.start()
            built.create_admin(built.super_admin_email)  # while they start
            wait_until_healthy(built.api_url, api, STARTUP_TIMEOUT_S)
            wait_for_worker_metrics(built.worker_metrics_url, worker, STARTUP_TIMEOUT_S)
            yield built
        finally:
            for process in [api, *built.extra, worker]:
                process.stop()  # also scans each log for secrets


@pytest.fixture
async def api(deployment: Deployment) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=deployment.api_url, timeout=30) as http:
        yield http


@pytest.fixture
async def dealer(api: httpx.AsyncClient, deployment: Deployment) -> Tenant:
    """A dealership of the deployment, with an admin and a user, made through its API."""
    root: Account = await sign_in(api, deployment.super_admin_email, None)
    return await new_tenant(api, root)


async def eventually(
    probe: Callable[[], Awaitable[Samples]], check: Callable[[Samples], bool], timeout_s: float = 30
) -> Samples:
    """Scrapes with `probe()` until `check(samples)` holds; returns the last scrape."""
    deadline = time.monotonic() + timeout_s
    samples: Samples = {}
    while time.monotonic() < deadline:
        samples = await probe()
        if check(samples):
            return samples
        await asyncio.sleep(0.25)
    return samples


async def test_a_repeated_search_counts_a_retrieval_cache_hit(
    api: httpx.AsyncClient, deployment: Deployment, dealer: Tenant
) -> None:
    created = await upload(
        api,
        dealer.admin,
        f"Payment packing is never acceptable. {DOCUMENT_SENTINEL}\n".encode() * 20,
        "ethics.txt",
    )
    assert created.status_code == 202, created.text
    await wait_for_status(api, dealer.admin, created.json()["id"], {"ready"}, timeout_s=60)
    before = await deployment.api_metrics()
    query = {"query": f"is payment packing acceptable {uuid.uuid4().hex[:6]}", "top_k": 3}

    first = await api.post("/v1/search", json=query, headers=dealer.user.headers)
    second = await api.post("/v1/search", json=query, headers=dealer.user.headers)
    after = await deployment.api_metrics()

    assert first.status_code == second.status_code == 200
    assert second.json()["cached"] is True
    hits = "avataradam_cache_requests_total"
    assert value(after, hits, cache="retrieval", result="hit") >= (
        value(before, hits, cache="retrieval", result="hit") + 1
    )
    assert value(after, hits, cache="retrieval", result="miss") >= (
        value(before, hits, cache="retrieval", result="miss") + 1
    )
    requests = value(
        after,
        "avataradam_http_requests_total",
        method="POST",
        route="/v1/search",
        status_class="2xx",
    )
    assert requests >= 2


async def test_a_failed_document_counts_its_code_and_a_failed_task(
    api: httpx.AsyncClient, deployment: Deployment, dealer: Tenant
) -> None:
    before = await deployment.worker_metrics()
    failed_docs = ("avataradam_documents_failed_total", {"code": "corrupt_file"})
    failed_tasks = (
        "avataradam_task_outcomes_total",
        {"actor": "ingest_document", "outcome": "failure"},
    )

    created = await upload(api, dealer.admin, CORRUPT_PDF, "broken.pdf")
    assert created.status_code == 202, created.text
    body = await wait_for_status(api, dealer.admin, created.json()["id"], {"failed", "ready"})
    assert body["error"]["code"] == "corrupt_file"  # type: ignore[index]

    def counted(samples: dict[tuple[str, Labels], float]) -> bool:
        return value(samples, failed_docs[0], **failed_docs[1]) >= (
            value(before, failed_docs[0], **failed_docs[1]) + 1
        )

    worker = await eventually(deployment.worker_metrics, counted)
    assert counted(worker), worker
    assert value(worker, failed_tasks[0], **failed_tasks[1]) >= (
        value(before, failed_tasks[0], **failed_tasks[1]) + 1
    )
    durations = ("avataradam_task_duration_seconds_count", {"actor": "ingest_document"})
    assert value(worker, durations[0], **durations[1]) > value(before, durations[0], **durations[1])
    # One directory for the host: the API's page shows the worker's series too.
    aggregated = await eventually(
        deployment.api_metrics, lambda s: value(s, "avataradam_documents", status="failed") >= 1
    )
    assert value(aggregated, failed_docs[0], **failed_docs[1]) >= 1
    assert value(aggregated, "avataradam_documents", status="failed") >= 1


async def test_http_series_carry_route_templates_and_no_raw_ids(
    api: httpx.AsyncClient, deployment: Deployment, dealer: Tenant
) -> None:
    missing = uuid.uuid4()
    read = await api.get(f"/v1/documents/{missing}", headers=dealer.user.headers)
    unknown = await api.get(f"/v1/no-such-thing/{missing}/42")
    assert read.status_code == unknown.status_code == 404

    samples = await deployment.api_metrics()

    routes = {labels["route"] for labels in series(samples, "avataradam_http_requests_total")}
    assert "/v1/documents/{document_id}" in routes
    assert "unmatched" in routes
    worker = await deployment.worker_metrics()
    offending = [
        (name, dict(labels))
        for name, labels in [*samples, *worker]
        if any(RAW_ID.search(label_value) for _, label_value in labels)
    ]
    assert offending == []


async def test_pool_gauges_heartbeat_documents_and_queues_are_exported(
    api: httpx.AsyncClient, deployment: Deployment, dealer: Tenant
) -> None:
    assert (await api.get("/v1/me", headers=dealer.user.headers)).status_code == 200

    samples = await deployment.api_metrics()
    worker = await eventually(
        deployment.worker_metrics,
        lambda s: ("avataradam_queue_depth", frozenset({("queue", "ingest")})) in s,
    )

    size = value(samples, "avataradam_db_pool_size", pool="primary")
    in_use = value(samples, "avataradam_db_pool_in_use", pool="primary")
    assert size >= 2  # API and worker pools, summed over the host's processes
    assert 0 <= in_use <= size
    assert value(samples, "avataradam_db_pool_idle", pool="primary") == size - in_use
    assert value(samples, "avataradam_db_pool_acquire_seconds_count", pool="primary") >= 1
    [beat] = series(worker, "avataradam_worker_heartbeat_timestamp_seconds")
    heartbeat = value(worker, "avataradam_worker_heartbeat_timestamp_seconds", **beat)
    assert time.time() - heartbeat < 10
    statuses = {labels["status"] for labels in series(worker, "avataradam_documents")}
    assert statuses == {"queued", "processing", "ready", "failed", "deleting"}
    queues = {labels["queue"] for labels in series(worker, "avataradam_queue_depth")}
    assert {"ingest", "webhooks", "ingest.DQ", "webhooks.DQ"} <= queues
    assert value(worker, "avataradam_queue_oldest_message_age_seconds", queue="ingest") < 600


@dataclass
class Receiver:
    """A webhook receiver that answers 500 to the first delivery, then 200."""

    received: list[bytes] = field(default_factory=list)
    url: str = ""

    def answer(self, body: bytes) -> int:
        self.received.append(body)
        return 500 if len(self.received) == 1 else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            status = state.answer(self.rfile.read(int(self.headers.get("content-length", "0"))))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


async def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_every_metric_used_in_deploy_is_emitted_by_real_work(
    api: httpx.AsyncClient, deployment: Deployment, dealer: Tenant, receiver: Receiver
) -> None:
    """Given the names that the alert rules and the dashboard use (parsed from deploy/)
    and those `Metrics` defines (a metric nothing emits is dead code), when real work
    runs through the API and worker processes (an ingested document announced to a
    webhook receiver that fails once, searches, a chat, a chat model answering 500, a
    reply refused by an exhausted token budget, a corrupt PDF, a request for nothing,
    speech spoken and transcribed, a silent recording),
    then the pages of the API and the worker show each name with a sample, every
    counter counted and every histogram observed."""
    referenced = referenced_metric_names()
    wanted = {name: {"Metrics"} for name in defined_metric_names()}
    for name, files in referenced.items():
        wanted[name] = wanted.get(name, set()) | files
    hook = await api.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["document.ready"]},
        headers=dealer.admin.headers,
    )
    assert hook.status_code == 201, hook.text
    text = f"GAP insurance covers the difference between loan and value. {DOCUMENT_SENTINEL}\n"
    document = await upload(api, dealer.admin, text.encode() * 30, "gap.txt")
    broken = await upload(api, dealer.admin, CORRUPT_PDF, "broken.pdf")
    assert document.status_code == broken.status_code == 202, (document.text, broken.text)
    await wait_for_status(api, dealer.admin, document.json()["id"], {"ready"}, timeout_s=60)
    failed = await wait_for_status(api, dealer.admin, broken.json()["id"], {"failed"})
    assert failed["error"]["code"] == "corrupt_file"  # type: ignore[index]

    # A re-embedding into another embedded-text format (the same hashing model).
    reembeddings = f"/v1/admin/dealerships/{dealer.dealership_id}/reembeddings"
    started = await api.post(
        reembeddings, json={"profile": "hashing:none"}, headers=dealer.admin.headers
    )
    assert started.status_code == 202, started.text

    async def reembedded() -> bool:
        listed = await api.get(reembeddings, headers=dealer.admin.headers)
        return bool(listed.json()["items"][0]["status"] == "completed")

    deadline = time.monotonic() + 60
    while not await reembedded():
        assert time.monotonic() < deadline, "the re-embedding did not complete"
        await asyncio.sleep(0.25)

    query = {"query": f"what does GAP cover {uuid.uuid4().hex[:6]}", "top_k": 3}
    for _ in range(2):  # a miss, then a hit
        searched = await api.post("/v1/search", json=query, headers=dealer.user.headers)
        assert searched.status_code == 200, searched.text
    conversation = await api.post(
        "/v1/conversations", json={"mode": "training"}, headers=dealer.user.headers
    )
    assert conversation.status_code == 201, conversation.text
    messages = f"/v1/conversations/{conversation.json()['id']}/messages"
    answered = await api.post(
        messages, json={"content": "What does GAP cover?"}, headers=dealer.user.headers
    )
    assert answered.status_code == 201, answered.text
    await scored_roleplay(api, dealer.user)
    await spoken_and_heard(api, dealer.user)
    # A 1-token budget refuses the same question again (counted; the 100 % alert).
    root = await sign_in(api, deployment.super_admin_email, None)
    path = f"/v1/dealerships/{dealer.dealership_id}"
    budget = await api.patch(path, json={"monthly_token_budget": 1}, headers=root.headers)
    assert budget.status_code == 200, budget.text
    exhausted = await api.post(
        messages, json={"content": "What does GAP cover?"}, headers=dealer.user.headers
    )
    assert exhausted.status_code == 429, exhausted.text
    assert exhausted.json()["code"] == "budget_exhausted"
    unlimited = await api.patch(path, json={"monthly_token_budget": 0}, headers=root.headers)
    assert unlimited.status_code == 200, unlimited.text
    deployment.openai.chat.fail_with(500)
    try:
        # A question with material: one without is refused before any model is asked.
        refused = await api.post(
            messages, json={"content": "What does GAP cover?"}, headers=dealer.user.headers
        )
    finally:
        deployment.openai.chat.fail_with(None)
    assert refused.status_code == 503, refused.text
    assert (
        await api.get(f"/v1/documents/{uuid.uuid4()}", headers=dealer.user.headers)
    ).status_code == 404
    await wait_for(lambda: len(receiver.received) >= 2, "the webhook's retried delivery")

    async def families() -> list[Metric]:
        pages = [await deployment.scrape(f"{deployment.api_url}/metrics")]
        pages.append(await deployment.scrape(deployment.worker_metrics_url))
        return [family for page in pages for family in text_string_to_metric_families(page)]

    deadline = time.monotonic() + 30
    missing = unemitted(wanted, await families())
    while missing and time.monotonic() < deadline:
        await asyncio.sleep(0.5)  # the worker's gauges follow its heartbeat
        missing = unemitted(wanted, await families())

    assert len(referenced) >= 20
    assert missing == {}, "not emitted by this work:\n" + "\n".join(
        f"  {name}: {reason} (in {', '.join(sorted(wanted[name]))})"
        for name, reason in missing.items()
    )


async def spoken_and_heard(api: httpx.AsyncClient, trainee: Account) -> None:
    """Text spoken, its audio transcribed, and a silent recording refused (the speech
    metrics; the deployment runs the in-memory engines)."""
    spoken = await api.post(
        "/v1/speech", json={"text": "Is it optional? Yes."}, headers=trainee.headers
    )
    assert spoken.status_code == 200, spoken.text
    for audio, status in ((spoken.content, 200), (silent_wav(), 422)):
        heard = await api.post(
            "/v1/transcriptions",
            files={"file": ("recording.wav", audio, "audio/wav")},
            headers=trainee.headers,
        )
        assert heard.status_code == status, heard.text


def silent_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(b"\0\0" * 16_000)
    return buffer.getvalue()


async def scored_roleplay(api: httpx.AsyncClient, trainee: Account) -> None:
    """A roleplay session completed and scored by the worker (the scoring metrics)."""
    headers = trainee.headers
    started = await api.post("/v1/conversations", json={"mode": "roleplay"}, headers=headers)
    assert started.status_code == 201, started.text
    path = f"/v1/conversations/{started.json()['id']}"
    said = await api.post(
        f"{path}/messages",
        json={"content": "How long are you planning to keep this car?"},
        headers=trainee.headers,
    )
    assert said.status_code == 201, said.text
    completed = await api.post(f"{path}/complete", headers=trainee.headers)
    assert completed.status_code == 202, completed.text
    deadline = time.monotonic() + 60
    while (await api.get(f"{path}/scorecard", headers=headers)).json()["status"] != "scored":
        assert time.monotonic() < deadline, "the session was not scored"
        await asyncio.sleep(0.2)


def me_requests(samples: Samples) -> float:
    """Successful `GET /v1/me` requests served by all processes of the host, ever."""
    return value(
        samples, "avataradam_http_requests_total", method="GET", route="/v1/me", status_class="2xx"
    )


def pool_connections(samples: Samples) -> float:
    """Connections that the pool gauges say the host's live processes hold."""
    return total(samples, "avataradam_db_pool_size")


async def pools_as_postgres_sees_them(deployment: Deployment, timeout_s: float = 20) -> float:
    """Scrapes until the pool gauges add up to the connections PostgreSQL counts (a
    killed process's connections take a moment to close), then returns that number;
    fails with both numbers if they never agree."""
    deadline = time.monotonic() + timeout_s
    while True:
        scraped = pool_connections(await deployment.api_metrics())
        held = await asyncio.to_thread(deployment.connections_held)
        if scraped == held or time.monotonic() > deadline:
            assert scraped == held, f"pool gauges say {scraped}, PostgreSQL counts {held}"
            return scraped
        await asyncio.sleep(0.25)


async def test_pool_gauges_count_what_postgresql_sees_as_an_api_is_killed_and_restarted(
    deployment: Deployment, dealer: Tenant
) -> None:
    """Given the API and the worker, when another API process starts, serves, is
    SIGKILLed, and is started again and stopped, then after each step the pool gauges
    add up to the connections PostgreSQL counts, the killed process's requests stay
    counted, and the stopped one has removed its gauges before anyone scraped."""
    baseline = await pools_as_postgres_sees_them(deployment)
    served_before = me_requests(await deployment.api_metrics())
    pids = deployment.live_gauge_pids()

    killed, url = deployment.start_api()
    [killed_pid] = await _new_live_gauge_pids(deployment, pids)
    async with httpx.AsyncClient(base_url=url, timeout=30) as second:
        for _ in range(5):
            assert (await second.get("/v1/me", headers=dealer.user.headers)).status_code == 200
    assert await pools_as_postgres_sees_them(deployment) == baseline + POOL_SIZE
    killed.kill()

    after_kill = await deployment.api_metrics()
    assert await pools_as_postgres_sees_them(deployment) == baseline
    assert killed_pid not in deployment.live_gauge_pids()
    assert me_requests(after_kill) >= served_before + 5  # the dead process's count stays

    restarted, _ = deployment.start_api()
    [restarted_pid] = await _new_live_gauge_pids(deployment, pids)
    assert await pools_as_postgres_sees_them(deployment) == baseline + POOL_SIZE
    restarted.stop()
    assert restarted_pid not in deployment.live_gauge_pids()  # marked itself dead on its way out
    assert await pools_as_postgres_sees_them(deployment) == baseline


async def test_a_killed_worker_leaves_the_gauges_and_a_stopped_one_removes_its_own(
    deployment: Deployment,
) -> None:
    baseline = await pools_as_postgres_sees_them(deployment)
    pids = deployment.live_gauge_pids()

    killed = deployment.start_worker()
    [killed_pid] = await _new_live_gauge_pids(deployment, pids)
    grown = await pools_as_postgres_sees_them(deployment)
    killed.kill()

    assert grown == baseline + 2 * POOL_SIZE  # its primary pool and its replica pool
    assert await pools_as_postgres_sees_them(deployment) == baseline
    assert killed_pid not in deployment.live_gauge_pids()

    stopped = deployment.start_worker()
    [stopped_pid] = await _new_live_gauge_pids(deployment, pids)
    stopped.stop()
    assert stopped_pid not in deployment.live_gauge_pids()
    assert await pools_as_postgres_sees_them(deployment) == baseline


async def test_a_one_off_cli_run_leaves_no_gauges_behind(deployment: Deployment) -> None:
    baseline = await pools_as_postgres_sees_them(deployment)

    pid = await asyncio.to_thread(
        deployment.create_admin, f"ops-{uuid.uuid4().hex[:8]}@example.com"
    )

    assert (deployment.metrics_dir / f"counter_{pid}.db").exists()  # it did write metrics
    assert pid not in deployment.live_gauge_pids()  # and took its gauges with it
    assert await pools_as_postgres_sees_them(deployment) == baseline


async def _new_live_gauge_pids(deployment: Deployment, before: set[int]) -> set[int]:
    """The processes that joined the directory since `before` was taken (a new API or
    worker writes its pool gauges once its container started)."""
    deadline = time.monotonic() + 30
    while not (new := deployment.live_gauge_pids() - before) and time.monotonic() < deadline:  # noqa: ASYNC110 -- polls files other processes write
        await asyncio.sleep(0.1)
    return new


async def test_queue_probe_reads_depth_and_oldest_age_of_waiting_messages(
    redis_url: str,
) -> None:
    namespace = f"avataradam-probe-{uuid.uuid4().hex[:8]}"
    broker = RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
    client = aioredis.Redis.from_url(redis_url)
    try:
        broker.declare_queue("ingest")
        sent_at = time.time()
        for n in range(3):
            broker.enqueue(Message("ingest", "ingest_document", (), {"n": str(n)}, {}))
        broker.enqueue(Message("ingest", "ingest_document", (), {}, {}), delay=60_000)
        probe = RedisQueueProbe(client, namespace=namespace, queues=["ingest", "webhooks"])

        now = await probe.measure(now=sent_at + 30)
        later = await probe.measure(now=sent_at + 90)
    finally:
        keys = [key async for key in client.scan_iter(f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        broker.close()

    assert now["ingest"].depth == 3
    assert 29 <= now["ingest"].oldest_age_s <= 31
    assert now["ingest.DQ"].depth == 1
    assert now["ingest.DQ"].oldest_age_s == 0  # delayed, not yet due
    assert 29 <= later["ingest.DQ"].oldest_age_s <= 31  # due 30 s ago
    assert now["webhooks"].depth == 0
    assert now["webhooks"].oldest_age_s == 0


async def test_in_process_logs_of_sign_in_webhooks_and_uploads_hold_no_secret(
    client: httpx.AsyncClient, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(service="avataradam-api", level="DEBUG", fmt="json")
    try:
        capsys.readouterr()
        signed_in = await client.post(
            "/v1/auth/token", json={"email": tenant.admin.email, "password": PASSWORD}
        )
        tokens = signed_in.json()
        refreshed = await client.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        wrong = await client.post(
            "/v1/auth/token", json={"email": tenant.admin.email, "password": PASSWORD + "x"}
        )
        hook = await client.post(
            "/v1/webhooks",
            json={"url": "https://hooks.example.com/avataradam", "events": ["document.ready"]},
            headers=tenant.admin.headers,
        )
        uploaded = await upload(
            client, tenant.admin, f"{DOCUMENT_SENTINEL} closes deals.\n".encode(), "s.txt"
        )
        bad_token = await client.get("/v1/me", headers={"Authorization": "Bearer eyJnotAToken"})
        output = capsys.readouterr().out
    finally:
        reset_logging()

    assert signed_in.status_code == refreshed.status_code == 200, refreshed.text
    assert wrong.status_code == 401
    assert hook.status_code == 201, hook.text
    assert uploaded.status_code == 202
    assert bad_token.status_code == 401
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert sum(line["event"] == "http_request" for line in lines) >= 6
    assert_no_secrets(
        output,
        source="in-process API logs",
        literals=[
            PASSWORD,
            tokens["access_token"],
            tokens["refresh_token"],
            refreshed.json()["refresh_token"],
            hook.json()["secret"],
        ],
    )

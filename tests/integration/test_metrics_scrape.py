"""`/metrics` after real traffic: an API server and a worker process sharing one
`PROMETHEUS_MULTIPROC_DIR`, on real PostgreSQL and Redis.

The deployment of this module uses its own Redis database, so the session's shared
worker never takes its messages (the counters asserted here must come from the worker
started here). Its processes' logs are scanned for secrets when they stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from prometheus_client.parser import text_string_to_metric_families

from avataradam.entrypoints.observability.logging import configure_logging, reset_logging
from avataradam.entrypoints.worker.metrics import RedisQueueProbe
from tests.integration.conftest import PASSWORD, Tenant, service_environment
from tests.integration.test_ingestion import corpus_file, upload, wait_for_status
from tests.support.processes import ServiceProcess, free_port, wait_until_healthy
from tests.support.secrets import DOCUMENT_SENTINEL, assert_no_secrets

METRICS_REDIS_DB = 10
"""Not used by any other test, bench or drill (they take 12, 13, 14 and 15)."""
RAW_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-|[0-9a-fA-F]{32}|/\d+(?:/|$)")

Labels = frozenset[tuple[str, str]]


def scrape_text(text: str) -> dict[tuple[str, Labels], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, Labels], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: dict[tuple[str, Labels], float], name: str) -> list[dict[str, str]]:
    return [dict(labels) for sample_name, labels in samples if sample_name == name]


@dataclass(frozen=True)
class Deployment:
    api_url: str
    worker_metrics_url: str
    api: ServiceProcess
    worker: ServiceProcess

    async def scrape(self, url: str) -> dict[tuple[str, Labels], float]:
        async with httpx.AsyncClient() as http:
            response = await http.get(url, timeout=5)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return scrape_text(response.text)

    async def api_metrics(self) -> dict[tuple[str, Labels], float]:
        return await self.scrape(f"{self.api_url}/metrics")

    async def worker_metrics(self) -> dict[tuple[str, Labels], float]:
        return await self.scrape(self.worker_metrics_url)


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
def deployment(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    own_redis = urlunsplit(urlsplit(redis_url)._replace(path=f"/{METRICS_REDIS_DB}"))
    with redis.Redis.from_url(own_redis) as leftovers:
        leftovers.flushdb()  # messages of earlier runs name documents that no longer exist
    directory = tmp_path_factory.mktemp("metrics-scrape")
    multiprocess_dir = directory / "prometheus"
    multiprocess_dir.mkdir()
    api_port, worker_port = free_port(), free_port()
    env = service_environment(database_url, own_redis) | {
        "PROMETHEUS_MULTIPROC_DIR": str(multiprocess_dir),
        "AVATARADAM_LOGGING_LEVEL": "INFO",
        "AVATARADAM_HTTP_PORT": str(api_port),
        "AVATARADAM_WORKER_METRICS_PORT": str(worker_port),
        "AVATARADAM_WORKER_HEARTBEAT_INTERVAL_S": "0.5",
    }
    worker = ServiceProcess(["worker", "--processes", "1", "--threads", "2"], env, _log(directory))
    api = ServiceProcess(["serve"], env, directory / "api.log")
    worker.start()
    api.start()
    try:
        wait_until_healthy(f"http://127.0.0.1:{api_port}", api)
        wait_for_worker_metrics(f"http://127.0.0.1:{worker_port}/metrics", worker)
        yield Deployment(
            api_url=f"http://127.0.0.1:{api_port}",
            worker_metrics_url=f"http://127.0.0.1:{worker_port}/metrics",
            api=api,
            worker=worker,
        )
    finally:
        api.stop()
        _terminate_main_process(worker)
        worker.stop()  # scans the log for secrets


def _log(directory: Path) -> Path:
    return directory / "worker.log"


def _terminate_main_process(process: ServiceProcess) -> None:
    """SIGTERM to Dramatiq's main process only, which forwards it to its workers: a
    second SIGTERM (as `killpg` delivers) makes a worker process exit without stopping
    its threads, and it then hangs until killed."""
    if process.process is not None and process.process.poll() is None:
        os.kill(process.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.process.wait(20)


@pytest.fixture
async def api(deployment: Deployment) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=deployment.api_url, timeout=30) as http:
        yield http


async def eventually(
    probe: object, check: object, timeout_s: float = 30
) -> dict[tuple[str, Labels], float]:
    """Scrapes with `probe()` until `check(samples)` holds; returns the last scrape."""
    deadline = time.monotonic() + timeout_s
    samples: dict[tuple[str, Labels], float] = {}
    while time.monotonic() < deadline:
        samples = await probe()  # type: ignore[operator]
        if check(samples):  # type: ignore[operator]
            return samples
        await asyncio.sleep(0.25)
    return samples


async def test_a_repeated_search_counts_a_retrieval_cache_hit(
    api: httpx.AsyncClient, deployment: Deployment, tenant: Tenant
) -> None:
    created = await upload(
        api,
        tenant.admin,
        f"Payment packing is never acceptable. {DOCUMENT_SENTINEL}\n".encode() * 20,
        "ethics.txt",
    )
    assert created.status_code == 202, created.text
    await wait_for_status(api, tenant.admin, created.json()["id"], {"ready"}, timeout_s=60)
    before = await deployment.api_metrics()
    query = {"query": f"is payment packing acceptable {uuid.uuid4().hex[:6]}", "top_k": 3}

    first = await api.post("/v1/search", json=query, headers=tenant.user.headers)
    second = await api.post("/v1/search", json=query, headers=tenant.user.headers)
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
    api: httpx.AsyncClient, deployment: Deployment, tenant: Tenant
) -> None:
    before = await deployment.worker_metrics()
    failed_docs = ("avataradam_documents_failed_total", {"code": "encrypted_pdf"})
    failed_tasks = (
        "avataradam_task_outcomes_total",
        {"actor": "ingest_document", "outcome": "failure"},
    )

    created = await upload(
        api, tenant.admin, corpus_file("libreoffice-writer-password.pdf"), "locked.pdf"
    )
    assert created.status_code == 202, created.text
    body = await wait_for_status(api, tenant.admin, created.json()["id"], {"failed", "ready"})
    assert body["error"]["code"] == "encrypted_pdf"  # type: ignore[index]

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
    api: httpx.AsyncClient, deployment: Deployment, tenant: Tenant
) -> None:
    missing = uuid.uuid4()
    read = await api.get(f"/v1/documents/{missing}", headers=tenant.user.headers)
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
    api: httpx.AsyncClient, deployment: Deployment, tenant: Tenant
) -> None:
    assert (await api.get("/v1/me", headers=tenant.user.headers)).status_code == 200

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

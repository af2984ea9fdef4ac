"""One upload is one story: the same request id in API and worker logs, one trace."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import dramatiq
import httpx
import pytest
import redis.asyncio as aioredis
from dramatiq.brokers.stub import StubBroker
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from avataradam.adapters.dramatiq.queue import DramatiqTaskQueue
from avataradam.adapters.observability.tracing import (
    instrument_libraries,
    uninstrument_libraries,
)
from avataradam.domain.model import Role
from avataradam.domain.usecases.users import NewUser
from avataradam.entrypoints.bootstrap import message_options
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.observability.logging import configure_logging, reset_logging
from avataradam.entrypoints.settings import load_settings
from avataradam.entrypoints.worker.context import message_context
from tests.integration.conftest import PASSWORD, Tenant
from tests.integration.test_ingestion import upload, wait_for_status
from tests.support.asgi import asgi_transport
from tests.support.otel import recorded_spans
from tests.support.processes import ServiceProcess
from tests.support.world import in_memory_container


async def test_request_id_reaches_api_and_worker_log_lines(
    client: httpx.AsyncClient,
    tenant: Tenant,
    worker: ServiceProcess,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(service="avataradam-api", level="INFO", fmt="json")
    try:
        capsys.readouterr()
        created = await upload(
            client,
            tenant.admin,
            b"Correlation ids follow an upload into the worker.\n" * 5,
            "trace.txt",
            headers={"X-Request-ID": "abc-123"},
        )
        api_lines = [
            json.loads(line)
            for line in capsys.readouterr().out.splitlines()
            if line.startswith("{")
        ]
    finally:
        reset_logging()
    assert created.headers["x-request-id"] == "abc-123"
    [access] = [line for line in api_lines if line["event"] == "http_request"]
    assert access["request_id"] == "abc-123"
    assert access["route"] == "/v1/documents"
    assert access["dealership_id"] == tenant.dealership_id
    await wait_for_status(client, tenant.admin, created.json()["id"], {"ready"})
    deadline = time.monotonic() + 45  # a busy worker may run the message late
    worker_lines: list[dict[str, object]] = []
    while time.monotonic() < deadline and not worker_lines:
        worker_lines = [
            json.loads(line)
            for line in worker.output().splitlines()
            if line.startswith("{") and '"abc-123"' in line
        ]
        if any(line["event"] == "document_ingested" for line in worker_lines):
            break
        worker_lines = []
        await asyncio.sleep(0.2)
    events = {line["event"] for line in worker_lines}
    document_lines = [line for line in worker.output().splitlines() if created.json()["id"] in line]
    assert "document_ingested" in events, "\n".join(document_lines)[-4000:]
    assert all(line["request_id"] == "abc-123" for line in worker_lines)
    assert all(line["service"] == "avataradam-worker" for line in worker_lines)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with recorded_spans() as exporter:
        yield exporter


@pytest.fixture
async def traced_stack(
    redis_url: str,
) -> AsyncIterator[tuple[Container, StubBroker, httpx.AsyncClient]]:
    settings = load_settings(
        {
            "AVATARADAM_EMBEDDER": "hashing",
            "AVATARADAM_REDIS_URL": redis_url,
            "AVATARADAM_AUTH_ARGON2_TIME_COST": "1",
            "AVATARADAM_AUTH_ARGON2_MEMORY_KIB": "8192",
        },
        env_file=None,
    )
    broker = StubBroker()
    broker.emit_after("process_boot")
    container = in_memory_container(settings, queue=DramatiqTaskQueue(broker, message_options))
    await container.start()
    transport = asgi_transport(create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield container, broker, http
    await container.close()


def _by_name(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    matches = [s for s in spans if s.name == name]
    assert matches, f"no span {name!r} in {[s.name for s in spans]}"
    return matches[-1]


async def test_one_upload_is_one_trace_from_http_to_every_stage(
    spans: InMemorySpanExporter,
    traced_stack: tuple[Container, StubBroker, httpx.AsyncClient],
) -> None:
    container, broker, http = traced_stack
    dealership = await container.create_dealership.create("Traced Motors")
    email = f"tracer-{uuid.uuid4().hex[:6]}@example.com"
    await container.create_user.create(
        NewUser(email=email, password=PASSWORD, role=Role.DEALERSHIP_ADMIN), dealership.id
    )
    token = (await http.post("/v1/auth/token", json={"email": email, "password": PASSWORD})).json()[
        "access_token"
    ]
    spans.clear()

    response = await http.post(
        "/v1/documents",
        files={"file": ("t.txt", b"Trace this document end to end.\n" * 5, "text/plain")},
        data={"topic": "playbooks"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202, response.text
    [raw] = broker.queues["ingest"].queue
    message = dramatiq.Message.decode(raw)
    with message_context(message.actor_name, message.options):
        outcome = await container.ingest_document(uuid.UUID(response.json()["id"]))
    assert outcome.status == "ready"

    finished = spans.get_finished_spans()
    http_span = _by_name(finished, "POST /v1/documents")
    enqueue = _by_name(finished, "enqueue ingest_document")
    process = _by_name(finished, "process ingest_document")
    stages = [
        _by_name(finished, name)
        for name in ("ingest.extract_and_chunk", "ingest.embed", "ingest.index", "ingest.store")
    ]
    trace_id = http_span.context.trace_id
    assert all(s.context.trace_id == trace_id for s in [enqueue, process, *stages])
    assert enqueue.parent is not None
    assert process.parent is not None
    assert enqueue.parent.span_id == http_span.context.span_id
    assert process.parent.span_id == enqueue.context.span_id
    for stage in stages:
        assert stage.parent is not None
        assert stage.parent.span_id == process.context.span_id
    embed_call = _by_name(finished, "embedder.embed")
    assert embed_call.parent is not None
    assert embed_call.parent.span_id == _by_name(finished, "ingest.embed").context.span_id


async def test_database_and_redis_calls_are_traced_when_tracing_is_on(
    spans: InMemorySpanExporter, database_url: str, redis_url: str
) -> None:
    instrument_libraries()
    try:
        connection = await asyncpg.connect(database_url)
        client = aioredis.Redis.from_url(redis_url)
        try:
            await connection.fetchval("SELECT 1")
            await client.ping()
        finally:
            await connection.close()
            await client.aclose()
    finally:
        uninstrument_libraries()
    systems = {s.attributes.get("db.system") for s in spans.get_finished_spans() if s.attributes}
    assert {"postgresql", "redis"} <= systems

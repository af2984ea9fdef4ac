"""Ingestion use cases on in-memory adapters: pipeline, failures, re-runs, re-drives."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import msgspec
import pytest

from avataradam.adapters.chunking.semchunk import SemchunkChunker
from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.extract.composite import CompositeTextExtractor
from avataradam.adapters.filesystem.spool import TemporaryDirectorySpool
from avataradam.adapters.memory.queue import InMemoryTaskQueue
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex
from avataradam.adapters.system import SystemClock, UuidGenerator
from avataradam.domain.access import Principal
from avataradam.domain.errors import DomainError
from avataradam.domain.model import (
    DeliveryStatus,
    DocumentStatus,
    Role,
    Stage,
    Topic,
    WebhookSubscription,
)
from avataradam.domain.ports.knowledge import EmbedderUnavailable
from avataradam.domain.tasks import DELIVER_WEBHOOK, INGEST_DOCUMENT
from avataradam.domain.usecases.dealerships import CreateDealership
from avataradam.domain.usecases.document_jobs import MarkFailed, PurgeDocument, ReconcileDocuments
from avataradam.domain.usecases.documents import (
    TaskDispatcher,
    UploadDocument,
    UploadedFile,
    UploadRequest,
)
from avataradam.domain.usecases.ingestion import IngestDocument
from avataradam.domain.usecases.outbox import RelayOutbox
from tests.support.fakes import ManualClock
from tests.support.world import ingestion_options


class FlakyEmbedder:
    """Fails `failures` times with EmbedderUnavailable, then embeds; counts calls."""

    def __init__(self, failures: int = 0, error: DomainError | None = None) -> None:
        self.inner = HashingEmbedder(dimension=64)
        self.model_name, self.dimension = self.inner.model_name, 64
        self.failures, self.error, self.calls = failures, error, 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        if self.failures:
            self.failures -= 1
            raise EmbedderUnavailable("embedding service is down")
        return await self.inner.embed(texts)


@dataclass
class World:
    embedder: FlakyEmbedder = field(default_factory=FlakyEmbedder)
    clock: ManualClock = field(default_factory=ManualClock)
    queue: InMemoryTaskQueue = field(default_factory=InMemoryTaskQueue)
    index: InMemoryVectorIndex = field(default_factory=lambda: InMemoryVectorIndex(64))

    def __post_init__(self) -> None:
        self.telemetry = InMemoryTelemetry()
        self.uow = InMemoryUnitOfWorkFactory(InMemoryStore())
        self.ids = UuidGenerator()
        self.ingest = IngestDocument(
            self.uow,
            CompositeTextExtractor.default(),
            SemchunkChunker(chunk_size_tokens=40, overlap=0.1),
            self.embedder,
            self.index,
            self.clock,
            self.ids,
            self.telemetry,
            ingestion_options(),
            spool=TemporaryDirectorySpool(),
        )
        self.upload = UploadDocument(
            self.uow, TaskDispatcher(self.queue, self.clock, self.ids), self.clock, self.ids
        )

    async def admin(self) -> Principal:
        dealership = await CreateDealership(self.uow, self.clock, self.ids).create("Store")
        return Principal(
            user_id=uuid.uuid4(), role=Role.DEALERSHIP_ADMIN, dealership_id=dealership.id
        )

    async def upload_text(self, principal: Principal, text: str) -> uuid.UUID:
        data = text.encode()

        async def parts() -> AsyncIterator[bytes]:
            yield data

        async def scan() -> UploadedFile:
            return UploadedFile(
                filename="p.txt",
                content_type="text/plain",
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )

        result = await self.upload(
            principal,
            UploadRequest(topic=Topic.PLAYBOOKS),
            scan,
            parts,
        )
        return result.value.id

    async def document(self, document_id: uuid.UUID) -> object:
        async with self.uow() as uow:
            return await uow.documents.get(document_id, dealership_id=None)


TEXT = "The F&I manager presents every product on one menu. " * 30


async def test_upload_then_ingest_makes_a_ready_document_with_chunks_and_vectors() -> None:
    world = World()
    principal = await world.admin()
    document_id = await world.upload_text(principal, TEXT)
    [sent] = world.queue.take(INGEST_DOCUMENT)
    assert sent.payload["document_id"] == str(document_id)
    outcome = await world.ingest(document_id)
    assert outcome.status == "ready"
    assert world.telemetry.spans == [
        "ingest.extract_and_chunk",
        "ingest.embed",
        "ingest.index",
        "ingest.store",
    ]
    document = await world.document(document_id)
    assert document.status is DocumentStatus.READY  # type: ignore[attr-defined]
    assert document.progress == 1.0  # type: ignore[attr-defined]
    count = await world.index.count(str(principal.dealership_id), document_id=document_id)
    assert count == outcome.chunk_count > 1


async def test_a_second_run_of_a_ready_document_changes_nothing() -> None:
    world = World()
    document_id = await world.upload_text(await world.admin(), TEXT)
    await world.ingest(document_id)
    calls = world.embedder.calls
    assert (await world.ingest(document_id)).status == "skipped"
    assert world.embedder.calls == calls


async def test_transient_failure_is_recorded_and_raised_then_a_retry_succeeds() -> None:
    world = World(embedder=FlakyEmbedder(failures=1))
    document_id = await world.upload_text(await world.admin(), TEXT)
    with pytest.raises(EmbedderUnavailable):
        await world.ingest(document_id)
    pending = await world.document(document_id)
    assert pending.status is DocumentStatus.PROCESSING  # type: ignore[attr-defined]
    assert pending.error.code == "embedder_unavailable"  # type: ignore[attr-defined]
    outcome = await world.ingest(document_id)
    assert outcome.status == "ready"
    document = await world.document(document_id)
    assert document.attempts == 2  # type: ignore[attr-defined]
    assert document.error is None  # type: ignore[attr-defined]


async def test_a_permanent_backend_refusal_fails_the_document_with_its_code() -> None:
    class Refused(DomainError):
        code = "embedding_rejected"

    world = World(embedder=FlakyEmbedder(error=Refused("bad input")))
    document_id = await world.upload_text(await world.admin(), TEXT)
    outcome = await world.ingest(document_id)
    assert outcome.status == "failed"
    assert outcome.error_code == "embedding_rejected"
    document = await world.document(document_id)
    assert document.status is DocumentStatus.FAILED  # type: ignore[attr-defined]


async def test_retries_exhausted_fail_the_document_and_announce_it() -> None:
    world = World()
    document_id = await world.upload_text(await world.admin(), TEXT)
    await MarkFailed(world.uow, world.clock, world.ids)(
        document_id, code="retries_exhausted", message="gave up"
    )
    document = await world.document(document_id)
    assert document.error.code == "retries_exhausted"  # type: ignore[attr-defined]
    async with world.uow() as uow:
        events = await uow.outbox.claim_due(10, world.clock.now() + timedelta(days=1))
    assert any(e.message.payload().get("type") == "document.failed" for e in events)


async def test_a_document_deleted_during_ingestion_leaves_no_vectors() -> None:
    world = World()
    principal = await world.admin()
    document_id = await world.upload_text(principal, TEXT)

    original_upsert = world.index.upsert

    async def delete_then_upsert(namespace: str, records: Sequence[object]) -> None:
        async with world.uow() as uow:
            current = await uow.documents.get_for_update(document_id)
            assert current is not None
            await uow.documents.update(
                msgspec.structs.replace(current, status=DocumentStatus.DELETING)
            )
            await uow.commit()
        await original_upsert(namespace, records)  # type: ignore[arg-type]

    world.index.upsert = delete_then_upsert  # type: ignore[method-assign]
    assert (await world.ingest(document_id)).status == "deleted"
    assert await world.index.count(str(principal.dealership_id), document_id=document_id) == 0

    world.index.upsert = original_upsert  # type: ignore[method-assign]
    purge = PurgeDocument(world.uow, world.index, world.clock, world.ids)
    assert await purge(document_id)
    assert await world.document(document_id) is None
    assert not await purge(document_id)


async def test_reconciler_redrives_a_lost_message_once_across_reconcilers() -> None:
    world = World()
    document_id = await world.upload_text(await world.admin(), TEXT)
    world.queue.take(INGEST_DOCUMENT)  # the message is lost
    reconcile = ReconcileDocuments(
        world.uow,
        world.queue,
        world.clock,
        queued_timeout=timedelta(seconds=60),
    )
    assert await reconcile() == []  # waiting in the queue for a while is normal
    world.clock.advance(61)
    assert await reconcile() == [document_id]
    assert await reconcile() == []  # touched: another reconciler does not re-drive it
    [sent] = world.queue.take(INGEST_DOCUMENT)
    assert sent.payload["document_id"] == str(document_id)


async def test_relay_enqueues_tasks_the_api_could_not_and_fans_events_out() -> None:
    world = World()
    principal = await world.admin()
    world.queue.available = False
    document_id = await world.upload_text(principal, TEXT)  # acknowledged without a queue
    assert world.queue.sent == []
    world.queue.available = True
    relay = RelayOutbox(world.uow, world.queue, world.clock, world.ids)
    assert await relay() == 0  # within the API's grace period
    world.clock.advance(11)
    assert await relay() == 1
    [sent] = world.queue.take(INGEST_DOCUMENT)
    assert sent.payload["document_id"] == str(document_id)

    assert principal.dealership_id is not None
    subscription = WebhookSubscription(
        id=uuid.uuid4(),
        dealership_id=principal.dealership_id,
        url="https://example.com/hook",
        events=("document.ready",),
        secret="whsec_x",
        active=True,
        created_at=world.clock.now(),
    )
    async with world.uow() as uow:
        await uow.webhooks.add(subscription)
        await uow.commit()
    await world.ingest(document_id)
    assert await relay() == 1
    [delivery_task] = world.queue.take(DELIVER_WEBHOOK)
    async with world.uow() as uow:
        delivery = await uow.webhooks.get_delivery(uuid.UUID(delivery_task.payload["delivery_id"]))
    assert delivery is not None
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.event_type == "document.ready"


async def test_a_long_extraction_keeps_renewing_the_lease() -> None:
    class SlowExtractor:
        def __init__(self) -> None:
            self.inner = CompositeTextExtractor.default()

        def extract(self, path: object, content_type: str) -> object:
            time.sleep(0.6)
            return self.inner.extract(path, content_type)  # type: ignore[arg-type]

    world = World()
    world.clock = SystemClock()  # type: ignore[assignment]
    world.__post_init__()
    world.ingest = IngestDocument(
        world.uow,
        SlowExtractor(),  # type: ignore[arg-type]
        SemchunkChunker(chunk_size_tokens=40, overlap=0.1),
        world.embedder,
        world.index,
        world.clock,
        world.ids,
        world.telemetry,
        ingestion_options(lease_s=0.3, lease_renew_interval_s=0.1),
        spool=TemporaryDirectorySpool(),
    )
    document_id = await world.upload_text(await world.admin(), TEXT)
    expiries: set[object] = set()
    stalled: list[bool] = []

    async def watch() -> None:
        while True:
            document = await world.document(document_id)
            if document.stage is Stage.EXTRACTING:  # type: ignore[attr-defined]
                expiries.add(document.lease_expires_at)  # type: ignore[attr-defined]
                stalled.append(document.stalled(world.clock.now()))  # type: ignore[attr-defined]
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    try:
        assert (await world.ingest(document_id)).status == "ready"
    finally:
        watcher.cancel()
    assert len(expiries) >= 3, "the lease was not renewed while extracting"
    assert stalled
    assert not any(stalled), "a lease shorter than the extraction lapsed although renewed"

"""Processing leases on in-memory adapters with a fake clock: who may claim a document,
when it is `stalled`, when the reconciler re-drives it, and that a worker whose lease
was taken over writes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from avataradam.domain.errors import DomainError
from avataradam.domain.model import Document, DocumentStatus, Stage, Topic
from avataradam.domain.ports.knowledge import EmbedderUnavailable
from avataradam.domain.tasks import INGEST_DOCUMENT
from avataradam.domain.usecases.document_jobs import MarkFailed, ReconcileDocuments
from tests.support.world import ingestion_options
from tests.unit.test_ingestion_usecases import TEXT, FlakyEmbedder, World

LEASE_S = 20.0
QUEUED_TIMEOUT = timedelta(seconds=300)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def reconciler(world: World) -> ReconcileDocuments:
    return ReconcileDocuments(world.uow, world.queue, world.clock, queued_timeout=QUEUED_TIMEOUT)


async def stored(world: World, document_id: uuid.UUID) -> Document:
    document = await world.document(document_id)
    assert isinstance(document, Document)
    return document


class HookedEmbedder(FlakyEmbedder):
    """Runs `hook` (once) before its first embedding: a moment inside a run."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: list[object] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        while self.hook:
            await self.hook.pop()  # type: ignore[misc]
        return await super().embed(texts)


def queued_document(**fields: object) -> Document:
    base = Document(
        id=uuid.uuid4(),
        dealership_id=uuid.uuid4(),
        topic=Topic.BOOKS,
        filename="f.txt",
        content_type="text/plain",
        size_bytes=1,
        sha256="0" * 64,
        status=DocumentStatus.QUEUED,
        stage=None,
        progress=0.0,
        chunk_count=0,
        attempts=0,
        error=None,
        created_at=T0,
        updated_at=T0,
    )
    return msgspec.structs.replace(base, **fields)


def test_a_claim_holds_the_document_until_its_lease_lapses() -> None:
    lease = timedelta(seconds=LEASE_S)
    queued = queued_document()
    assert queued.claimable(T0)
    assert not queued.stalled(T0)

    held = queued.claimed(token=uuid.uuid4(), now=T0, lease=lease)
    assert (held.status, held.stage, held.attempts) == (
        DocumentStatus.PROCESSING,
        Stage.EXTRACTING,
        1,
    )
    assert held.processing_started_at == T0
    assert not held.claimable(T0 + lease - timedelta(microseconds=1))
    assert not held.stalled(T0 + lease - timedelta(microseconds=1))
    assert held.stalled(T0 + lease)
    assert held.claimable(T0 + lease)

    later = T0 + 2 * lease
    taken_over = held.claimed(token=uuid.uuid4(), now=later, lease=lease)
    assert taken_over.attempts == 2
    assert taken_over.processing_started_at == T0, "a re-drive keeps when processing began"
    assert not taken_over.held_by(held.lease_token)  # type: ignore[arg-type]

    released = taken_over.released(until=later + lease)
    assert released.stalled(later), "released: no worker holds it"
    assert released.claimable(later)


async def test_a_duplicate_message_skips_a_document_held_by_a_live_lease() -> None:
    world = World()
    embedder = HookedEmbedder()
    world.embedder = embedder
    world.__post_init__()
    document_id = await world.upload_text(await world.admin(), TEXT)
    duplicate: list[str] = []

    async def duplicate_arrives() -> None:
        world.clock.advance(LEASE_S - 1)
        duplicate.append((await world.ingest(document_id)).status)

    embedder.hook.append(duplicate_arrives())
    assert (await world.ingest(document_id)).status == "ready"
    assert duplicate == ["skipped"]
    assert (await stored(world, document_id)).attempts == 1


async def test_a_lapsed_lease_is_stalled_redriven_once_and_claimed_again() -> None:
    world = World()
    document_id = await world.upload_text(await world.admin(), TEXT)
    world.queue.take(INGEST_DOCUMENT)
    async with world.uow() as uow:  # a worker claims the document, then dies
        current = await uow.documents.get_for_update(document_id)
        assert current is not None
        dead = current.claimed(
            token=uuid.uuid4(), now=world.clock.now(), lease=timedelta(seconds=LEASE_S)
        )
        await uow.documents.update(dead)
        await uow.commit()
    reconcile = reconciler(world)

    world.clock.advance(LEASE_S - 1)
    assert not (await stored(world, document_id)).stalled(world.clock.now())
    assert await reconcile() == []

    world.clock.advance(1)
    assert (await stored(world, document_id)).stalled(world.clock.now())
    assert await reconcile() == [document_id]
    assert await reconcile() == [], "another reconciler does not re-drive it again"
    [sent] = world.queue.take(INGEST_DOCUMENT)
    assert sent.payload["document_id"] == str(document_id)
    assert (await stored(world, document_id)).stalled(world.clock.now()), "until claimed"

    outcome = await world.ingest(document_id)
    document = await stored(world, document_id)
    assert outcome.status == "ready"
    assert document.attempts == 2
    assert document.lease_token is None
    assert not document.stalled(world.clock.now())


async def test_a_redriven_document_nobody_claims_is_redriven_again_after_the_queued_timeout() -> (
    None
):
    world = World()
    document_id = await world.upload_text(await world.admin(), TEXT)
    async with world.uow() as uow:
        current = await uow.documents.get_for_update(document_id)
        assert current is not None
        await uow.documents.update(
            current.claimed(token=uuid.uuid4(), now=world.clock.now(), lease=timedelta(seconds=1))
        )
        await uow.commit()
    world.clock.advance(2)
    reconcile = reconciler(world)
    assert await reconcile() == [document_id]
    world.clock.advance(QUEUED_TIMEOUT.total_seconds() - 1)
    assert await reconcile() == []
    world.clock.advance(2)
    assert await reconcile() == [document_id], "the re-driven message was lost too"


async def test_a_worker_whose_lease_was_taken_over_writes_nothing_more() -> None:
    world = World()
    embedder = HookedEmbedder()
    world.embedder = embedder
    world.__post_init__()
    principal = await world.admin()
    document_id = await world.upload_text(principal, TEXT)
    second: list[str] = []

    async def lease_lapses_and_another_worker_finishes() -> None:
        world.clock.advance(LEASE_S + 1)  # the first worker stalls past its lease
        assert await reconciler(world)() == [document_id]
        second.append((await world.ingest(document_id)).status)

    embedder.hook.append(lease_lapses_and_another_worker_finishes())
    first = await world.ingest(document_id)
    document = await stored(world, document_id)
    assert second == ["ready"]
    assert first.status == "superseded"
    assert document.status is DocumentStatus.READY
    assert document.attempts == 2
    assert document.chunk_count > 0
    async with world.uow() as uow:
        assert await uow.chunks.count(document_id) == document.chunk_count


async def test_a_failed_attempt_releases_the_lease_until_its_retry_is_due() -> None:
    world = World(embedder=FlakyEmbedder(failures=1))
    document_id = await world.upload_text(await world.admin(), TEXT)
    retry_within = timedelta(seconds=8)
    with pytest.raises(EmbedderUnavailable):
        await world.ingest(document_id, retry_within=retry_within)
    released = await stored(world, document_id)
    assert released.status is DocumentStatus.PROCESSING
    assert released.error is not None
    assert released.error.code == "embedder_unavailable"
    assert released.lease_token is None
    assert released.stalled(world.clock.now()), "no worker holds it while the retry waits"
    due = world.clock.now() + retry_within + timedelta(seconds=LEASE_S)
    assert released.lease_expires_at == due

    reconcile = reconciler(world)
    world.queue.take(INGEST_DOCUMENT)
    world.clock.advance((due - world.clock.now()).total_seconds() - 1)
    assert await reconcile() == [], "the retry is not due yet"
    world.clock.advance(2)
    assert await reconcile() == [document_id], "the retry never came"
    assert (await world.ingest(document_id)).status == "ready"


async def test_a_failed_attempt_is_retried_at_once_when_the_retry_comes() -> None:
    world = World(embedder=FlakyEmbedder(failures=1))
    document_id = await world.upload_text(await world.admin(), TEXT)
    with pytest.raises(EmbedderUnavailable):
        await world.ingest(document_id, retry_within=timedelta(seconds=1))
    world.clock.advance(1)
    assert (await world.ingest(document_id)).status == "ready"
    assert (await stored(world, document_id)).attempts == 2


async def test_a_cancelled_run_releases_its_lease() -> None:
    world = World()
    embedder = HookedEmbedder()
    world.embedder = embedder
    world.__post_init__()
    document_id = await world.upload_text(await world.admin(), TEXT)

    async def stopped() -> None:
        raise asyncio.CancelledError

    embedder.hook.append(stopped())
    with pytest.raises(asyncio.CancelledError):
        await world.ingest(document_id, retry_within=timedelta(seconds=2))
    document = await stored(world, document_id)
    assert document.lease_token is None
    assert document.claimable(world.clock.now())


async def test_failing_without_the_lease_refuses_a_document_a_live_lease_holds() -> None:
    world = World()
    embedder = HookedEmbedder()
    world.embedder = embedder
    world.__post_init__()
    document_id = await world.upload_text(await world.admin(), TEXT)
    mark_failed = MarkFailed(world.uow, world.clock, world.ids)
    refused: list[bool] = []

    async def a_late_last_attempt_gives_up() -> None:
        refused.append(await mark_failed(document_id, code="retries_exhausted", message="x"))

    embedder.hook.append(a_late_last_attempt_gives_up())
    assert (await world.ingest(document_id)).status == "ready"
    assert refused == [False]


async def test_a_permanent_failure_is_recorded_by_the_lease_holder() -> None:
    class Refused(DomainError):
        code = "embedding_rejected"

    world = World(embedder=FlakyEmbedder(error=Refused("bad input")))
    document_id = await world.upload_text(await world.admin(), TEXT)
    assert (await world.ingest(document_id)).status == "failed"
    document = await stored(world, document_id)
    assert document.status is DocumentStatus.FAILED
    assert (document.lease_token, document.lease_expires_at) == (None, None)


def test_lease_options_default_to_a_short_lease_renewed_four_times_over() -> None:
    options = ingestion_options()
    assert options.lease_s == LEASE_S
    assert options.lease_renew_interval_s * 4 <= options.lease_s

"""Worker-side document work: ingest, purge, reconcile, relay the outbox.

Every step is idempotent. Vector and chunk ids are (document id, chunk index), so a
redelivered or retried run overwrites what an earlier run wrote and never adds to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import msgspec

from avataradam.domain.errors import Conflict, DependencyUnavailable, DomainError
from avataradam.domain.model import (
    Chunk,
    DeliveryStatus,
    Document,
    DocumentError,
    DocumentStatus,
    OutboxEntry,
    Stage,
    WebhookDelivery,
)
from avataradam.domain.ports.knowledge import (
    ChunkDraft,
    Chunker,
    Embedder,
    Extraction,
    ExtractionFailed,
    TextExtractor,
    VectorIndex,
    VectorRecord,
    vector_id,
)
from avataradam.domain.ports.repositories import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.services import TaskQueue, Telemetry
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.tasks import (
    DELETE_DOCUMENT,
    DELIVER_WEBHOOK,
    DOCUMENT_DELETED,
    DOCUMENT_FAILED,
    DOCUMENT_READY,
    INGEST_DOCUMENT,
    OUTBOX_EVENT,
    OUTBOX_TASK,
)

# Share of `progress` reached once the whole file is read and stored, before `ready`.
_STORED = 0.95


class IngestionOptions(msgspec.Struct, frozen=True, kw_only=True):
    embed_batch_size: int = 64
    upsert_batch_size: int = 500
    """Passages extracted, embedded, indexed and stored together: at most this many (and
    their vectors) are held in memory at once, whatever the document's size."""
    progress_interval_s: float = 0.5
    heartbeat_interval_s: float = 10.0
    """How often a long step without progress (extraction) shows it is alive; keep it
    well below the reconciler's stall timeout."""


class IngestOutcome(msgspec.Struct, frozen=True, kw_only=True):
    document_id: UUID
    status: str
    chunk_count: int = 0
    error_code: str | None = None


def document_event(ids: IdGenerator, clock: Clock, event: str, document: Document) -> OutboxEntry:
    """An outbox entry announcing a document's change to webhook subscribers."""
    now = clock.now()
    payload = {
        "type": event,
        "dealership_id": str(document.dealership_id),
        "document_id": str(document.id),
        "filename": document.filename,
        "topic": document.topic.value,
        "status": document.status.value,
        "chunk_count": str(document.chunk_count),
        "occurred_at": now.isoformat(),
    }
    if document.error is not None:
        payload["error_code"] = document.error.code
    return OutboxEntry(
        id=ids.new_id(), kind=OUTBOX_EVENT, payload=payload, created_at=now, available_at=now
    )


class _Progress:
    """Writes stage/progress at most every `interval_s`, so polling clients see movement."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, document_id: UUID, interval_s: float
    ) -> None:
        self._uow, self._clock, self._id, self._interval = uow, clock, document_id, interval_s
        self._last = 0.0

    @contextlib.asynccontextmanager
    async def alive(self, stage: Stage, progress: float, interval_s: float) -> AsyncIterator[None]:
        """Reports the same progress every `interval_s` while the block runs, so a long
        step is not mistaken for a dead worker by the reconciler."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(interval_s)
                await self.report(stage, progress, force=True)

        heartbeat = asyncio.create_task(beat())
        try:
            yield
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError, DependencyUnavailable):
                await heartbeat

    async def report(self, stage: Stage, progress: float, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        async with self._uow() as uow:
            await uow.documents.set_progress(
                self._id, stage=stage, progress=round(progress, 4), updated_at=self._clock.now()
            )
            await uow.commit()


class _StageTimes:
    """The time one document's ingestion spends in each stage, summed over its batches:
    the stages interleave (each batch is extracted, chunked, embedded, indexed and stored
    in turn), and operators want one figure per stage and document."""

    def __init__(self) -> None:
        self.seconds: dict[Stage, float] = {}

    @contextlib.contextmanager
    def timing(self, stage: Stage) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed

    def report(self, telemetry: Telemetry) -> None:
        for stage, seconds in self.seconds.items():
            telemetry.ingestion_stage_time(stage, seconds)


@dataclass(frozen=True, slots=True)
class _Batch:
    """Consecutive passages of a document, from chunk index `first_index` on."""

    first_index: int
    drafts: list[ChunkDraft]
    last: bool
    read_share: float | None

    @property
    def end_index(self) -> int:
        return self.first_index + len(self.drafts)


class _Batches:
    """A document's passages in batches of at most `size`, read ahead by one passage so
    that a batch knows whether it is the last. `take` blocks (extraction and chunking run
    in it): call it from a worker thread, one call at a time."""

    def __init__(
        self,
        passages: Iterator[ChunkDraft],
        size: int,
        read_share: Callable[[], float] | None,
    ) -> None:
        self._passages, self._size, self._read_share = passages, size, read_share
        self._ahead: list[ChunkDraft] = []
        self._next_index = 0

    def take(self) -> _Batch:
        drafts = self._ahead
        drafts.extend(itertools.islice(self._passages, self._size + 1 - len(drafts)))
        self._ahead = drafts[self._size :]
        del drafts[self._size :]
        batch = _Batch(
            first_index=self._next_index,
            drafts=drafts,
            last=not self._ahead,
            read_share=None if self._read_share is None else self._read_share(),
        )
        self._next_index = batch.end_index
        return batch


@dataclass(slots=True)
class _Run:
    """What one ingestion run has done so far."""

    times: _StageTimes = field(default_factory=_StageTimes)
    stored: int = 0
    """Passages whose vectors (and chunk rows) this run may have written."""


class IngestDocument:
    """extract -> chunk -> embed -> upsert vectors -> store chunks, batch by batch -> ready.

    Memory is bounded by `upsert_batch_size`, not by the document: sections are extracted
    lazily and chunked one at a time, and each batch of passages is embedded (in requests
    of `embed_batch_size`), upserted into the vector index and stored as chunk rows before
    the next is extracted. Chunk rows are served only once their document is `ready`, so
    a half-stored document is invisible; the last batch is stored in the transaction that
    makes the document ready. Ids are (document id, chunk index): a re-run overwrites
    what an earlier one wrote, and one that chunks the document into fewer passages
    deletes the earlier surplus, so a re-driven document ends with exactly its own
    passages and vectors.

    Permanent problems (corrupt, encrypted or empty files) fail the document with a
    specific code and discard what earlier batches stored. Transient ones
    (DependencyUnavailable) are recorded on the document and re-raised for the queue to
    retry with backoff.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        extractor: TextExtractor,
        chunker: Chunker,
        embedder: Embedder,
        index: VectorIndex,
        clock: Clock,
        ids: IdGenerator,
        telemetry: Telemetry,
        options: IngestionOptions | None = None,
    ) -> None:
        self._uow, self._extractor, self._chunker = uow, extractor, chunker
        self._embedder, self._index, self._clock, self._ids = embedder, index, clock, ids
        self._telemetry = telemetry
        self._options = options or IngestionOptions()

    async def __call__(self, document_id: UUID) -> IngestOutcome:
        document = await self._claim(document_id)
        if document is None:
            return IngestOutcome(document_id=document_id, status="skipped")
        progress = _Progress(self._uow, self._clock, document.id, self._options.progress_interval_s)
        run = _Run()
        try:
            return await self._ingest(document, progress, run)
        except DependencyUnavailable as exc:
            await self._note_transient(document.id, exc)
            raise
        except DomainError as exc:
            # Permanent: a bad file, or a backend refusing this input. Retrying cannot help.
            code = exc.reason if isinstance(exc, ExtractionFailed) else exc.code
            await MarkFailed(self._uow, self._clock, self._ids)(
                document.id, code=code, message=exc.message
            )
            if run.stored:
                await self._discard(document)
            return IngestOutcome(document_id=document.id, status="failed", error_code=code)
        finally:
            run.times.report(self._telemetry)

    async def _claim(self, document_id: UUID) -> Document | None:
        async with self._uow() as uow:
            current = await uow.documents.get_for_update(document_id)
            if current is None or current.status not in (
                DocumentStatus.QUEUED,
                DocumentStatus.PROCESSING,
            ):
                return None
            claimed = msgspec.structs.replace(
                current,
                status=DocumentStatus.PROCESSING,
                stage=Stage.EXTRACTING,
                progress=0.0,
                attempts=current.attempts + 1,
                updated_at=self._clock.now(),
            )
            await uow.documents.update(claimed)
            await uow.commit()
            return claimed

    async def _ingest(self, document: Document, progress: _Progress, run: _Run) -> IngestOutcome:
        span, times = self._telemetry.span, run.times
        heartbeat = self._options.heartbeat_interval_s
        with tempfile.TemporaryDirectory(prefix="avataradam-") as tmp:
            path = Path(tmp) / "upload"
            with times.timing(Stage.EXTRACTING):
                await self._download(document, path)
                async with progress.alive(Stage.EXTRACTING, 0.0, heartbeat):
                    extraction = await asyncio.to_thread(
                        self._extractor.extract, path, document.content_type
                    )
            batches = _Batches(
                self._passages(extraction, times),
                self._options.upsert_batch_size,
                extraction.read_share,
            )
            done = 0.0
            while True:
                with span("ingest.extract_and_chunk"):
                    async with progress.alive(Stage.EXTRACTING, done, heartbeat):
                        batch = await asyncio.to_thread(batches.take)
                if not batch.drafts:
                    raise ExtractionFailed("the document contains no text", reason="empty_text")
                target = max(done, _STORED * self._share(batch))
                with span("ingest.embed"), times.timing(Stage.EMBEDDING):
                    await progress.report(Stage.EMBEDDING, done, force=batch.first_index == 0)
                    vectors = await self._embed(batch, progress, done, target)
                with span("ingest.index"), times.timing(Stage.INDEXING):
                    await progress.report(Stage.INDEXING, target)
                    run.stored = batch.end_index
                    await self._upsert(document, batch, vectors)
                del vectors
                with span("ingest.store"), times.timing(Stage.STORING):
                    if batch.last:
                        await progress.report(Stage.STORING, _STORED, force=True)
                        return await self._finish(document, batch, extraction)
                    stopped = await self._store(document, batch)
                if stopped is not None:
                    return stopped
                done = target

    async def _download(self, document: Document, path: Path) -> None:
        async with self._uow(read_only=False) as uow:
            with path.open("wb") as handle:
                async for part in uow.blobs.read(document.id):
                    handle.write(part)

    def _passages(self, extraction: Extraction, times: _StageTimes) -> Iterator[ChunkDraft]:
        """The document's passages in order, a section extracted and chunked at a time
        (passages never span sections: see `Chunker`)."""
        while True:
            with times.timing(Stage.EXTRACTING):
                section = next(extraction.sections, None)
            if section is None:
                return
            with times.timing(Stage.CHUNKING):
                drafts = self._chunker.split([section])
            yield from drafts

    def _share(self, batch: _Batch) -> float:
        """How much of the document is done once `batch` is stored (0..1): the share of
        the file read, where the extractor tells it, else a guess that tends to 1."""
        if batch.last:
            return 1.0
        if batch.read_share is not None:
            return min(1.0, max(0.0, batch.read_share))
        return batch.end_index / (batch.end_index + self._options.upsert_batch_size)

    async def _embed(
        self, batch: _Batch, progress: _Progress, done: float, target: float
    ) -> list[list[float]]:
        texts = [draft.text for draft in batch.drafts]
        vectors: list[list[float]] = []
        size = self._options.embed_batch_size
        for start in range(0, len(texts), size):
            vectors.extend(await self._embedder.embed(texts[start : start + size]))
            share = len(vectors) / len(texts)
            await progress.report(Stage.EMBEDDING, done + (target - done) * share)
        return vectors

    async def _upsert(self, document: Document, batch: _Batch, vectors: list[list[float]]) -> None:
        records = [
            VectorRecord(
                id=vector_id(document.id, index),
                values=values,
                document_id=document.id,
                topic=document.topic,
            )
            for index, values in enumerate(vectors, start=batch.first_index)
        ]
        await self._index.upsert(str(document.dealership_id), records)

    @staticmethod
    def _chunks(document: Document, batch: _Batch) -> list[Chunk]:
        return [
            Chunk(
                id=vector_id(document.id, index),
                document_id=document.id,
                dealership_id=document.dealership_id,
                index=index,
                text=draft.text,
                topic=document.topic,
                filename=document.filename,
                page=draft.page,
                section=draft.section,
            )
            for index, draft in enumerate(batch.drafts, start=batch.first_index)
        ]

    async def _store(self, document: Document, batch: _Batch) -> IngestOutcome | None:
        """Stores a batch's chunk rows; an outcome instead when the document was deleted
        or made ready by another run meanwhile (then this run stops)."""
        async with self._uow() as uow:
            current = await uow.documents.get_for_update(document.id)
            stopped = await self._stopped(document, current)
            if stopped is not None:
                return stopped
            await uow.chunks.put(document.id, self._chunks(document, batch))
            await uow.commit()
        return None

    async def _stopped(self, document: Document, current: Document | None) -> IngestOutcome | None:
        if current is None or current.status is DocumentStatus.DELETING:
            # Deleted while we worked: what we indexed must not outlive it.
            await self._index.delete_document(str(document.dealership_id), document.id)
            return IngestOutcome(document_id=document.id, status="deleted")
        if current.status is DocumentStatus.READY:
            return IngestOutcome(
                document_id=document.id, status="ready", chunk_count=current.chunk_count
            )
        return None

    async def _finish(
        self, document: Document, batch: _Batch, extraction: Extraction
    ) -> IngestOutcome:
        count = batch.end_index
        if document.attempts > 1:
            # An earlier run may have chunked the document into more passages.
            await self._index.delete_document(
                str(document.dealership_id), document.id, from_index=count
            )
        async with self._uow() as uow:
            current = await uow.documents.get_for_update(document.id)
            stopped = await self._stopped(document, current)
            if stopped is not None:
                return stopped
            assert current is not None  # noqa: S101 - `_stopped` answered None
            await uow.chunks.put(document.id, self._chunks(document, batch))
            await uow.chunks.delete_from(document.id, count)
            ready = msgspec.structs.replace(
                current,
                status=DocumentStatus.READY,
                stage=None,
                progress=1.0,
                chunk_count=count,
                error=None,
                updated_at=self._clock.now(),
                title=extraction.title,
                warnings=tuple(extraction.warnings),
            )
            await uow.documents.update(ready)
            await uow.dealerships.bump_generation(ready.dealership_id)
            await uow.outbox.add(document_event(self._ids, self._clock, DOCUMENT_READY, ready))
            await uow.commit()
        return IngestOutcome(document_id=document.id, status="ready", chunk_count=count)

    async def _discard(self, document: Document) -> None:
        """Removes what earlier batches of a now failed document stored (best effort: a
        later delete of the document removes anything left)."""
        with contextlib.suppress(DependencyUnavailable):
            async with self._uow() as uow:
                current = await uow.documents.get_for_update(document.id)
                if current is None or current.status is not DocumentStatus.FAILED:
                    return
                await uow.chunks.delete_document(document.id)
                await uow.commit()
            await self._index.delete_document(str(document.dealership_id), document.id)

    async def _note_transient(self, document_id: UUID, exc: DependencyUnavailable) -> None:
        try:
            async with self._uow() as uow:
                current = await uow.documents.get_for_update(document_id)
                if current is not None and current.status is DocumentStatus.PROCESSING:
                    await uow.documents.update(
                        msgspec.structs.replace(
                            current,
                            error=DocumentError(code=exc.code, message=exc.message),
                            updated_at=self._clock.now(),
                        )
                    )
                    await uow.commit()
        except DependencyUnavailable:
            return  # the database itself is down; the retry will find out


class MarkFailed:
    """Fails a document (permanently, or after its retries ran out) and announces it."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._clock, self._ids = uow, clock, ids

    async def __call__(self, document_id: UUID, *, code: str, message: str) -> None:
        async with self._uow() as uow:
            current = await uow.documents.get_for_update(document_id)
            if current is None or current.status not in (
                DocumentStatus.QUEUED,
                DocumentStatus.PROCESSING,
            ):
                return
            failed = msgspec.structs.replace(
                current,
                status=DocumentStatus.FAILED,
                stage=None,
                error=DocumentError(code=code, message=message),
                updated_at=self._clock.now(),
            )
            await uow.documents.update(failed)
            await uow.outbox.add(document_event(self._ids, self._clock, DOCUMENT_FAILED, failed))
            await uow.commit()


class PurgeDocument:
    """Removes a `deleting` document's vectors, chunks, blob and row, then announces it."""

    def __init__(
        self, uow: UnitOfWorkFactory, index: VectorIndex, clock: Clock, ids: IdGenerator
    ) -> None:
        self._uow, self._index, self._clock, self._ids = uow, index, clock, ids

    async def __call__(self, document_id: UUID) -> bool:
        async with self._uow() as uow:
            document = await uow.documents.get(document_id, dealership_id=None)
        if document is None or document.status is not DocumentStatus.DELETING:
            return False
        await self._index.delete_document(str(document.dealership_id), document.id)
        async with self._uow() as uow:
            current = await uow.documents.get_for_update(document_id)
            if current is None:
                return False
            await uow.chunks.delete_document(document_id)
            await uow.blobs.delete(document_id)
            await uow.documents.delete(document_id)
            await uow.dealerships.bump_generation(current.dealership_id)
            await uow.outbox.add(document_event(self._ids, self._clock, DOCUMENT_DELETED, current))
            await uow.commit()
        return True


class ReconcileDocuments:
    """Re-drives documents whose queue message was lost, from PostgreSQL.

    A document `queued` longer than `queued_timeout` (its message never arrived) or
    `processing` without progress for `stalled_timeout` (its worker died) is enqueued
    again. Each is re-checked under a row lock and touched in the same transaction, so
    many reconcilers never re-drive the same document twice.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        queue: TaskQueue,
        clock: Clock,
        *,
        queued_timeout: timedelta,
        stalled_timeout: timedelta,
        batch: int = 100,
    ) -> None:
        self._uow, self._queue, self._clock = uow, queue, clock
        self._timeouts = {
            DocumentStatus.QUEUED: (queued_timeout, INGEST_DOCUMENT),
            DocumentStatus.PROCESSING: (stalled_timeout, INGEST_DOCUMENT),
            DocumentStatus.DELETING: (stalled_timeout, DELETE_DOCUMENT),
        }
        self._batch = batch

    async def __call__(self) -> list[UUID]:
        redriven: list[UUID] = []
        for status, (timeout, task) in self._timeouts.items():
            now = self._clock.now()
            async with self._uow() as uow:
                stale = await uow.documents.list_stale(
                    statuses=[status], updated_before=now - timeout, limit=self._batch
                )
                for candidate in stale:
                    if await self._touch_if_stale(uow, candidate.id, status, now - timeout, now):
                        await self._queue.enqueue(task, {"document_id": str(candidate.id)})
                        redriven.append(candidate.id)
                await uow.commit()
        return redriven

    @staticmethod
    async def _touch_if_stale(
        uow: UnitOfWork, document_id: UUID, status: DocumentStatus, cutoff: datetime, now: datetime
    ) -> bool:
        current = await uow.documents.get_for_update(document_id)
        if current is None or current.status is not status or current.updated_at >= cutoff:
            return False
        await uow.documents.update(msgspec.structs.replace(current, updated_at=now))
        return True


class RelayOutbox:
    """Hands due outbox entries on: tasks to the queue, events to webhook deliveries."""

    def __init__(
        self, uow: UnitOfWorkFactory, queue: TaskQueue, clock: Clock, ids: IdGenerator
    ) -> None:
        self._uow, self._queue, self._clock, self._ids = uow, queue, clock, ids

    async def __call__(self, limit: int = 100) -> int:
        async with self._uow() as uow:
            entries = await uow.outbox.claim_due(limit, self._clock.now())
            for entry in entries:
                try:
                    if entry.kind == OUTBOX_TASK:
                        await self._queue.enqueue(entry.payload["task"], entry.payload)
                    elif entry.kind == OUTBOX_EVENT:
                        await self._fan_out(uow, entry)
                except DependencyUnavailable:
                    await uow.outbox.reschedule(entry.id, self._clock.now() + timedelta(seconds=5))
                    continue
                await uow.outbox.mark_done(entry.id)
            await uow.commit()
        return len(entries)

    async def _fan_out(self, uow: UnitOfWork, entry: OutboxEntry) -> None:
        event = entry.payload["type"]
        dealership_id = UUID(entry.payload["dealership_id"])
        body = msgspec.json.encode(
            {
                "type": event,
                "timestamp": entry.payload.get("occurred_at", entry.created_at.isoformat()),
                "data": {
                    k: v for k, v in entry.payload.items() if k not in {"type", "occurred_at"}
                },
            }
        )
        for subscription in await uow.webhooks.list_for_event(dealership_id, event):
            now = self._clock.now()
            delivery = WebhookDelivery(
                id=self._ids.new_id(),
                subscription_id=subscription.id,
                event_type=event,
                message_id=f"msg_{entry.id.hex}",
                payload=body,
                status=DeliveryStatus.PENDING,
                attempts=0,
                last_status_code=None,
                last_error=None,
                created_at=now,
                updated_at=now,
            )
            try:
                await uow.webhooks.add_delivery(delivery)
            except Conflict:
                continue  # already fanned out by an earlier, interrupted relay
            await self._queue.enqueue(DELIVER_WEBHOOK, {"delivery_id": str(delivery.id)})

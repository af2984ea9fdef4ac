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
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import msgspec

from avataradam.domain import codes
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
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
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
    """Built from Settings (entrypoints/options.py), which hold the defaults."""

    embed_batch_size: int
    upsert_batch_size: int
    """Passages extracted, embedded, indexed and stored together: at most this many (and
    their vectors) are held in memory at once, whatever the document's size."""
    progress_interval_s: float
    lease_s: float
    """How long a claim holds a document without renewal. A worker that dies holds it
    at most this long; a re-drive follows within the reconciler's interval."""
    lease_renew_interval_s: float
    """How often the holder renews its lease, whatever the step (extraction reports no
    progress for minutes); well below `lease_s`, so a late renewal never lets it lapse."""


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


class LeaseLost(Exception):
    """The document left this worker's lease: taken over after the lease lapsed, or
    deleted. Nothing more of this run may be written."""


class _Lease:
    """One claim on a document, renewed in the background while its ingestion runs."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, claim: Document, options: IngestionOptions
    ) -> None:
        if claim.lease_token is None:
            raise ValueError("a claim carries its lease token")
        self._uow, self._clock, self._id = uow, clock, claim.id
        self.token: UUID = claim.lease_token
        self._duration = timedelta(seconds=options.lease_s)
        self._every_s = options.lease_renew_interval_s
        self.lost = False

    async def renew(self) -> bool:
        """Extends the lease by its duration from now; False once it is not ours."""
        async with self._uow() as uow:
            held = await uow.documents.renew_lease(
                self._id, lease_token=self.token, until=self._clock.now() + self._duration
            )
            await uow.commit()
        self.lost = self.lost or not held
        return held

    @contextlib.asynccontextmanager
    async def kept(self) -> AsyncIterator[None]:
        """Renews the lease every `lease_renew_interval_s` while the block runs."""

        async def keep() -> None:
            while True:
                await asyncio.sleep(self._every_s)
                with contextlib.suppress(DependencyUnavailable):  # the next beat tries again
                    if not await self.renew():
                        return

        keeper = asyncio.create_task(keep())
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper


class _Progress:
    """Writes stage/progress at most every `interval_s`, so polling clients see movement;
    raises LeaseLost once the document is no longer this worker's."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        lease: _Lease,
        document_id: UUID,
        interval_s: float,
    ) -> None:
        self._uow, self._clock, self._lease = uow, clock, lease
        self._id, self._interval = document_id, interval_s
        self._last = 0.0

    async def report(self, stage: Stage, progress: float, *, force: bool = False) -> None:
        if self._lease.lost:
            raise LeaseLost
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        async with self._uow() as uow:
            held = await uow.documents.set_progress(
                self._id,
                lease_token=self._lease.token,
                stage=stage,
                progress=round(progress, 4),
                updated_at=self._clock.now(),
            )
            await uow.commit()
        if not held:
            self._lease.lost = True
            raise LeaseLost


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

    The run holds the document under a lease (`IngestionOptions.lease_s`, renewed every
    `lease_renew_interval_s`): a document held by a live lease is not claimed again (the
    run answers `skipped`), one whose lease lapsed is (its worker died), and every write
    of a run (progress, each batch's chunk rows, the surplus deletion, `ready`, `failed`)
    is made while its lease holds the document, so a run whose lease was taken over
    between batches writes nothing more and answers `superseded`.

    Permanent problems (corrupt, encrypted or empty files) discard what earlier batches
    stored and fail the document at once with a specific code. Any other failure releases
    the lease until the retry is due (`retry_within`, plus a lease's duration for the
    retry to be picked up), records a dependency's failure on the document, and is
    re-raised for the queue to retry.
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
        options: IngestionOptions,
    ) -> None:
        self._uow, self._extractor, self._chunker = uow, extractor, chunker
        self._embedder, self._index, self._clock, self._ids = embedder, index, clock, ids
        self._telemetry = telemetry
        self._options = options

    async def __call__(
        self, document_id: UUID, *, retry_within: timedelta | None = None
    ) -> IngestOutcome:
        """`retry_within`: the longest the queue waits before retrying this run if it
        raises (None: no retry is known to follow)."""
        document = await self._claim(document_id)
        if document is None:
            return IngestOutcome(document_id=document_id, status="skipped")
        lease = _Lease(self._uow, self._clock, document, self._options)
        progress = _Progress(
            self._uow, self._clock, lease, document.id, self._options.progress_interval_s
        )
        run = _Run()
        try:
            async with lease.kept():
                return await self._ingest(document, lease, progress, run)
        except LeaseLost:
            return await self._superseded(document)
        except DependencyUnavailable as exc:
            await self._release(document, lease, exc, retry_within)
            raise
        except DomainError as exc:
            # Permanent: a bad file, or a backend refusing this input. Retrying cannot help.
            code = exc.reason if isinstance(exc, ExtractionFailed) else exc.code
            try:
                if run.stored:
                    await self._discard(document, lease)
            except LeaseLost:
                return await self._superseded(document)
            if not await MarkFailed(self._uow, self._clock, self._ids)(
                document.id, code=code, message=exc.message, lease_token=lease.token
            ):
                return await self._superseded(document)
            return IngestOutcome(document_id=document.id, status="failed", error_code=code)
        except (Exception, asyncio.CancelledError) as exc:
            # A bug, a time limit, a worker's stop: the queue retries it.
            await self._release(document, lease, exc, retry_within)
            raise
        finally:
            run.times.report(self._telemetry)

    async def _claim(self, document_id: UUID) -> Document | None:
        async with self._uow() as uow:
            current = await uow.documents.get_for_update(document_id)
            now = self._clock.now()
            if current is None or not current.claimable(now):
                return None
            claimed = current.claimed(
                token=self._ids.new_id(), now=now, lease=timedelta(seconds=self._options.lease_s)
            )
            await uow.documents.update(claimed)
            await uow.commit()
            return claimed

    async def _ingest(
        self, document: Document, lease: _Lease, progress: _Progress, run: _Run
    ) -> IngestOutcome:
        span, times = self._telemetry.span, run.times
        with tempfile.TemporaryDirectory(prefix="avataradam-") as tmp:
            path = Path(tmp) / "upload"
            with times.timing(Stage.EXTRACTING):
                await self._download(document, path)
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
                    batch = await asyncio.to_thread(batches.take)
                if not batch.drafts:
                    raise ExtractionFailed("the document contains no text", reason=codes.EMPTY_TEXT)
                target = max(done, _STORED * self._share(batch))
                with span("ingest.embed"), times.timing(Stage.EMBEDDING):
                    await progress.report(Stage.EMBEDDING, done, force=batch.first_index == 0)
                    vectors = await self._embed(batch, progress, done, target)
                with span("ingest.index"), times.timing(Stage.INDEXING):
                    # Raises LeaseLost, before the upsert, once the lease was taken over.
                    await progress.report(Stage.INDEXING, target)
                    run.stored = batch.end_index
                    await self._upsert(document, batch, vectors)
                del vectors
                with span("ingest.store"), times.timing(Stage.STORING):
                    if batch.last:
                        await progress.report(Stage.STORING, _STORED, force=True)
                        return await self._finish(document, lease, batch, extraction)
                    await self._store(document, lease, batch)
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

    @staticmethod
    async def _held(uow: UnitOfWork, document: Document, lease: _Lease) -> Document:
        """The document, locked until the transaction ends, while `lease` holds it;
        raises LeaseLost otherwise (taken over, deleted, or finished by another run)."""
        current = await uow.documents.get_for_update(document.id)
        if current is None or not current.held_by(lease.token):
            lease.lost = True
            raise LeaseLost
        return current

    async def _store(self, document: Document, lease: _Lease, batch: _Batch) -> None:
        """Stores a batch's chunk rows while the lease holds the document."""
        async with self._uow() as uow:
            await self._held(uow, document, lease)
            await uow.chunks.put(document.id, self._chunks(document, batch))
            await uow.commit()

    async def _finish(
        self, document: Document, lease: _Lease, batch: _Batch, extraction: Extraction
    ) -> IngestOutcome:
        count = batch.end_index
        async with self._uow() as uow:
            current = await self._held(uow, document, lease)
            if document.attempts > 1:
                # An earlier run may have chunked the document into more passages. The
                # row stays locked meanwhile: no other run claims the document.
                await self._index.delete_document(
                    str(document.dealership_id), document.id, from_index=count
                )
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
                lease_token=None,
                lease_expires_at=None,
            )
            if not await uow.documents.update_leased(ready, lease_token=lease.token):
                raise LeaseLost
            await uow.dealerships.bump_generation(ready.dealership_id)
            await uow.outbox.add(document_event(self._ids, self._clock, DOCUMENT_READY, ready))
            await uow.commit()
        return IngestOutcome(document_id=document.id, status="ready", chunk_count=count)

    async def _discard(self, document: Document, lease: _Lease) -> None:
        """Removes what earlier batches stored, before the document is failed, while the
        lease holds it (its row locked meanwhile, so no other run claims it); raises
        LeaseLost once it does not. Best effort against a dependency's failure: a later
        delete of the document removes anything left."""
        with contextlib.suppress(DependencyUnavailable):
            async with self._uow() as uow:
                await self._held(uow, document, lease)
                await uow.chunks.delete_document(document.id)
                await self._index.delete_document(str(document.dealership_id), document.id)
                await uow.commit()

    async def _superseded(self, document: Document) -> IngestOutcome:
        """This run lost the document: to a deletion (what it indexed must not outlive
        the document), or to another run, whose result stands."""
        async with self._uow(read_only=True) as uow:
            current = await uow.documents.get(document.id, dealership_id=None)
        if current is None or current.status is DocumentStatus.DELETING:
            await self._index.delete_document(str(document.dealership_id), document.id)
            return IngestOutcome(document_id=document.id, status="deleted")
        return IngestOutcome(document_id=document.id, status="superseded")

    async def _release(
        self,
        claim: Document,
        lease: _Lease,
        exc: BaseException,
        retry_within: timedelta | None,
    ) -> None:
        """Lets the document go until the retry is due (a dependency's failure recorded
        on it); the reconciler re-drives it if no retry has claimed it by then."""
        try:
            async with self._uow() as uow:
                current = await uow.documents.get_for_update(claim.id)
                if current is None or not current.held_by(lease.token):
                    return
                now = self._clock.now()
                wait = (retry_within or timedelta()) + timedelta(seconds=self._options.lease_s)
                released = current.released(until=now + wait)
                if isinstance(exc, DependencyUnavailable):
                    released = msgspec.structs.replace(
                        released,
                        error=DocumentError(code=exc.code, message=exc.message),
                        updated_at=now,
                    )
                await uow.documents.update_leased(released, lease_token=lease.token)
                await uow.commit()
        except DependencyUnavailable:
            return  # the database itself is down: the lease lapses on its own


class MarkFailed:
    """Fails a document (permanently, or after its retries ran out) and announces it.

    With `lease_token`, only while that lease holds the document (the holder's own
    verdict); without, only a `queued` document or a `processing` one that no live
    lease holds, so a document another worker has taken over is never failed under it.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._clock, self._ids = uow, clock, ids

    async def __call__(
        self, document_id: UUID, *, code: str, message: str, lease_token: UUID | None = None
    ) -> bool:
        """True if the document is now failed by this call."""
        async with self._uow() as uow:
            current = await uow.documents.get_for_update(document_id)
            now = self._clock.now()
            if current is None:
                return False
            if lease_token is None and not current.claimable(now):
                return False
            failed = msgspec.structs.replace(
                current,
                status=DocumentStatus.FAILED,
                stage=None,
                error=DocumentError(code=code, message=message),
                updated_at=now,
                lease_token=None,
                lease_expires_at=None,
            )
            if lease_token is None:
                await uow.documents.update(failed)
            elif not await uow.documents.update_leased(failed, lease_token=lease_token):
                return False
            await uow.outbox.add(document_event(self._ids, self._clock, DOCUMENT_FAILED, failed))
            await uow.commit()
        return True


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
    """Re-drives, from PostgreSQL, documents whose work nobody is doing.

    - `processing` with its lease lapsed (its worker died, or stopped renewing) or
      released and not claimed again in time (a retry or a re-drive never came):
      enqueued again at once, and released for `queued_timeout`;
    - `queued` or `deleting` untouched for `queued_timeout` (their message never
      arrived): enqueued again and touched.

    Each is re-checked under a row lock and changed in the same transaction, so many
    reconcilers never re-drive the same document twice.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        queue: TaskQueue,
        clock: Clock,
        *,
        queued_timeout: timedelta,
        batch: int = 100,
    ) -> None:
        self._uow, self._queue, self._clock = uow, queue, clock
        self._queued_timeout = queued_timeout
        self._tasks = {
            DocumentStatus.QUEUED: INGEST_DOCUMENT,
            DocumentStatus.DELETING: DELETE_DOCUMENT,
        }
        self._batch = batch

    async def __call__(self) -> list[UUID]:
        redriven = await self._lapsed()
        for status, task in self._tasks.items():
            now = self._clock.now()
            cutoff = now - self._queued_timeout
            async with self._uow() as uow:
                stale = await uow.documents.list_stale(
                    statuses=[status], updated_before=cutoff, limit=self._batch
                )
                for candidate in stale:
                    current = await uow.documents.get_for_update(candidate.id)
                    if current is None or current.status is not status:
                        continue
                    if current.updated_at >= cutoff:
                        continue
                    await uow.documents.update(msgspec.structs.replace(current, updated_at=now))
                    await self._queue.enqueue(task, {"document_id": str(candidate.id)})
                    redriven.append(candidate.id)
                await uow.commit()
        return redriven

    async def _lapsed(self) -> list[UUID]:
        redriven: list[UUID] = []
        now = self._clock.now()
        async with self._uow() as uow:
            for candidate in await uow.documents.list_lapsed(now=now, limit=self._batch):
                current = await uow.documents.get_for_update(candidate.id)
                if current is None or current.status is not DocumentStatus.PROCESSING:
                    continue
                if current.lease_expires_at is not None and current.lease_expires_at > now:
                    continue
                await uow.documents.update(current.released(until=now + self._queued_timeout))
                await self._queue.enqueue(INGEST_DOCUMENT, {"document_id": str(candidate.id)})
                redriven.append(candidate.id)
            await uow.commit()
        return redriven


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
                due_at=now,
            )
            try:
                await uow.webhooks.add_delivery(delivery)
            except Conflict:
                continue  # already fanned out by an earlier, interrupted relay
            await self._queue.enqueue(DELIVER_WEBHOOK, {"delivery_id": str(delivery.id)})

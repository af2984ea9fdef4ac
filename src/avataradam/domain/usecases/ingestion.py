"""Worker-side ingestion of a document (fail, purge, re-drive: `document_jobs.py`).

Every step is idempotent. Vector and chunk ids are (document id, chunk index), so a
redelivered or retried run overwrites what an earlier run wrote and never adds to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from uuid import UUID

from avataradam.domain import codes
from avataradam.domain.embedding_text import AS_IS, PassageText, document_title
from avataradam.domain.errors import DependencyUnavailable, DomainError
from avataradam.domain.model import Document, DocumentError, DocumentReady, DocumentStatus, Stage
from avataradam.domain.ports.knowledge import (
    ChunkDraft,
    Chunker,
    Embedder,
    Extraction,
    ExtractionFailed,
    Spool,
    TextExtractor,
    VectorIndex,
)
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.services import Telemetry
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.profiles import OneProfile, VectorProfiles
from avataradam.domain.usecases.document_jobs import MarkFailed, document_event
from avataradam.domain.usecases.ingestion_run import (
    Batch,
    Batches,
    IngestionOptions,
    IngestOutcome,
    Lease,
    LeaseLost,
    Progress,
    Run,
    StageTimes,
)
from avataradam.domain.usecases.vector_targets import (
    VectorTarget,
    check_targets,
    embed_for,
    vector_targets,
)

# Share of `progress` reached once the whole file is read and stored, before `ready`.
_STORED = 0.95


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

    Passages are embedded into the dealership's active vector generation, and into the
    one a running re-embedding builds, each by its profile (`vector_targets`); the text
    stored, searched and cited is the passage's own.
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
        *,
        spool: Spool,
        passage_text: PassageText | None = None,
        profiles: VectorProfiles | None = None,
    ) -> None:
        """`profiles` (None: `embedder` and `passage_text` for every profile)."""
        self._uow, self._extractor, self._chunker = uow, extractor, chunker
        self._embedder, self._index, self._clock, self._ids = embedder, index, clock, ids
        self._telemetry, self._spool = telemetry, spool
        self._options = options
        self._profiles = profiles or OneProfile(embedder, passage_text or AS_IS)

    async def __call__(
        self, document_id: UUID, *, retry_within: timedelta | None = None
    ) -> IngestOutcome:
        """`retry_within`: the longest the queue waits before retrying this run if it
        raises (None: no retry is known to follow)."""
        document = await self._claim(document_id)
        if document is None:
            return IngestOutcome(document_id=document_id, status="skipped")
        options = self._options
        lease = Lease(
            self._uow,
            self._clock,
            document,
            duration=timedelta(seconds=options.lease_s),
            renew_every_s=options.lease_renew_interval_s,
        )
        progress = Progress(self._uow, self._clock, lease, document.id, options.progress_interval_s)
        run = Run(times=StageTimes(self._clock))
        try:
            async with lease.kept():
                return await self._ingest(document, lease, progress, run)
        except LeaseLost:
            return await self._superseded(document, run.namespaces)
        except DependencyUnavailable as exc:
            await self._release(document, lease, exc, retry_within)
            raise
        except DomainError as exc:
            # Permanent: a bad file, or a backend refusing this input. Retrying cannot help.
            code = exc.reason if isinstance(exc, ExtractionFailed) else exc.code
            try:
                if run.stored:
                    await self._discard(document, lease, run.namespaces)
            except LeaseLost:
                return await self._superseded(document, run.namespaces)
            if not await MarkFailed(self._uow, self._clock, self._ids)(
                document.id, code=code, message=exc.message, lease_token=lease.token
            ):
                return await self._superseded(document, run.namespaces)
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
        self, document: Document, lease: Lease, progress: Progress, run: Run
    ) -> IngestOutcome:
        span, times = self._telemetry.span, run.times
        targets = await vector_targets(self._uow, self._profiles, document.dealership_id)
        run.namespaces = tuple(t.namespace for t in targets)
        with self._spool.scratch_file() as path:
            with times.timing(Stage.EXTRACTING):
                await self._download(document, path)
                extraction = await asyncio.to_thread(
                    self._extractor.extract, path, document.content_type
                )
            batches = Batches(
                self._passages(extraction, times),
                self._options.upsert_batch_size,
                extraction.read_share,
            )
            title = document_title(
                title=extraction.title,
                opening_heading=extraction.opening_heading,
                filename=document.filename,
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
                    vectors = await embed_for(
                        targets,
                        batch.drafts,
                        title,
                        self._options.embed_batch_size,
                        partial(progress.embedded, done, target),
                    )
                with span("ingest.index"), times.timing(Stage.INDEXING):
                    # Raises LeaseLost, before the upsert, once the lease was taken over.
                    await progress.report(Stage.INDEXING, target)
                    run.stored = batch.end_index
                    for destination, values in zip(targets, vectors, strict=True):
                        records = batch.vectors(document, values)
                        await self._index.upsert(destination.namespace, records)
                del vectors
                with span("ingest.store"), times.timing(Stage.STORING):
                    if batch.last:
                        await progress.report(Stage.STORING, _STORED, force=True)
                        return await self._finish(
                            document, lease, batch, extraction, title, targets
                        )
                    await self._store(document, lease, batch)
                done = target

    async def _download(self, document: Document, path: Path) -> None:
        async with self._uow(read_only=False) as uow:
            await self._spool.write(path, uow.blobs.read(document.id))

    def _passages(self, extraction: Extraction, times: StageTimes) -> Iterator[ChunkDraft]:
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

    def _share(self, batch: Batch) -> float:
        """How much of the document is done once `batch` is stored (0..1): the share of
        the file read, where the extractor tells it, else a guess that tends to 1."""
        if batch.last:
            return 1.0
        if batch.read_share is not None:
            return min(1.0, max(0.0, batch.read_share))
        return batch.end_index / (batch.end_index + self._options.upsert_batch_size)

    @staticmethod
    async def _held(uow: UnitOfWork, document: Document, lease: Lease) -> Document:
        """The document, locked until the transaction ends, while `lease` holds it;
        raises LeaseLost otherwise (taken over, deleted, or finished by another run)."""
        current = await uow.documents.get_for_update(document.id)
        if current is None or not current.held_by(lease.token):
            lease.lost = True
            raise LeaseLost
        return current

    async def _store(self, document: Document, lease: Lease, batch: Batch) -> None:
        """Stores a batch's chunk rows while the lease holds the document."""
        async with self._uow() as uow:
            await self._held(uow, document, lease)
            await uow.chunks.put(document.id, batch.chunks(document))
            await uow.commit()

    async def _finish(
        self,
        document: Document,
        lease: Lease,
        batch: Batch,
        extraction: Extraction,
        title: str,
        targets: list[VectorTarget],
    ) -> IngestOutcome:
        count = batch.end_index
        async with self._uow() as uow:
            current = await self._held(uow, document, lease)
            # Locks the dealership: a switch of generations waits, or went first.
            await check_targets(uow, document, targets)
            if document.attempts > 1:
                # An earlier run may have chunked the document into more passages. The
                # row stays locked meanwhile: no other run claims the document.
                for destination in targets:
                    await self._index.delete_document(
                        destination.namespace, document.id, from_index=count
                    )
            await uow.chunks.put(document.id, batch.chunks(document))
            await uow.chunks.delete_from(document.id, count)
            ready = current.ready(
                chunk_count=count,
                title=extraction.title,
                context_title=title,
                warnings=tuple(extraction.warnings),
                now=self._clock.now(),
            )
            if not await uow.documents.update_leased(ready, lease_token=lease.token):
                raise LeaseLost
            await uow.dealerships.bump_generation(ready.dealership_id)
            await uow.outbox.add(document_event(self._ids, self._clock, DocumentReady, ready))
            await uow.commit()
        return IngestOutcome(document_id=document.id, status="ready", chunk_count=count)

    async def _discard(self, document: Document, lease: Lease, namespaces: tuple[str, ...]) -> None:
        """Removes what earlier batches stored, before the document is failed, while the
        lease holds it (its row locked meanwhile, so no other run claims it); raises
        LeaseLost once it does not. Best effort against a dependency's failure: a later
        delete of the document removes anything left."""
        with contextlib.suppress(DependencyUnavailable):
            async with self._uow() as uow:
                await self._held(uow, document, lease)
                await uow.chunks.delete_document(document.id)
                for space in namespaces:
                    await self._index.delete_document(space, document.id)
                await uow.commit()

    async def _superseded(
        self, document: Document, namespaces: tuple[str, ...] = ()
    ) -> IngestOutcome:
        """This run lost the document: to a deletion (what it indexed must not outlive
        the document), or to another run, whose result stands."""
        async with self._uow(read_only=True) as uow:
            current = await uow.documents.get(document.id, dealership_id=None)
        if current is None or current.status is DocumentStatus.DELETING:
            for space in namespaces or (str(document.dealership_id),):
                await self._index.delete_document(space, document.id)
            return IngestOutcome(document_id=document.id, status="deleted")
        return IngestOutcome(document_id=document.id, status="superseded")

    async def _release(
        self,
        claim: Document,
        lease: Lease,
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
                error = None
                if isinstance(exc, DependencyUnavailable):
                    error = DocumentError(code=exc.code, message=exc.message)
                released = current.released(until=now + wait, error=error, now=now)
                await uow.documents.update_leased(released, lease_token=lease.token)
                await uow.commit()
        except DependencyUnavailable:
            return  # the database itself is down: the lease lapses on its own

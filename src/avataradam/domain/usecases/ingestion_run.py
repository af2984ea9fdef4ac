"""The moving parts of one ingestion run: its lease, its progress reports, its stage
timings and its batches of passages (see `usecases/ingestion.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import msgspec

from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.model import Chunk, Document, Stage
from avataradam.domain.ports.knowledge import ChunkDraft, VectorRecord, vector_id
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import Telemetry
from avataradam.domain.ports.system import Clock
from avataradam.domain.usecases.vector_targets import Embedded, records


class LeaseLost(Exception):
    """The document left this worker's lease: taken over after the lease lapsed, or
    deleted. Nothing more of this run may be written."""


class Lease:
    """One claim on a document, renewed in the background while its ingestion runs."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        claim: Document,
        *,
        duration: timedelta,
        renew_every_s: float,
    ) -> None:
        if claim.lease_token is None:
            raise ValueError("a claim carries its lease token")
        self._uow, self._clock, self._id = uow, clock, claim.id
        self.token: UUID = claim.lease_token
        self._duration = duration
        self._every_s = renew_every_s
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


class Progress:
    """Writes stage/progress at most every `interval_s`, so polling clients see movement;
    raises LeaseLost once the document is no longer this worker's."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        lease: Lease,
        document_id: UUID,
        interval_s: float,
    ) -> None:
        self._uow, self._clock, self._lease = uow, clock, lease
        self._id, self._interval = document_id, interval_s
        self._last = 0.0

    async def embedded(self, done: float, target: float, share: float) -> None:
        """`report` of the embedding stage, `share` (0..1) of the way from `done` to
        `target`."""
        await self.report(Stage.EMBEDDING, done + (target - done) * share)

    async def report(self, stage: Stage, progress: float, *, force: bool = False) -> None:
        if self._lease.lost:
            raise LeaseLost
        now = self._clock.monotonic()
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


class StageTimes:
    """The time one document's ingestion spends in each stage, summed over its batches:
    the stages interleave (each batch is extracted, chunked, embedded, indexed and stored
    in turn), and operators want one figure per stage and document."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.seconds: dict[Stage, float] = {}

    @contextlib.contextmanager
    def timing(self, stage: Stage) -> Iterator[None]:
        started = self._clock.monotonic()
        try:
            yield
        finally:
            elapsed = self._clock.monotonic() - started
            self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed

    def report(self, telemetry: Telemetry) -> None:
        for stage, seconds in self.seconds.items():
            telemetry.ingestion_stage_time(stage, seconds)


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive passages of a document, from chunk index `first_index` on."""

    first_index: int
    drafts: list[ChunkDraft]
    last: bool
    read_share: float | None

    @property
    def end_index(self) -> int:
        return self.first_index + len(self.drafts)

    def vectors(self, document: Document, embedded: Embedded) -> list[VectorRecord]:
        """The vector records of these passages, given their embeddings in order."""
        ids = [vector_id(document.id, i) for i in range(self.first_index, self.end_index)]
        return records(document.id, document.topic, ids, embedded)

    def chunks(self, document: Document) -> list[Chunk]:
        """The chunk rows of these passages."""
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
                section_path=draft.section_path,
            )
            for index, draft in enumerate(self.drafts, start=self.first_index)
        ]


class Batches:
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

    def take(self) -> Batch:
        drafts = self._ahead
        drafts.extend(itertools.islice(self._passages, self._size + 1 - len(drafts)))
        self._ahead = drafts[self._size :]
        del drafts[self._size :]
        batch = Batch(
            first_index=self._next_index,
            drafts=drafts,
            last=not self._ahead,
            read_share=None if self._read_share is None else self._read_share(),
        )
        self._next_index = batch.end_index
        return batch


@dataclass(slots=True)
class Run:
    """What one ingestion run has done so far."""

    times: StageTimes
    stored: int = 0
    """Passages whose vectors (and chunk rows) this run may have written."""
    namespaces: tuple[str, ...] = ()
    """Where it writes vectors (`vector_targets`): what a discard must clear."""


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

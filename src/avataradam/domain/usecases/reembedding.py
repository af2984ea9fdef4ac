"""Re-embedding a dealership's knowledge base with another vector profile, as a
background operation (the rules are in `domain/vectors.py`).

`StartReembedding` records a `running` re-embedding of generation n+1 and queues it;
`RunReembedding` (the worker) writes every `ready` document's stored passages into the
new generation, a document at a time, each marked done in the transaction that
reports progress and renews the run's lease, so a run that dies resumes where it
stopped (`ReconcileReembeddings` re-queues one whose lease lapsed). Once no `ready`
document is missing, one transaction switches the dealership to the new generation
and bumps its knowledge-base generation; after `retire_after_s` (searches that read
the old generation just before the switch finish meanwhile) the old namespace is
deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

import msgspec

from avataradam.domain.embedding_text import document_title
from avataradam.domain.errors import InvalidInput, NotFound
from avataradam.domain.model import Chunk, Document, DocumentStatus
from avataradam.domain.ports.knowledge import ChunkDraft, VectorIndex
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import TaskQueue, Telemetry
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.profiles import VectorProfiles
from avataradam.domain.tasks import REEMBED_KNOWLEDGE_BASE
from avataradam.domain.usecases.vector_targets import VectorTarget, embed_for, records
from avataradam.domain.vectors import (
    ActiveVectors,
    Reembedding,
    ReembeddingRunning,
    ReembeddingStatus,
    namespace,
    parse_profile,
)


class ReembeddingOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Built from Settings (entrypoints/options.py), which hold the defaults."""

    lease_s: float
    """A run holds its re-embedding this long, renewed after every document."""
    retire_after_s: float
    """Wait between the switch and deleting the old generation's vectors."""
    embed_batch_size: int


class StartReembedding:
    """Starts re-embedding a dealership into `profile` (None: the service's configured
    one). Raises NotFound (unknown dealership), InvalidInput (unknown profile, or the
    one its search reads already), ReembeddingRunning (one is running)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        profiles: VectorProfiles,
        queue: TaskQueue,
        clock: Clock,
        options: ReembeddingOptions,
    ) -> None:
        self._uow, self._profiles, self._queue = uow, profiles, queue
        self._clock, self._options = clock, options

    async def __call__(self, dealership_id: UUID, profile: str | None = None) -> Reembedding:
        target = profile or self._profiles.configured
        parse_profile(target)
        now = self._clock.now()
        async with self._uow() as uow:
            active = await uow.dealerships.vectors_for_update(dealership_id)
            if active is None:
                raise NotFound("dealership not found")
            current = active.profile or self._profiles.configured
            if current == target:
                raise InvalidInput(
                    f"the knowledge base is already embedded with {target}", field="profile"
                )
            running = await uow.reembeddings.running(dealership_id)
            if running is not None:  # checked under the dealership row's lock
                raise ReembeddingRunning(
                    "a re-embedding of this dealership is already running",
                    generation=running.generation,
                )
            latest = await uow.reembeddings.latest_generation(dealership_id)
            generation = max(latest, active.generation) + 1
            reembedding = Reembedding(
                dealership_id=dealership_id,
                generation=generation,
                source_generation=active.generation,
                source_profile=current,
                target_profile=target,
                status=ReembeddingStatus.RUNNING,
                created_at=now,
                updated_at=now,
                # Every ready document: none is written into the new generation yet.
                documents_total=await uow.reembeddings.count_pending(dealership_id, generation),
                # Unclaimed until a worker takes it; re-queued if none has by then.
                lease_expires_at=now + timedelta(seconds=self._options.lease_s),
            )
            await uow.reembeddings.add(reembedding)
            await uow.commit()
        await enqueue(self._queue, reembedding)
        return reembedding


async def enqueue(queue: TaskQueue, reembedding: Reembedding) -> None:
    await queue.enqueue(
        REEMBED_KNOWLEDGE_BASE,
        {
            "dealership_id": str(reembedding.dealership_id),
            "generation": str(reembedding.generation),
        },
    )


class RunReembedding:
    """The worker's part: answers the re-embedding's status once this run is done with
    it ("skipped" when another run holds it or it is not running)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        profiles: VectorProfiles,
        index: VectorIndex,
        clock: Clock,
        ids: IdGenerator,
        telemetry: Telemetry,
        options: ReembeddingOptions,
    ) -> None:
        self._uow, self._profiles, self._index = uow, profiles, index
        self._clock, self._ids, self._telemetry = clock, ids, telemetry
        self._options = options

    async def __call__(self, dealership_id: UUID, generation: int) -> str:
        claimed = await self._claim(dealership_id, generation)
        if claimed is None:
            return "skipped"
        token = claimed.lease_token
        assert token is not None  # noqa: S101 - set by _claim
        while True:
            async with self._uow() as uow:
                pending = await uow.reembeddings.pending_documents(
                    dealership_id, generation, limit=16
                )
            for document_id in pending:
                if not await self._write(claimed, token, document_id):
                    return "superseded"
            if pending:
                continue
            switched = await self._switch(claimed, token)
            if switched is None:
                continue  # a document became ready meanwhile
            if switched is False:
                return "superseded"
            break
        self._telemetry.event(
            "reembedding_completed",
            dealership_id=str(dealership_id),
            generation=generation,
            profile=claimed.target_profile,
        )
        await asyncio.sleep(self._options.retire_after_s)
        await self._index.delete_namespace(namespace(dealership_id, claimed.source_generation))
        return ReembeddingStatus.COMPLETED.value

    async def _claim(self, dealership_id: UUID, generation: int) -> Reembedding | None:
        now = self._clock.now()
        async with self._uow() as uow:
            current = await uow.reembeddings.get_for_update(dealership_id, generation)
            if current is None or not current.claimable(now):
                return None
            claimed = current.claimed(token=self._ids.new_id(), now=now, lease=self._lease())
            await uow.reembeddings.update(claimed)
            await uow.commit()
        self._telemetry.event(
            "reembedding_claimed",
            dealership_id=str(dealership_id),
            generation=generation,
            documents_done=claimed.documents_done,
        )
        return claimed

    def _lease(self) -> timedelta:
        return timedelta(seconds=self._options.lease_s)

    async def _write(self, run: Reembedding, token: UUID, document_id: UUID) -> bool:
        """Writes one document into the new generation; False once the run lost its
        re-embedding (taken over after its lease lapsed, or cancelled)."""
        async with self._uow() as uow:
            document = await uow.documents.get(document_id, dealership_id=run.dealership_id)
            chunks = await uow.chunks.of_document(document_id) if document else []
        written = 0
        if document is not None and document.status is DocumentStatus.READY and chunks:
            written = await self._embed(run, document, chunks)
        async with self._uow() as uow:
            current = await uow.reembeddings.get_for_update(run.dealership_id, run.generation)
            if current is None or current.lease_token != token:
                return False
            locked = await uow.documents.get_for_update(document_id)
            if locked is None or locked.status is not DocumentStatus.READY:
                # Being deleted meanwhile: what was just written must not outlive it.
                await self._index.delete_document(run.namespace, document_id)
            else:
                await uow.reembeddings.mark_documents(
                    run.dealership_id, run.generation, [document_id]
                )
            now = self._clock.now()
            pending = await uow.reembeddings.count_pending(run.dealership_id, run.generation)
            done = current.documents_done + 1
            await uow.reembeddings.update(
                msgspec.structs.replace(
                    current,
                    documents_done=done,
                    documents_total=max(current.documents_total, done + pending),
                    chunks_done=current.chunks_done + written,
                    lease_expires_at=now + self._lease(),
                    updated_at=now,
                )
            )
            await uow.commit()
        self._telemetry.reembedded(run.target_profile, documents=1, chunks=written)
        return True

    async def _embed(self, run: Reembedding, document: Document, chunks: Sequence[Chunk]) -> int:
        """Embeds the stored passages as ingestion does (`embed_for`) with the target
        profile (the title and heading path they were embedded with where kept) and
        upserts them under their chunk ids, a request of `embed_batch_size` at a time;
        answers how many."""
        target = VectorTarget(
            generation=run.generation,
            profile=run.target_profile,
            namespace=run.namespace,
            embedder=self._profiles.embedder(run.target_profile),
            passage_text=self._profiles.passage_text(run.target_profile),
        )
        title = document.context_title or document_title(
            title=document.title, opening_heading=None, filename=document.filename
        )
        size = self._options.embed_batch_size
        for start in range(0, len(chunks), size):
            batch = chunks[start : start + size]
            drafts = [
                ChunkDraft(
                    text=c.text, page=c.page, section=c.section, section_path=c.section_path or ()
                )
                for c in batch
            ]
            [vectors] = await embed_for([target], drafts, title, size, _unreported)
            await self._index.upsert(
                run.namespace, records(document.id, document.topic, [c.id for c in batch], vectors)
            )
        return len(chunks)

    async def _switch(self, run: Reembedding, token: UUID) -> bool | None:
        """Makes the new generation active once every ready document is in it: True;
        None while some are missing; False when the run lost its re-embedding."""
        now = self._clock.now()
        async with self._uow() as uow:
            # The dealership row first: a document becoming ready locks it too.
            await uow.dealerships.vectors_for_update(run.dealership_id)
            current = await uow.reembeddings.get_for_update(run.dealership_id, run.generation)
            if current is None or current.lease_token != token:
                return False
            if await uow.reembeddings.count_pending(run.dealership_id, run.generation):
                return None
            await uow.dealerships.switch_vectors(
                run.dealership_id,
                ActiveVectors(generation=run.generation, profile=run.target_profile),
            )
            await uow.reembeddings.update(current.finished(ReembeddingStatus.COMPLETED, now=now))
            await uow.commit()
        return True


async def _unreported(_share: float) -> None:
    """Progress within a document: a re-embedding reports it per document."""


class ReconcileReembeddings:
    """Re-queues running re-embeddings no live run holds (their worker died, or their
    message was lost); answers them. Run periodically by the worker."""

    def __init__(self, uow: UnitOfWorkFactory, queue: TaskQueue, clock: Clock) -> None:
        self._uow, self._queue, self._clock = uow, queue, clock

    async def __call__(self) -> list[Reembedding]:
        async with self._uow(read_only=True) as uow:
            stalled = await uow.reembeddings.redrivable(self._clock.now(), limit=100)
        for reembedding in stalled:
            await enqueue(self._queue, reembedding)
        return stalled


class ListReembeddings:
    """A dealership's re-embeddings, newest first, with the vectors its search reads."""

    def __init__(self, uow: UnitOfWorkFactory, profiles: VectorProfiles) -> None:
        self._uow, self._profiles = uow, profiles

    async def __call__(self, dealership_id: UUID) -> tuple[ActiveVectors, list[Reembedding]]:
        async with self._uow(read_only=True) as uow:
            dealership = await uow.dealerships.get(dealership_id)
            if dealership is None:
                raise NotFound("dealership not found")
            found = await uow.reembeddings.list_for(dealership_id)
        active = ActiveVectors(
            generation=dealership.vector_generation,
            profile=dealership.vector_profile or self._profiles.configured,
        )
        return active, found


class GetReembedding:
    """One re-embedding of a dealership by its generation; NotFound otherwise."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, dealership_id: UUID, generation: int) -> Reembedding:
        async with self._uow(read_only=True) as uow:
            found = await uow.reembeddings.get(dealership_id, generation)
        if found is None:
            raise NotFound("re-embedding not found")
        return found

"""Worker-side document jobs besides ingestion: fail a document, purge a deleted one,
re-drive the ones nobody works on. Each is idempotent and re-checks the document
under a row lock before it changes it."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from avataradam.domain.model import (
    Document,
    DocumentDeleted,
    DocumentError,
    DocumentFailed,
    DocumentReady,
    DocumentStatus,
    OutboxEntry,
)
from avataradam.domain.ports.knowledge import VectorIndex
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import TaskQueue
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.tasks import DELETE_DOCUMENT, INGEST_DOCUMENT
from avataradam.domain.usecases.vector_targets import written_namespaces


def document_event(
    ids: IdGenerator,
    clock: Clock,
    event: type[DocumentReady | DocumentFailed | DocumentDeleted],
    document: Document,
) -> OutboxEntry:
    """An outbox entry announcing a document's change to webhook subscribers."""
    now = clock.now()
    return OutboxEntry(
        id=ids.new_id(), message=event.of(document, now), created_at=now, available_at=now
    )


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
            if lease_token is not None and not current.held_by(lease_token):
                return False  # taken over, or finished by another run
            failed = current.failed(error=DocumentError(code=code, message=message), now=now)
            if lease_token is None:
                await uow.documents.update(failed)
            elif not await uow.documents.update_leased(failed, lease_token=lease_token):
                return False
            await uow.outbox.add(document_event(self._ids, self._clock, DocumentFailed, failed))
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
            spaces = await written_namespaces(uow, document.dealership_id)
        for space in spaces:
            await self._index.delete_document(space, document.id)
        async with self._uow() as uow:
            current = await uow.documents.get_for_update(document_id)
            if current is None:
                return False
            await uow.chunks.delete_document(document_id)
            await uow.blobs.delete(document_id)
            await uow.documents.delete(document_id)
            await uow.dealerships.bump_generation(current.dealership_id)
            await uow.outbox.add(document_event(self._ids, self._clock, DocumentDeleted, current))
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
                    await uow.documents.update(current.touched(now))
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

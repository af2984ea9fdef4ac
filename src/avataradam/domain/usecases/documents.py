"""Knowledge-base documents as the API sees them: upload, read, list, delete, retry, and
read one passage (a cited chunk)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from uuid import UUID

import msgspec

from avataradam.domain.access import (
    Principal,
    dealership_scope,
    require_role,
    visible_dealership,
)
from avataradam.domain.errors import (
    DependencyUnavailable,
    DuplicateDocument,
    InvalidInput,
    NotFound,
    UnsupportedFileType,
)
from avataradam.domain.idempotency import Answer, IdempotentRequest, first_answer
from avataradam.domain.model import (
    Chunk,
    DeleteDocumentTask,
    Document,
    DocumentStatus,
    IngestDocumentTask,
    OutboxEntry,
    Role,
    Task,
    TaskMessage,
    Topic,
)
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.knowledge import vector_id
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.services import TaskQueue
from avataradam.domain.ports.system import Clock, IdGenerator

ADMINS = (Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
OUTBOX_GRACE = timedelta(seconds=10)
"""How long the API has to enqueue a task itself before the worker's relay does it."""


class UploadedFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file the entrypoint has spooled, sniffed and hashed while receiving it."""

    filename: str
    content_type: str | None
    size_bytes: int
    sha256: str


class UploadRequest(msgspec.Struct, frozen=True, kw_only=True):
    topic: Topic
    dealership_id: UUID | None = None
    idempotency_key: str | None = None
    request_id: str | None = None


class TaskDispatcher:
    """Records a task in the outbox inside the caller's transaction, then hands it on.

    `record` must be committed with the change that causes the task; `dispatch`, after
    that commit, enqueues it and drops the entry. If dispatching fails the entry stays
    and the worker's relay enqueues it after OUTBOX_GRACE: nothing acknowledged is lost.
    """

    def __init__(self, queue: TaskQueue, clock: Clock, ids: IdGenerator) -> None:
        self._queue, self._clock, self._ids = queue, clock, ids

    async def record(self, uow: UnitOfWork, task: TaskMessage) -> OutboxEntry:
        now = self._clock.now()
        entry = OutboxEntry(
            id=self._ids.new_id(),
            message=task,
            created_at=now,
            available_at=now + OUTBOX_GRACE,
        )
        await uow.outbox.add(entry)
        return entry

    async def commit_with(self, uow: UnitOfWork, task: TaskMessage) -> None:
        """Records `task`, commits the caller's change together with it, then dispatches."""
        entry = await self.record(uow, task)
        await uow.commit()
        await self.dispatch(uow, entry)

    async def dispatch(self, uow: UnitOfWork, entry: OutboxEntry) -> bool:
        try:
            task = entry.message
            if not isinstance(task, Task):
                raise TypeError("the dispatcher hands on tasks only")
            await self._queue.enqueue(task.name, task.payload())
            await uow.outbox.mark_done(entry.id)
            await uow.commit()
        except DependencyUnavailable:
            return False
        return True


def _upload_request(
    dealership_id: UUID, request: UploadRequest, file: UploadedFile
) -> IdempotentRequest | None:
    """Upload keys are the dealership's; the same topic and bytes are the same upload."""
    if request.idempotency_key is None:
        return None
    fingerprint = hashlib.sha256(f"{request.topic.value}:{file.sha256}".encode()).hexdigest()
    return IdempotentRequest(
        scope=f"documents:{dealership_id}", key=request.idempotency_key, fingerprint=fingerprint
    )


class UploadDocument:
    """Stores an upload and queues its ingestion in one transaction; answers at once.

    Of concurrent uploads of the same bytes into one dealership and topic, exactly one
    is stored; the others answer DuplicateDocument naming it. With an idempotency key,
    repeats of the first upload replay its answer (see `domain/idempotency.py`).
    """

    def __init__(
        self, uow: UnitOfWorkFactory, dispatcher: TaskDispatcher, clock: Clock, ids: IdGenerator
    ) -> None:
        self._uow, self._dispatcher, self._clock, self._ids = uow, dispatcher, clock, ids

    async def __call__(
        self,
        principal: Principal,
        request: UploadRequest,
        scan: Callable[[], Awaitable[UploadedFile]],
        parts: Callable[[], AsyncIterator[bytes]],
    ) -> Answer[Document]:
        """`scan` reads the received file once (size, hash, type by its bytes) and may
        refuse it (FileTooLarge, UnsupportedFileType, ...); it runs only once the caller
        is known to be an admin, so nobody else's upload is read at all (403 first).
        `parts` gives the file's bytes again, to store."""
        require_role(principal, *ADMINS)
        file = await scan()
        dealership_id = dealership_scope(principal, request.dealership_id)
        if file.size_bytes == 0:
            raise InvalidInput("the file is empty", field="file")
        if file.content_type is None:
            raise UnsupportedFileType(
                "the file is not a PDF, DOCX, HTML, Markdown or plain-text document", field="file"
            )
        document = self._new_document(dealership_id, request.topic, file, file.content_type)
        async with self._uow() as uow:
            replay = await first_answer(
                uow,
                _upload_request(dealership_id, request, file),
                document,
                status_code=202,
                now=document.created_at,
            )
            if replay is not None:
                return replay
            dealership = await uow.dealerships.get(dealership_id)
            if dealership is None or not dealership.active:
                raise NotFound("dealership not found")
            existing = await uow.documents.add(document)
            if existing is not None:
                raise DuplicateDocument(
                    f"this file is already in the {request.topic.value} knowledge base",
                    document_id=str(existing.id),
                )
            await uow.blobs.write(document.id, parts())
            task = IngestDocumentTask(
                document_id=document.id, request_id=request.request_id or None
            )
            await self._dispatcher.commit_with(uow, task)
        return Answer(value=document)

    def _new_document(
        self, dealership_id: UUID, topic: Topic, file: UploadedFile, content_type: str
    ) -> Document:
        now = self._clock.now()
        return Document(
            id=self._ids.new_id(),
            dealership_id=dealership_id,
            topic=topic,
            filename=file.filename,
            content_type=content_type,
            size_bytes=file.size_bytes,
            sha256=file.sha256,
            status=DocumentStatus.QUEUED,
            stage=None,
            progress=0.0,
            chunk_count=0,
            attempts=0,
            error=None,
            created_at=now,
            updated_at=now,
        )


async def _visible_document(uow: UnitOfWork, principal: Principal, document_id: UUID) -> Document:
    """The document if the caller may see it; another dealership's answers NotFound."""
    if principal.is_super_admin:
        document = await uow.documents.get(document_id, dealership_id=None)
    elif principal.dealership_id is not None:
        document = await uow.documents.get(document_id, dealership_id=principal.dealership_id)
    else:
        document = None
    if document is None:
        raise NotFound("document not found")
    return document


async def _locked_visible_document(
    uow: UnitOfWork, principal: Principal, document_id: UUID
) -> Document:
    """The document, row-locked for a change, if the caller may see it (else NotFound)."""
    document = await uow.documents.get_for_update(document_id)
    if document is None or not visible_dealership(principal, document.dealership_id):
        raise NotFound("document not found")
    return document


class GetDocument:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, principal: Principal, document_id: UUID) -> Document:
        async with self._uow() as uow:
            return await _visible_document(uow, principal, document_id)


class GetPassage:
    """One passage of a document, as a citation names it: (document_id, index).

    Anyone who may read the document may read its passages. Only a `ready` document's
    passages are served, as search serves them: of a document in any other status (being
    processed again, failed, being deleted) and of an unknown index the answer is
    NotFound, as for another dealership's document.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, principal: Principal, document_id: UUID, index: int) -> Chunk:
        async with self._uow(read_only=True) as uow:
            document = await _visible_document(uow, principal, document_id)
            if document.status is not DocumentStatus.READY:
                raise NotFound(
                    f"the document is {document.status.value}: its passages cannot be read"
                )
            found = await uow.chunks.get_many(
                [vector_id(document_id, index)], dealership_id=document.dealership_id
            )
        if not found:
            raise NotFound("passage not found")
        return found[0]


class ListDocuments:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None,
        topic: Topic | None,
        status: DocumentStatus | None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Document]:
        scope = dealership_scope(principal, dealership_id)
        async with self._uow(read_only=True) as uow:
            return await uow.documents.list_page(
                dealership_id=scope, topic=topic, status=status, cursor=cursor, limit=limit
            )


class DeleteDocument:
    """Marks a document `deleting` and queues the removal of its vectors, chunks and blob."""

    def __init__(self, uow: UnitOfWorkFactory, dispatcher: TaskDispatcher, clock: Clock) -> None:
        self._uow, self._dispatcher, self._clock = uow, dispatcher, clock

    async def __call__(self, principal: Principal, document_id: UUID) -> Document:
        require_role(principal, *ADMINS)
        async with self._uow() as uow:
            locked = await _locked_visible_document(uow, principal, document_id)
            if locked.status is DocumentStatus.DELETING:
                return locked
            deleting = locked.deleting(self._clock.now())
            await uow.documents.update(deleting)
            # Searches key their cache on the generation: from now on this document's
            # chunks cannot be served from a cached result.
            await uow.dealerships.bump_generation(deleting.dealership_id)
            await self._dispatcher.commit_with(uow, DeleteDocumentTask(document_id=deleting.id))
        return deleting


class RetryDocument:
    """Re-runs ingestion of a failed document."""

    def __init__(self, uow: UnitOfWorkFactory, dispatcher: TaskDispatcher, clock: Clock) -> None:
        self._uow, self._dispatcher, self._clock = uow, dispatcher, clock

    async def __call__(self, principal: Principal, document_id: UUID) -> Document:
        require_role(principal, *ADMINS)
        async with self._uow() as uow:
            locked = await _locked_visible_document(uow, principal, document_id)
            queued = locked.requeued(self._clock.now())
            await uow.documents.update(queued)
            await self._dispatcher.commit_with(uow, IngestDocumentTask(document_id=queued.id))
        return queued

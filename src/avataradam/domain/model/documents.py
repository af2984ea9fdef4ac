"""Knowledge-base documents, their lifecycle, and their passages."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from avataradam.domain.errors import DocumentNotRetryable, IllegalTransition
from avataradam.domain.model.lifecycle import Lifecycle


class Topic(enum.StrEnum):
    BOOKS = "books"
    OBJECTION_HANDLING = "objection_handling"
    PLAYBOOKS = "playbooks"
    VIDEOS = "videos"
    COMPLIANCE = "compliance"
    PRODUCT_KNOWLEDGE = "product_knowledge"


class DocumentStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    DELETING = "deleting"


class Stage(enum.StrEnum):
    EXTRACTING = "extracting"
    CHUNKING = "chunking"
    EMBEDDING = "embedding"
    INDEXING = "indexing"
    STORING = "storing"


class DocumentError(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str


class Document(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    dealership_id: UUID
    topic: Topic
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    status: DocumentStatus
    stage: Stage | None
    progress: float
    chunk_count: int
    attempts: int
    error: DocumentError | None
    created_at: datetime
    updated_at: datetime
    title: str | None = None
    """The title the file names for itself (e.g. Markdown front matter), once ingested."""
    context_title: str | None = None
    """The title its passages are embedded with (`domain.embedding_text.document_title`),
    once ingested; None for documents ingested before it was kept."""
    warnings: tuple[str, ...] = ()
    """What extraction had to skip, for a reader of the document ("3 images without text
    skipped"); empty when everything readable was indexed."""
    lease_token: UUID | None = None
    """The claim of the worker that holds this `processing` document; None while no
    worker holds it (it waits for a retry or for a re-driven message)."""
    lease_expires_at: datetime | None = None
    """While a worker holds the document: when its lease lapses unless renewed. While
    none does: when the reconciler re-drives it if no worker has claimed it by then."""
    processing_started_at: datetime | None = None
    """When the document last left `queued`; a re-drive keeps it."""

    def lease_open(self, now: datetime) -> bool:
        """Whether a worker may claim this `processing` document now: nobody holds it,
        or its holder's lease lapsed."""
        return (
            self.lease_token is None
            or self.lease_expires_at is None
            or self.lease_expires_at <= now
        )

    def held_by(self, token: UUID) -> bool:
        """Whether the lease `token` holds this `processing` document (lapsed or not:
        nobody has taken it over)."""
        return self.status is DocumentStatus.PROCESSING and self.lease_token == token

    def stalled(self, now: datetime) -> bool:
        """`processing`, but no worker works on it now: its lease lapsed (the worker
        died) or was released (it waits for a retry or for a re-driven message)."""
        return self.status is DocumentStatus.PROCESSING and self.lease_open(now)

    def claimable(self, now: datetime) -> bool:
        return self.status is DocumentStatus.QUEUED or self.stalled(now)

    def claimed(self, *, token: UUID, now: datetime, lease: timedelta) -> Document:
        """Taken by a worker (see `claimable`): `processing` under the lease `token`
        until `now + lease`, from the first stage, one more attempt. IllegalTransition
        unless claimable at `now` (a live lease holds it, or it left processing)."""
        status = DOCUMENT_LIFECYCLE.check("claimed", self.status)
        if not self.claimable(now):
            raise IllegalTransition(
                "a document held by a live lease cannot be claimed",
                entity="document",
                transition="claimed",
                status=self.status.value,
            )
        started = self.processing_started_at
        if self.status is DocumentStatus.QUEUED or started is None:
            started = now
        return msgspec.structs.replace(
            self,
            status=status,
            stage=Stage.EXTRACTING,
            progress=0.0,
            attempts=self.attempts + 1,
            updated_at=now,
            lease_token=token,
            lease_expires_at=now + lease,
            processing_started_at=started,
        )

    def progressed(self, *, stage: Stage, progress: float, now: datetime) -> Document:
        """At `stage`, `progress` (0..1) of the way to `ready`; only while processing."""
        status = DOCUMENT_LIFECYCLE.check("progressed", self.status)
        return msgspec.structs.replace(
            self, status=status, stage=stage, progress=progress, updated_at=now
        )

    def released(
        self, *, until: datetime, error: DocumentError | None = None, now: datetime | None = None
    ) -> Document:
        """Held by no worker; the reconciler re-drives it at `until` unless a worker
        claims it first. With `error` (a dependency's failure), that error is recorded
        and `updated_at` becomes `now`."""
        DOCUMENT_LIFECYCLE.check("released", self.status)
        released = msgspec.structs.replace(self, lease_token=None, lease_expires_at=until)
        if error is None:
            return released
        return msgspec.structs.replace(released, error=error, updated_at=now or self.updated_at)

    def ready(
        self,
        *,
        chunk_count: int,
        title: str | None,
        warnings: tuple[str, ...],
        now: datetime,
        context_title: str | None = None,
    ) -> Document:
        """Ingested into `chunk_count` passages: searchable, its lease and error gone."""
        status = DOCUMENT_LIFECYCLE.check("ready", self.status)
        return msgspec.structs.replace(
            self,
            status=status,
            stage=None,
            progress=1.0,
            chunk_count=chunk_count,
            error=None,
            updated_at=now,
            title=title,
            context_title=context_title,
            warnings=warnings,
            lease_token=None,
            lease_expires_at=None,
        )

    def failed(self, *, error: DocumentError, now: datetime) -> Document:
        """Failed for good (a bad file, or retries ran out) from queued or processing."""
        status = DOCUMENT_LIFECYCLE.check("failed", self.status)
        return msgspec.structs.replace(
            self,
            status=status,
            stage=None,
            error=error,
            updated_at=now,
            lease_token=None,
            lease_expires_at=None,
        )

    def deleting(self, now: datetime) -> Document:
        """On its way out (its vectors, chunks and blob are removed next); from any
        status but `deleting` itself, which a caller treats as already done."""
        status = DOCUMENT_LIFECYCLE.check("deleting", self.status)
        return msgspec.structs.replace(self, status=status, updated_at=now)

    def requeued(self, now: datetime) -> Document:
        """A failed document queued again for ingestion (a retry); DocumentNotRetryable
        (409, `details.status`) from any other status."""
        if not DOCUMENT_LIFECYCLE.allows("requeued", self.status):
            raise DocumentNotRetryable(
                f"only a failed document can be retried; this one is {self.status.value}",
                status=self.status.value,
            )
        return msgspec.structs.replace(
            self,
            status=DocumentStatus.QUEUED,
            stage=None,
            progress=0.0,
            error=None,
            updated_at=now,
        )

    def touched(self, now: datetime) -> Document:
        """A `queued` or `deleting` document whose message was re-sent (the reconciler):
        the same status, `updated_at` now, so it is not re-driven again at once."""
        DOCUMENT_LIFECYCLE.check("touched", self.status)
        return msgspec.structs.replace(self, updated_at=now)


_Q, _P, _R, _F, _D = (
    DocumentStatus.QUEUED,
    DocumentStatus.PROCESSING,
    DocumentStatus.READY,
    DocumentStatus.FAILED,
    DocumentStatus.DELETING,
)
DOCUMENT_LIFECYCLE: Lifecycle[DocumentStatus] = Lifecycle(
    "document",
    {
        # transition: (from statuses, to status; None = stays)
        "claimed": ({_Q, _P}, _P),
        "progressed": ({_P}, None),
        "released": ({_P}, None),
        "ready": ({_P}, _R),
        "failed": ({_Q, _P}, _F),
        "deleting": ({_Q, _P, _R, _F}, _D),
        "requeued": ({_F}, _Q),
        "touched": ({_Q, _D}, None),
    },
)
"""A document's legal moves: queued -> processing -> ready | failed; a failed one is
requeued; any but a deleting one starts deleting. A `processing` one is claimed again
only once stalled (see `Document.claimable`)."""


class Chunk(msgspec.Struct, frozen=True, kw_only=True):
    """A passage of a document, addressable as (document_id, index)."""

    id: str
    document_id: UUID
    dealership_id: UUID
    index: int
    text: str
    topic: Topic
    filename: str
    page: int | None = None
    section: str | None = None
    section_path: tuple[str, ...] | None = None
    """The headings the passage sits under, outermost first, as embedded with it
    (`domain.embedding_text`); None for passages stored before it was kept."""

"""Knowledge-base documents, their lifecycle, and their passages."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from uuid import UUID

import msgspec


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
        until `now + lease`, from the first stage, one more attempt."""
        started = self.processing_started_at
        if self.status is DocumentStatus.QUEUED or started is None:
            started = now
        return msgspec.structs.replace(
            self,
            status=DocumentStatus.PROCESSING,
            stage=Stage.EXTRACTING,
            progress=0.0,
            attempts=self.attempts + 1,
            updated_at=now,
            lease_token=token,
            lease_expires_at=now + lease,
            processing_started_at=started,
        )

    def released(self, *, until: datetime) -> Document:
        """Held by no worker; the reconciler re-drives it at `until` unless a worker
        claims it first."""
        return msgspec.structs.replace(self, lease_token=None, lease_expires_at=until)


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

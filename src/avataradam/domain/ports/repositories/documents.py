"""Persistence ports of the knowledge base: documents, their chunks and blobs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from avataradam.domain.model import (
    Chunk,
    Document,
    DocumentStatus,
    Stage,
    Topic,
)
from avataradam.domain.pagination import Cursor


class DocumentRepository(Protocol):
    """Documents, read within a dealership (`dealership_id=None` only for system work).

    (dealership_id, topic, sha256) is unique among documents not being deleted.
    """

    async def add(self, document: Document) -> Document | None:
        """Stores `document` and returns None, unless a live (not deleting) document of
        the same dealership, topic and sha256 exists: then stores nothing and returns
        that one. A concurrent add of the same content waits for the other's unit of
        work to end, so of two racing uploads exactly one is stored."""
        ...

    async def get(self, document_id: UUID, *, dealership_id: UUID | None) -> Document | None: ...
    async def get_for_update(self, document_id: UUID) -> Document | None: ...
    async def update(self, document: Document) -> None: ...
    async def update_leased(self, document: Document, *, lease_token: UUID) -> bool:
        """Writes like `update`, but only while the lease `lease_token` holds the
        document (its stored `lease_token` equals it, status `processing`); False and no
        change otherwise, so a worker whose lease was taken over never overwrites the
        new holder's work."""
        ...

    async def set_progress(
        self,
        document_id: UUID,
        *,
        lease_token: UUID,
        stage: Stage,
        progress: float,
        updated_at: datetime,
    ) -> bool:
        """Moves a `processing` document's stage and progress while `lease_token` holds
        it; False (and no change) otherwise, so a late report never rewrites a finished
        document or one that another worker took over."""
        ...

    async def renew_lease(self, document_id: UUID, *, lease_token: UUID, until: datetime) -> bool:
        """Moves the lease's expiry to `until` while `lease_token` holds the
        `processing` document; False (and no change) once it does not."""
        ...

    async def list_lapsed(self, *, now: datetime, limit: int) -> list[Document]:
        """`processing` documents whose `lease_expires_at` is `now` or earlier (or unset):
        the holder stopped renewing, or nobody claimed them in time. Soonest lapsed first."""
        ...

    async def oldest_processing_started_at(self) -> datetime | None:
        """The earliest `processing_started_at` of all `processing` documents (all
        dealerships); None when none is processing."""
        ...

    async def delete(self, document_id: UUID) -> None: ...
    async def find_by_sha256(
        self, *, dealership_id: UUID, topic: Topic, sha256: str
    ) -> Document | None: ...
    async def list_page(
        self,
        *,
        dealership_id: UUID,
        topic: Topic | None,
        status: DocumentStatus | None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Document]: ...
    async def list_stale(
        self, *, statuses: Sequence[DocumentStatus], updated_before: datetime, limit: int
    ) -> list[Document]: ...
    async def count_by_status(self, dealership_id: UUID | None) -> dict[DocumentStatus, int]:
        """Every status, with 0 for absent ones; `None` counts all dealerships."""
        ...

    async def not_ready_ids(self, dealership_id: UUID) -> list[UUID]:
        """The dealership's documents in any status but `ready`: vectors they may have
        (written before `ready`, or left while deleting) must not be served."""
        ...


class ChunkRepository(Protocol):
    """Chunks keyed by (document_id, index); `replace` is idempotent.

    `get_many` answers in the order of the ids asked for, skipping unknown ids, chunks
    of other dealerships and chunks of documents that are not `ready` (a document being
    deleted must never be served).
    """

    async def replace(self, document_id: UUID, chunks: Sequence[Chunk]) -> None: ...
    async def put(self, document_id: UUID, chunks: Sequence[Chunk]) -> None:
        """Inserts these chunks of the document, overwriting any at the same index."""
        ...

    async def delete_from(self, document_id: UUID, first_index: int) -> int:
        """Deletes the document's chunks at `first_index` and above; answers how many."""
        ...

    async def get_many(self, chunk_ids: Sequence[str], *, dealership_id: UUID) -> list[Chunk]: ...
    async def of_document(self, document_id: UUID) -> list[Chunk]:
        """Every chunk of the document, whatever its status, by index."""
        ...

    async def count(self, document_id: UUID) -> int: ...
    async def delete_document(self, document_id: UUID) -> None: ...


class BlobRepository(Protocol):
    """Raw uploaded bytes, written in the unit of work that adds their document.

    The blob id is its document's id; the document row must exist by commit. `write`
    returns once the whole blob is stored (before the unit of work commits); a store
    outside the database (a directory, a bucket) is not rolled back with it, so a
    failed commit leaves an unreferenced blob. Bytes are stored and read back in parts
    of at most 1 MiB, so a file is never whole in memory. `write` replaces an existing
    blob and returns its size; `read` yields nothing for an unknown blob and must be
    consumed inside its unit of work. A store that cannot be reached raises
    DependencyUnavailable.
    """

    async def write(self, blob_id: UUID, parts: AsyncIterator[bytes]) -> int: ...
    def read(self, blob_id: UUID) -> AsyncIterator[bytes]: ...
    async def delete(self, blob_id: UUID) -> None: ...

"""In-memory twins of the document, chunk and blob repositories.

See `adapters/postgres/documents.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from avataradam.adapters.memory.rows import insert, page, require
from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.domain.errors import Conflict, DuplicateDocument, NotFound
from avataradam.domain.model import (
    Chunk,
    Document,
    DocumentStatus,
    Stage,
    Topic,
)
from avataradam.domain.pagination import Cursor

BLOB_PART_BYTES = 1024 * 1024


def _live_duplicate(t: Tables, document: Document) -> Document | None:
    """Another live document with `document`'s dealership, topic and content."""
    if document.status is DocumentStatus.DELETING:
        return None
    return next(
        (
            d
            for d in t.documents.values()
            if d.id != document.id
            and d.dealership_id == document.dealership_id
            and d.topic == document.topic
            and d.sha256 == document.sha256
            and d.status is not DocumentStatus.DELETING
        ),
        None,
    )


def _kept_identity(t: Tables, document: Document) -> Document:
    """`document` with the stored row's immutable fields; refuses a live duplicate."""
    current = t.documents[document.id]
    kept = msgspec.structs.replace(
        document,
        dealership_id=current.dealership_id,
        topic=current.topic,
        sha256=current.sha256,
        created_at=current.created_at,
    )
    if _live_duplicate(t, kept) is not None:
        raise DuplicateDocument("this file is already in this knowledge base")
    return kept


def _held(document: Document | None, lease_token: UUID) -> bool:
    return (
        document is not None
        and document.status is DocumentStatus.PROCESSING
        and document.lease_token == lease_token
    )


def _lapse_order(document: Document) -> tuple[bool, datetime, UUID]:
    """PostgreSQL's `ORDER BY lease_expires_at NULLS FIRST, id`."""
    expires = document.lease_expires_at
    return (expires is not None, expires or document.updated_at, document.id)


class InMemoryDocumentRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, document: Document) -> Document | None:
        def op(t: Tables) -> Document | None:
            require(t.dealerships, document.dealership_id, "dealership")
            existing = _live_duplicate(t, document)
            if existing is None:
                insert(t.documents, document.id, document)
            return existing

        return self._tx.write(op, replay_must_agree=True)

    async def get(self, document_id: UUID, *, dealership_id: UUID | None) -> Document | None:
        document = self._tx.tables.documents.get(document_id)
        if document is None or dealership_id not in (None, document.dealership_id):
            return None
        return document

    async def get_for_update(self, document_id: UUID) -> Document | None:
        self._tx.require_writable()
        return self._tx.tables.documents.get(document_id)

    async def update(self, document: Document) -> None:
        def op(t: Tables) -> None:
            if document.id not in t.documents:
                raise NotFound("document not found")
            t.documents[document.id] = _kept_identity(t, document)

        self._tx.write(op)

    async def update_leased(self, document: Document, *, lease_token: UUID) -> bool:
        def op(t: Tables) -> bool:
            if not _held(t.documents.get(document.id), lease_token):
                return False
            t.documents[document.id] = _kept_identity(t, document)
            return True

        return self._tx.write(op, replay_must_agree=True)

    async def set_progress(
        self,
        document_id: UUID,
        *,
        lease_token: UUID,
        stage: Stage,
        progress: float,
        updated_at: datetime,
    ) -> bool:
        def op(t: Tables) -> bool:
            current = t.documents.get(document_id)
            if current is None or not _held(current, lease_token):
                return False
            t.documents[document_id] = current.progressed(
                stage=stage, progress=progress, now=updated_at
            )
            return True

        return self._tx.write(op)

    async def renew_lease(self, document_id: UUID, *, lease_token: UUID, until: datetime) -> bool:
        def op(t: Tables) -> bool:
            current = t.documents.get(document_id)
            if current is None or not _held(current, lease_token):
                return False
            t.documents[document_id] = msgspec.structs.replace(current, lease_expires_at=until)
            return True

        return self._tx.write(op)

    async def list_lapsed(self, *, now: datetime, limit: int) -> list[Document]:
        rows = [
            d
            for d in self._tx.tables.documents.values()
            if d.status is DocumentStatus.PROCESSING
            and (d.lease_expires_at is None or d.lease_expires_at <= now)
        ]
        return sorted(rows, key=_lapse_order)[:limit]

    async def oldest_processing_started_at(self) -> datetime | None:
        return min(
            (
                d.processing_started_at
                for d in self._tx.tables.documents.values()
                if d.status is DocumentStatus.PROCESSING and d.processing_started_at is not None
            ),
            default=None,
        )

    async def delete(self, document_id: UUID) -> None:
        def op(t: Tables) -> None:
            t.documents.pop(document_id, None)
            t.blobs.pop(document_id, None)
            for chunk_id in [c.id for c in t.chunks.values() if c.document_id == document_id]:
                del t.chunks[chunk_id]

        self._tx.write(op)

    async def find_by_sha256(
        self, *, dealership_id: UUID, topic: Topic, sha256: str
    ) -> Document | None:
        return next(
            (
                d
                for d in self._tx.tables.documents.values()
                if d.dealership_id == dealership_id
                and d.topic == topic
                and d.sha256 == sha256
                and d.status is not DocumentStatus.DELETING
            ),
            None,
        )

    async def list_page(
        self,
        *,
        dealership_id: UUID,
        topic: Topic | None,
        status: DocumentStatus | None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Document]:
        rows = [
            d
            for d in self._tx.tables.documents.values()
            if d.dealership_id == dealership_id
            and topic in (None, d.topic)
            and status in (None, d.status)
        ]
        return page(rows, lambda d: (d.created_at, d.id), cursor, limit)

    async def list_stale(
        self, *, statuses: Sequence[DocumentStatus], updated_before: datetime, limit: int
    ) -> list[Document]:
        rows = [
            d
            for d in self._tx.tables.documents.values()
            if d.status in statuses and d.updated_at < updated_before
        ]
        return sorted(rows, key=lambda d: (d.updated_at, d.id))[:limit]

    async def count_by_status(self, dealership_id: UUID | None) -> dict[DocumentStatus, int]:
        counts = dict.fromkeys(DocumentStatus, 0)
        for document in self._tx.tables.documents.values():
            if dealership_id in (None, document.dealership_id):
                counts[document.status] += 1
        return counts

    async def not_ready_ids(self, dealership_id: UUID) -> list[UUID]:
        return [
            document.id
            for document in self._tx.tables.documents.values()
            if document.dealership_id == dealership_id
            and document.status is not DocumentStatus.READY
        ]


class InMemoryChunkRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def replace(self, document_id: UUID, chunks: Sequence[Chunk]) -> None:
        new = tuple(msgspec.structs.replace(c, document_id=document_id) for c in chunks)
        if len({c.index for c in new}) != len(new):
            raise Conflict("two chunks of a document share an index")

        def op(t: Tables) -> None:
            for chunk_id in [c.id for c in t.chunks.values() if c.document_id == document_id]:
                del t.chunks[chunk_id]
            if new:
                require(t.documents, document_id, "document")
            for chunk in new:
                insert(t.chunks, chunk.id, chunk)

        self._tx.write(op)

    async def put(self, document_id: UUID, chunks: Sequence[Chunk]) -> None:
        new = tuple(msgspec.structs.replace(c, document_id=document_id) for c in chunks)
        if len({c.index for c in new}) != len(new):
            raise Conflict("two chunks of a document share an index")

        def op(t: Tables) -> None:
            if new:
                require(t.documents, document_id, "document")
            indexes = {c.index for c in new}
            for chunk_id in [
                c.id
                for c in t.chunks.values()
                if c.document_id == document_id and c.index in indexes
            ]:
                del t.chunks[chunk_id]
            for chunk in new:
                insert(t.chunks, chunk.id, chunk)

        self._tx.write(op)

    async def delete_from(self, document_id: UUID, first_index: int) -> int:
        def op(t: Tables) -> int:
            doomed = [
                c.id
                for c in t.chunks.values()
                if c.document_id == document_id and c.index >= first_index
            ]
            for chunk_id in doomed:
                del t.chunks[chunk_id]
            return len(doomed)

        return self._tx.write(op)

    async def get_many(self, chunk_ids: Sequence[str], *, dealership_id: UUID) -> list[Chunk]:
        chunks, documents = self._tx.tables.chunks, self._tx.tables.documents
        return [
            chunks[chunk_id]
            for chunk_id in dict.fromkeys(chunk_ids)
            if chunk_id in chunks
            and chunks[chunk_id].dealership_id == dealership_id
            and (document := documents.get(chunks[chunk_id].document_id)) is not None
            and document.status is DocumentStatus.READY
        ]

    async def of_document(self, document_id: UUID) -> list[Chunk]:
        chunks = [c for c in self._tx.tables.chunks.values() if c.document_id == document_id]
        return sorted(chunks, key=lambda c: c.index)

    async def count(self, document_id: UUID) -> int:
        return sum(1 for c in self._tx.tables.chunks.values() if c.document_id == document_id)

    async def delete_document(self, document_id: UUID) -> None:
        def op(t: Tables) -> None:
            for chunk_id in [c.id for c in t.chunks.values() if c.document_id == document_id]:
                del t.chunks[chunk_id]

        self._tx.write(op)


class InMemoryBlobRepository:
    """Keeps parts of at most BLOB_PART_BYTES, like the PostgreSQL rows, in the tables'
    `blobs` (documents') or `audio_blobs` (replies' audio)."""

    def __init__(
        self, tx: InMemoryTransaction, table: Literal["blobs", "audio_blobs"] = "blobs"
    ) -> None:
        self._tx, self._table = tx, table

    async def write(self, blob_id: UUID, parts: AsyncIterator[bytes]) -> int:
        stored: list[bytes] = []
        pending = bytearray()
        total = 0
        async for part in parts:
            total += len(part)
            pending += part
            while len(pending) >= BLOB_PART_BYTES:
                stored.append(bytes(pending[:BLOB_PART_BYTES]))
                del pending[:BLOB_PART_BYTES]
        if pending:
            stored.append(bytes(pending))
        blob = tuple(stored)

        def op(t: Tables) -> None:
            getattr(t, self._table)[blob_id] = blob

        self._tx.write(op)
        return total

    async def read(self, blob_id: UUID) -> AsyncIterator[bytes]:
        blobs: dict[UUID, tuple[bytes, ...]] = getattr(self._tx.tables, self._table)
        for part in blobs.get(blob_id, ()):
            yield part

    async def delete(self, blob_id: UUID) -> None:
        self._tx.write(lambda t: getattr(t, self._table).pop(blob_id, None))

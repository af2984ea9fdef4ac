"""Documents in PostgreSQL (their chunks: `chunks.py`; their bytes: `blobs.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from avataradam.adapters.postgres.errors import (
    affected_rows,
    translate,
)
from avataradam.adapters.postgres.rows import (
    ConnectionRepository,
    columns,
    from_row,
    insert,
    page_after,
    page_params,
    params,
    select,
    update,
)
from avataradam.domain.errors import ConcurrentUpdate
from avataradam.domain.model import (
    Document,
    DocumentError,
    DocumentStatus,
    Stage,
    Topic,
)
from avataradam.domain.pagination import Cursor

_ADD_ATTEMPTS = 3

_DOCUMENT = columns(
    "id, dealership_id, topic, filename, content_type, size_bytes, sha256, status, stage,"
    " progress, chunk_count, attempts, error_code, error_message, created_at, updated_at,"
    " title, warnings, lease_token, lease_expires_at, processing_started_at, context_title"
)
_SELECT_DOCUMENT = select("documents", _DOCUMENT)
_INSERT_DOCUMENT = insert("documents", _DOCUMENT)

_MUTABLE = columns(
    "id, filename, content_type, size_bytes, status, stage, progress, chunk_count, attempts,"
    " error_code, error_message, updated_at, title, warnings, lease_token, lease_expires_at,"
    " processing_started_at, context_title"
)
"""The id, then every column that changes after the insert."""
_UPDATE_DOCUMENT = update("documents", _MUTABLE)


def _params(document: Document, names: tuple[str, ...]) -> list[object]:
    """`params`, with the error's code and message in two columns of their own."""
    error = document.error
    return params(
        document,
        names,
        error_code=None if error is None else error.code,
        error_message=None if error is None else error.message,
    )


def _document(row: asyncpg.Record) -> Document:
    error = (
        None
        if row["error_code"] is None
        else DocumentError(code=row["error_code"], message=row["error_message"] or "")
    )
    return from_row(Document, row, error=error)


class PostgresDocumentRepository(ConnectionRepository):
    @translate
    async def add(self, document: Document) -> Document | None:
        """ON CONFLICT on the partial unique index: a racing upload of the same content
        waits for the other transaction, then finds its document (READ COMMITTED sees
        it from the next statement on). Retried if that document left meanwhile."""
        for _attempt in range(_ADD_ATTEMPTS):
            status = await self._conn.execute(
                f"{_INSERT_DOCUMENT} ON CONFLICT (dealership_id, topic, sha256)"
                " WHERE status <> 'deleting' DO NOTHING",
                *_params(document, _DOCUMENT),
            )
            if affected_rows(status) == 1:
                return None
            existing = await self.find_by_sha256(
                dealership_id=document.dealership_id, topic=document.topic, sha256=document.sha256
            )
            if existing is not None:
                return existing
        raise ConcurrentUpdate("the same file is being uploaded and deleted at once; retry")

    @translate
    async def get(self, document_id: UUID, *, dealership_id: UUID | None) -> Document | None:
        row = await self._conn.fetchrow(
            f"{_SELECT_DOCUMENT} WHERE id = $1 AND ($2::uuid IS NULL OR dealership_id = $2)",
            document_id,
            dealership_id,
        )
        return None if row is None else _document(row)

    @translate
    async def get_for_update(self, document_id: UUID) -> Document | None:
        """Locks the row until the unit of work ends, serialising workers on a document."""
        row = await self._conn.fetchrow(f"{_SELECT_DOCUMENT} WHERE id = $1 FOR UPDATE", document_id)
        return None if row is None else _document(row)

    @translate
    async def update(self, document: Document) -> None:
        """Writes every mutable field; id, dealership, topic and digest never change."""
        await self._update_one(
            f"{_UPDATE_DOCUMENT} WHERE id = $1", _params(document, _MUTABLE), "document"
        )

    @translate
    async def update_leased(self, document: Document, *, lease_token: UUID) -> bool:
        status = await self._conn.execute(
            f"{_UPDATE_DOCUMENT} WHERE id = $1 AND status = 'processing'"
            f" AND lease_token = ${len(_MUTABLE) + 1}",
            *_params(document, _MUTABLE),
            lease_token,
        )
        return affected_rows(status) == 1

    @translate
    async def set_progress(
        self,
        document_id: UUID,
        *,
        lease_token: UUID,
        stage: Stage,
        progress: float,
        updated_at: datetime,
    ) -> bool:
        status = await self._conn.execute(
            "UPDATE documents SET stage = $3, progress = $4, updated_at = $5"
            " WHERE id = $1 AND status = 'processing' AND lease_token = $2",
            document_id,
            lease_token,
            stage.value,
            progress,
            updated_at,
        )
        return affected_rows(status) == 1

    @translate
    async def renew_lease(self, document_id: UUID, *, lease_token: UUID, until: datetime) -> bool:
        status = await self._conn.execute(
            "UPDATE documents SET lease_expires_at = $3"
            " WHERE id = $1 AND status = 'processing' AND lease_token = $2",
            document_id,
            lease_token,
            until,
        )
        return affected_rows(status) == 1

    @translate
    async def list_lapsed(self, *, now: datetime, limit: int) -> list[Document]:
        rows = await self._conn.fetch(
            f"{_SELECT_DOCUMENT} WHERE status = 'processing'"
            " AND (lease_expires_at IS NULL OR lease_expires_at <= $1)"
            " ORDER BY lease_expires_at NULLS FIRST, id LIMIT $2",
            now,
            limit,
        )
        return [_document(row) for row in rows]

    @translate
    async def oldest_processing_started_at(self) -> datetime | None:
        oldest: datetime | None = await self._conn.fetchval(
            "SELECT min(processing_started_at) FROM documents WHERE status = 'processing'"
        )
        return oldest

    @translate
    async def delete(self, document_id: UUID) -> None:
        """Removes the document with its chunks and blob (cascade)."""
        await self._conn.execute("DELETE FROM documents WHERE id = $1", document_id)

    @translate
    async def find_by_sha256(
        self, *, dealership_id: UUID, topic: Topic, sha256: str
    ) -> Document | None:
        """The live (not deleting) document with this content, if any."""
        row = await self._conn.fetchrow(
            f"{_SELECT_DOCUMENT} WHERE dealership_id = $1"
            " AND topic = $2 AND sha256 = $3 AND status <> 'deleting'",
            dealership_id,
            topic.value,
            sha256,
        )
        return None if row is None else _document(row)

    @translate
    async def list_page(
        self,
        *,
        dealership_id: UUID,
        topic: Topic | None,
        status: DocumentStatus | None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Document]:
        rows = await self._conn.fetch(
            f"{_SELECT_DOCUMENT} WHERE dealership_id = $1"
            " AND ($2::text IS NULL OR topic = $2) AND ($3::text IS NULL OR status = $3)"
            f" AND {page_after(4, cursor)}",
            dealership_id,
            None if topic is None else topic.value,
            None if status is None else status.value,
            *page_params(cursor, limit),
        )
        return [_document(row) for row in rows]

    @translate
    async def list_stale(
        self, *, statuses: Sequence[DocumentStatus], updated_before: datetime, limit: int
    ) -> list[Document]:
        """Oldest first, for the reconciler."""
        rows = await self._conn.fetch(
            f"{_SELECT_DOCUMENT}"
            " WHERE status = ANY($1::text[]) AND updated_at < $2"
            " ORDER BY updated_at, id LIMIT $3",
            [s.value for s in statuses],
            updated_before,
            limit,
        )
        return [_document(row) for row in rows]

    @translate
    async def count_by_status(self, dealership_id: UUID | None) -> dict[DocumentStatus, int]:
        rows = await self._conn.fetch(
            "SELECT status, count(*) AS n FROM documents"
            " WHERE $1::uuid IS NULL OR dealership_id = $1 GROUP BY status",
            dealership_id,
        )
        counts = dict.fromkeys(DocumentStatus, 0)
        counts.update({DocumentStatus(row["status"]): row["n"] for row in rows})
        return counts

    @translate
    async def not_ready_ids(self, dealership_id: UUID) -> list[UUID]:
        rows = await self._conn.fetch(
            "SELECT id FROM documents WHERE dealership_id = $1 AND status <> 'ready'",
            dealership_id,
        )
        return [row["id"] for row in rows]

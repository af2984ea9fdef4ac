"""Bodies of knowledge-base documents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from avataradam.domain.model import DocumentStatus, Stage, Topic


class DocumentErrorOut(msgspec.Struct, frozen=True):
    code: str
    message: str


class DocumentOut(msgspec.Struct, frozen=True):
    """A document and its processing state.

    `stalled` is true when no worker holds a `processing` document's lease: its worker
    died (the lease lapsed) or it waits for a retry after a failure (`error` says which)
    or for a worker to take it up again; the reconciler re-drives it. It tells a held-up
    document apart from one working or merely `queued` behind others. `title` is the title the file
    names for itself (e.g. Markdown front matter), `warnings` what extraction had to skip
    ("3 images without text skipped"); both are set once the document is ready.
    """

    id: UUID
    dealership_id: UUID
    filename: str
    topic: Topic
    content_type: str
    status: DocumentStatus
    stage: Stage | None
    progress: float
    chunk_count: int
    error: DocumentErrorOut | None
    attempts: int
    size_bytes: int
    sha256: str
    stalled: bool
    created_at: datetime
    updated_at: datetime
    title: Annotated[str | None, msgspec.Meta(examples=["Menu selling basics"])]
    warnings: Annotated[list[str], msgspec.Meta(examples=[["3 images without text skipped"]])]


class PassageOut(msgspec.Struct, frozen=True):
    """One passage (chunk) of a ready document, as a citation names it: `index` is its
    place in the document (0 first), `page` the 1-based page it starts on (PDFs; else
    null), `section` the heading it sits under (null when it has none), `text` the
    passage whole, as stored and cited (paragraphs kept, separated by a blank line)."""

    document_id: UUID
    filename: str
    topic: Topic
    index: Annotated[int, msgspec.Meta(examples=[3])]
    page: Annotated[int | None, msgspec.Meta(examples=[12])]
    section: Annotated[str | None, msgspec.Meta(examples=["Handling price objections"])]
    text: Annotated[
        str,
        msgspec.Meta(examples=["GAP covers the difference between the loan and the car's value."]),
    ]

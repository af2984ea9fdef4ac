"""Knowledge bases in chosen states, for tests of search over any `VectorIndex`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from avataradam.domain.model import Chunk, Dealership, Document, DocumentStatus, Topic
from avataradam.domain.ports.knowledge import VectorIndex, VectorRecord, vector_id
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory


class ProbeEmbedder:
    """Implements `Embedder`: every text maps to the probe vector the test chose."""

    model_name = "probe"

    def __init__(self, vector: list[float]) -> None:
        self.vector = vector
        self.dimension = len(vector)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [list(self.vector) for _ in texts]


@dataclass(frozen=True)
class PlannedDocument:
    """A document in some state, with one vector per chunk it was cut into.

    `status=None` is a document already purged whose vectors an eventually consistent
    index still serves. A ready document has chunks for its first `chunked` vectors
    only (the rest are leftovers of an older chunking); a deleting one has all its
    chunks; other states have none (chunks are stored in the step that makes a
    document ready).
    """

    status: DocumentStatus | None
    topic: Topic
    vectors: list[list[float]]
    chunked: int = 1_000_000


async def plant(
    uow: UnitOfWorkFactory, index: VectorIndex, documents: Sequence[PlannedDocument]
) -> tuple[UUID, dict[str, tuple[Topic, list[float]]]]:
    """Stores the documents of a new dealership; answers it and, by chunk id, the topic
    and vector of every servable chunk (one of a ready document)."""
    dealership_id, now = uuid.uuid4(), datetime.now(UTC)
    servable: dict[str, tuple[Topic, list[float]]] = {}
    async with uow() as work:
        await work.dealerships.add(
            Dealership(
                id=dealership_id,
                name="D",
                active=True,
                knowledge_base_generation=1,
                created_at=now,
                updated_at=now,
            )
        )
        for planned in documents:
            document_id = uuid.uuid4()
            await index.upsert(
                str(dealership_id),
                [
                    VectorRecord(
                        id=vector_id(document_id, i),
                        values=values,
                        document_id=document_id,
                        topic=planned.topic,
                    )
                    for i, values in enumerate(planned.vectors)
                ],
            )
            if planned.status is None:
                continue
            chunks = _chunks(dealership_id, document_id, planned)
            await work.documents.add(_document(dealership_id, document_id, planned, len(chunks)))
            await work.chunks.replace(document_id, chunks)
            if planned.status is DocumentStatus.READY:
                servable.update({c.id: (planned.topic, planned.vectors[c.index]) for c in chunks})
        await work.commit()
    return dealership_id, servable


def _chunks(dealership_id: UUID, document_id: UUID, planned: PlannedDocument) -> list[Chunk]:
    if planned.status is DocumentStatus.READY:
        count = min(planned.chunked, len(planned.vectors))
    elif planned.status is DocumentStatus.DELETING:
        count = len(planned.vectors)
    else:
        count = 0
    return [
        Chunk(
            id=vector_id(document_id, i),
            document_id=document_id,
            dealership_id=dealership_id,
            index=i,
            text=f"passage {i} of {document_id}",
            topic=planned.topic,
            filename=f"{document_id}.txt",
        )
        for i in range(count)
    ]


def _document(
    dealership_id: UUID, document_id: UUID, planned: PlannedDocument, chunk_count: int
) -> Document:
    assert planned.status is not None
    now = datetime.now(UTC)
    return Document(
        id=document_id,
        dealership_id=dealership_id,
        topic=planned.topic,
        filename=f"{document_id}.txt",
        content_type="text/plain",
        size_bytes=1,
        sha256=uuid.uuid4().hex,
        status=planned.status,
        stage=None,
        progress=0.0,
        chunk_count=chunk_count,
        attempts=1,
        error=None,
        created_at=now,
        updated_at=now,
    )

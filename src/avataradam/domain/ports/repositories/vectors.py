"""Persistence port of re-embeddings (`domain/vectors.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from avataradam.domain.vectors import Reembedding


class ReembeddingRepository(Protocol):
    """Re-embeddings keyed by (dealership_id, generation); at most one `running` per
    dealership, and the documents each has written into its generation."""

    async def add(self, reembedding: Reembedding) -> None:
        """Stores a new re-embedding; raises `ReembeddingRunning` when the dealership
        has one running already."""
        ...

    async def get(self, dealership_id: UUID, generation: int) -> Reembedding | None: ...
    async def get_for_update(self, dealership_id: UUID, generation: int) -> Reembedding | None:
        """Locks the row until the unit of work ends."""
        ...

    async def running(self, dealership_id: UUID) -> Reembedding | None: ...
    async def latest_generation(self, dealership_id: UUID) -> int:
        """The highest generation any re-embedding of the dealership built (0: none)."""
        ...

    async def list_for(self, dealership_id: UUID) -> list[Reembedding]:
        """Newest first."""
        ...

    async def update(self, reembedding: Reembedding) -> None: ...
    async def redrivable(self, now: datetime, *, limit: int) -> list[Reembedding]:
        """Running ones whose lease lapsed (`Reembedding.redrivable`)."""
        ...

    async def mark_documents(
        self, dealership_id: UUID, generation: int, document_ids: Sequence[UUID]
    ) -> None:
        """Records these documents as written into the generation (idempotent)."""
        ...

    async def pending_documents(
        self, dealership_id: UUID, generation: int, *, limit: int
    ) -> list[UUID]:
        """`ready` documents of the dealership not yet written into the generation,
        oldest first."""
        ...

    async def count_pending(self, dealership_id: UUID, generation: int) -> int: ...

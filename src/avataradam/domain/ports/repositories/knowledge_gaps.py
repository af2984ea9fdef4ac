"""Persistence port of knowledge gaps and the questions they group."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from avataradam.domain.model.knowledge_gaps import (
    GapCentroid,
    GapCursor,
    GapQuestion,
    GapReason,
    GapStatus,
    KnowledgeGap,
    PendingQuestion,
)


class KnowledgeGapRepository(Protocol):
    """Gap questions (one per assistant reply) and the gaps grouping them, per dealership."""

    async def add_question(self, question: GapQuestion) -> bool:
        """Stores an ungrouped question; False (nothing changed) when its reply already
        has one (the first reason stands)."""
        ...

    async def question_reason(self, message_id: UUID) -> GapReason | None:
        """The recorded reason of a reply's question, None when it has none."""
        ...

    async def set_reason(self, message_id: UUID, reason: GapReason) -> None:
        """Changes the reason of a recorded question (a rating given again)."""
        ...

    async def remove_question(self, message_id: UUID) -> None:
        """Forgets a reply's question (its thumbs down became a thumbs up)."""
        ...

    async def dealerships_pending(self, *, asked_before: datetime, limit: int) -> list[UUID]:
        """Dealerships with ungrouped questions asked before `asked_before`."""
        ...

    async def lock_dealership(self, dealership_id: UUID) -> None:
        """Holds the dealership's grouping lock until the transaction ends: one grouping
        run per dealership at a time, across processes."""
        ...

    async def pending(self, dealership_id: UUID, *, limit: int) -> list[PendingQuestion]:
        """Ungrouped questions of the dealership, oldest first, locked until the unit of
        work ends: a request that removes or replaces one of them (a thumbs up forgetting
        it) waits for the grouping, or the grouping skips a row removed first, so no gap
        counts a question that is gone or takes another question's text."""
        ...

    async def centroids(self, dealership_id: UUID, embedding_model: str) -> list[GapCentroid]:
        """Every gap of the dealership (open or resolved) grouped with `embedding_model`."""
        ...

    async def create_gap(
        self,
        gap: GapCentroid,
        *,
        dealership_id: UUID,
        embedding_model: str,
        created_at: datetime,
    ) -> None: ...

    async def update_gap(self, gap: GapCentroid) -> None:
        """Stores a gap's new centroid, member count and title."""
        ...

    async def assign(
        self,
        message_id: UUID,
        *,
        gap_id: UUID,
        embedding: Sequence[float],
        embedding_model: str,
    ) -> None:
        """Puts a question into a gap with the vector it was grouped by."""
        ...

    async def members(self, gap_id: UUID, *, limit: int) -> list[tuple[str, tuple[float, ...]]]:
        """The newest `limit` questions of a gap with their vectors."""
        ...

    async def list_gaps(
        self,
        dealership_id: UUID,
        *,
        start: datetime,
        end: datetime,
        status: GapStatus | None,
        cursor: GapCursor | None,
        limit: int,
    ) -> list[KnowledgeGap]:
        """Gaps with questions asked in `start <= asked_at < end`, counted over those,
        by count descending then id descending, after `cursor`."""
        ...

    async def get_gap(self, gap_id: UUID, dealership_id: UUID) -> KnowledgeGap | None:
        """One gap of the dealership counted over all its questions; None when it is
        not the dealership's or has no question left."""
        ...

    async def resolve(
        self, gap_id: UUID, dealership_id: UUID, *, by: UUID, at: datetime, note: str | None
    ) -> bool:
        """Marks the dealership's gap resolved at `at`; False when it has no such gap."""
        ...

"""Rows of the in-memory knowledge-gap tables (`adapters/memory/knowledge_gaps.py`)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.domain.model.knowledge_gaps import GapCentroid, GapQuestion, GapStatus


class GapQuestionRow(msgspec.Struct, frozen=True, kw_only=True):
    question: GapQuestion
    gap_id: UUID | None = None
    embedding: tuple[float, ...] | None = None
    embedding_model: str | None = None


class GapRow(msgspec.Struct, frozen=True, kw_only=True):
    gap: GapCentroid
    dealership_id: UUID
    embedding_model: str
    created_at: datetime
    status: GapStatus = GapStatus.OPEN
    resolved_at: datetime | None = None
    resolved_by: UUID | None = None
    resolve_note: str | None = None

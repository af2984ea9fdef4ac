"""Bodies of the knowledge-gaps report (`/v1/analytics/knowledge-gaps`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from avataradam.domain.model.knowledge_gaps import MAX_RESOLVE_NOTE_CHARS, GapStatus
from avataradam.entrypoints.http.schemas.common import DealershipId


class GapReasonsOut(msgspec.Struct, frozen=True):
    """Questions of the gap in the window, by why each was a gap."""

    no_material: int
    """No passage of the knowledge base reached the relevance floor: Adam said so."""
    weak_material: int
    """Passages reached the floor but none supported the answer (citation check)."""
    thumbs_down: int
    """The asker rated the answer down."""
    reported_inaccurate: int
    """The asker rated the answer down and said what was wrong."""


class KnowledgeGapOut(msgspec.Struct, frozen=True):
    id: UUID
    title: str
    """The gap's most representative question (nearest the centroid of its questions)."""
    count: int
    """Questions of this gap asked in the window."""
    first_asked_at: datetime
    last_asked_at: datetime
    examples: list[str]
    """Up to 5 distinct questions, newest first."""
    reasons: GapReasonsOut
    status: GapStatus
    resolved_at: datetime | None
    resolved_by: UUID | None
    resolve_note: str | None
    recurred: bool
    """A question of it was asked after `resolved_at` (the gap stays `resolved`)."""


class ResolveGapIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    note: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=MAX_RESOLVE_NOTE_CHARS,
                examples=["Uploaded the 2026 GAP product guide (deductible coverage)."],
            ),
        ]
        | None
    ) = None
    dealership_id: DealershipId | None = None

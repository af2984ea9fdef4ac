"""Knowledge gaps: training questions the knowledge base could not answer, and the
topics (gaps) the worker groups them into (domain/usecases/knowledge_gaps.py)."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.domain.pagination import KeysetCursor

MAX_GAP_QUESTION_CHARS = 500
"""A question is stored cut to this many characters (a topic needs no more)."""
MAX_GAP_EXAMPLES = 5
MAX_RESOLVE_NOTE_CHARS = 1000


class GapReason(enum.StrEnum):
    NO_MATERIAL = "no_material"
    """No passage reached the chat relevance floor: Adam refused (`NO_MATERIAL_REPLY`)."""
    WEAK_MATERIAL = "weak_material"
    """Passages reached the floor, but no sentence of the reply was supported by them
    (the citation check: the stored reply's `grounded` is false)."""
    THUMBS_DOWN = "thumbs_down"
    """The asker rated the answer down without saying why."""
    REPORTED_INACCURATE = "reported_inaccurate"
    """The asker rated the answer down and said what was wrong (a `reason`)."""


FEEDBACK_REASONS = frozenset({GapReason.THUMBS_DOWN, GapReason.REPORTED_INACCURATE})


class GapStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class GapQuestion(msgspec.Struct, frozen=True, kw_only=True):
    """One training answer that was a gap; `message_id` is the assistant's reply."""

    message_id: UUID
    dealership_id: UUID
    conversation_id: UUID
    user_id: UUID
    question: str
    language: str
    reason: GapReason
    top_score: float | None
    """The best retrieved passage's score (cosine), whether or not it reached the floor;
    None when nothing was retrieved or for a rating."""
    asked_at: datetime


class PendingQuestion(msgspec.Struct, frozen=True, kw_only=True):
    """A recorded question the worker has not grouped yet."""

    message_id: UUID
    question: str
    asked_at: datetime


class GapCentroid(msgspec.Struct, frozen=True, kw_only=True):
    """A gap as the grouping sees it: `centroid` is the sum of its questions' vectors."""

    id: UUID
    title: str
    centroid: tuple[float, ...]
    member_count: int


class GapReasons(msgspec.Struct, frozen=True, kw_only=True):
    no_material: int = 0
    weak_material: int = 0
    thumbs_down: int = 0
    reported_inaccurate: int = 0


class KnowledgeGap(msgspec.Struct, frozen=True, kw_only=True):
    """A gap as admins read it: counts and dates over the questions asked in the window
    read (`count` questions, `reasons` by reason); `recurred` whether any question of
    it was asked after `resolved_at` (at any time)."""

    id: UUID
    title: str
    count: int
    first_asked_at: datetime
    last_asked_at: datetime
    examples: tuple[str, ...]
    reasons: GapReasons
    status: GapStatus
    resolved_at: datetime | None
    resolved_by: UUID | None
    resolve_note: str | None
    recurred: bool


class GapCursor(KeysetCursor, frozen=True, array_like=True):
    """Keyset of the gaps list, ordered by count descending, then id descending."""

    count: int
    id: UUID

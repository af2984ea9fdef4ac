"""Bodies of ratings of answers and the admins' report of them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from avataradam.domain.model import ConversationMode, FeedbackRating
from avataradam.entrypoints.http.schemas.common import DealershipId
from avataradam.entrypoints.http.schemas.conversations import SourceOut


class FeedbackCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    rating: FeedbackRating
    reason: (
        Annotated[
            str,
            msgspec.Meta(max_length=2000, examples=["The GAP price quoted is out of date."]),
        ]
        | None
    ) = None
    dealership_id: DealershipId | None = None


class FeedbackOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    message_id: UUID
    conversation_id: UUID
    user_id: UUID
    rating: FeedbackRating
    reason: str | None
    created_at: datetime
    """When the user first rated the message."""
    updated_at: datetime
    """When the user last rated it (the rating and reason are from then)."""


class FeedbackReportOut(FeedbackOut, frozen=True, kw_only=True):
    """A rating with the exchange it rates, so an admin can judge the answer."""

    mode: ConversationMode | None
    scenario: str | None
    question: str | None
    answer: str | None
    sources: list[SourceOut]

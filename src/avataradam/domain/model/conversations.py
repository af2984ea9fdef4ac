"""Conversations, their messages and the feedback on them."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.domain.model.documents import Topic


class ConversationMode(enum.StrEnum):
    TRAINING = "training"
    ROLEPLAY = "roleplay"


class Language(enum.StrEnum):
    """Languages a conversation can be held in: dealership staff and customers in the US
    speak English and Spanish."""

    EN = "en"
    ES = "es"


class MessageRole(enum.StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


class Conversation(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    dealership_id: UUID
    user_id: UUID
    mode: ConversationMode
    scenario: str | None
    created_at: datetime
    updated_at: datetime
    language: Language = Language.EN
    """Roleplay: the language the customer speaks. Training: the language Adam answers in
    when a question's own language is unclear (he answers in the question's language)."""
    scenario_id: str | None = None
    """Roleplay: the scenario practised, as the API names it (a built-in's slug, or the
    UUID of the dealership's own scenario; see `domain/model/scenarios.py`)."""
    completed_at: datetime | None = None
    """Roleplay: when the trainee ended the session (`POST .../complete`); it then takes
    no more messages and has its scorecard (`domain/model/scorecards.py`)."""
    assignment_id: UUID | None = None
    """Roleplay: the assignment it was started for; its scorecard counts toward it
    (`domain/model/assignments.py`)."""


class Source(msgspec.Struct, frozen=True, kw_only=True):
    chunk_id: str
    document_id: UUID
    filename: str
    topic: Topic
    index: int
    page: int | None = None


class Message(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    conversation_id: UUID
    role: MessageRole
    content: str
    sources: tuple[Source, ...]
    created_at: datetime
    grounded: bool | None = None
    """Training replies: every claim is supported by a cited passage (see
    `domain.citations`); None for trainee messages and roleplay lines."""
    supported_share: float | None = None
    """Training replies: share of claims supported by a passage, 0..1 (None without claims)."""
    cached: bool = False
    """Served from the answer cache (no model call): see `domain.answers`."""


class FeedbackRating(enum.StrEnum):
    UP = "up"
    DOWN = "down"


class MessageFeedback(msgspec.Struct, frozen=True, kw_only=True):
    """A user's rating of an assistant message; one per user and message, the latest
    wins (`updated_at` is when it was last given, `created_at` when first)."""

    id: UUID
    message_id: UUID
    conversation_id: UUID
    dealership_id: UUID
    user_id: UUID
    rating: FeedbackRating
    reason: str | None
    created_at: datetime
    updated_at: datetime

"""Persistence ports of conversations, their messages and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from avataradam.domain.model import (
    Conversation,
    Message,
    MessageFeedback,
)
from avataradam.domain.pagination import Cursor


class ConversationRepository(Protocol):
    """Conversations and their messages, in creation order (`last=n`: the newest n)."""

    async def add(self, conversation: Conversation) -> None: ...
    async def touch_open(self, conversation_id: UUID, at: datetime) -> bool:
        """Sets `updated_at` to `at` unless the conversation is completed, holding its
        row until the transaction ends: a `get_for_update` (as `complete` is preceded
        by) waits for this transaction, and this one waits for a completion in flight
        and then sees it. False, changing nothing, for a completed conversation;
        NotFound for none."""
        ...

    async def get_for_update(self, conversation_id: UUID) -> Conversation | None:
        """The conversation (any dealership's: the caller checks scope), its row held
        until the transaction ends; waits for a `touch_open` in flight."""
        ...

    async def complete(self, conversation_id: UUID, at: datetime) -> bool:
        """Sets `completed_at` (and `updated_at`) to `at` unless already set; True when
        this call completed it."""
        ...

    async def get(
        self, conversation_id: UUID, *, dealership_id: UUID, user_id: UUID | None
    ) -> Conversation | None: ...
    async def list_page(
        self, *, dealership_id: UUID, user_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[Conversation]: ...
    async def add_message(self, message: Message) -> None: ...
    async def messages(
        self, conversation_id: UUID, *, last: int | None = None
    ) -> list[Message]: ...
    async def get_message(
        self, message_id: UUID, *, dealership_id: UUID, user_id: UUID | None
    ) -> Message | None:
        """The message, when its conversation is of `dealership_id` and, unless `user_id`
        is None, of that user; else None (as `get` scopes conversations)."""
        ...


class FeedbackRepository(Protocol):
    """Ratings of assistant messages, one per user and message, listed per dealership."""

    async def rate(self, feedback: MessageFeedback) -> MessageFeedback:
        """Stores `feedback` as the user's rating of the message, or, when the user
        rated it before, replaces that rating's `rating`, `reason` and `updated_at`
        (keeping its id and `created_at`, so listings stay in place). Returns the
        stored rating; concurrent ratings of one message by one user leave one row."""
        ...

    async def list_page(
        self, *, dealership_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[MessageFeedback]: ...

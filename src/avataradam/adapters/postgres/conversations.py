"""Conversations, their messages and message feedback in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from avataradam.adapters.postgres.database import PooledConnection
from avataradam.adapters.postgres.errors import require_affected, translate
from avataradam.adapters.postgres.rows import from_row
from avataradam.domain.model import (
    Conversation,
    Message,
    MessageFeedback,
)
from avataradam.domain.pagination import Cursor

_SELECT_CONVERSATION = (
    "SELECT id, dealership_id, user_id, mode, scenario, created_at, updated_at FROM conversations"
)
_SELECT_FEEDBACK = (
    "SELECT id, message_id, conversation_id, dealership_id, user_id, rating, reason, "
    "created_at, updated_at FROM message_feedback"
)


class PostgresConversationRepository:
    def __init__(self, connection: PooledConnection) -> None:
        self._conn = connection

    @translate
    async def add(self, conversation: Conversation) -> None:
        await self._conn.execute(
            "INSERT INTO conversations (id, dealership_id, user_id, mode, scenario, created_at, "
            "updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            conversation.id,
            conversation.dealership_id,
            conversation.user_id,
            conversation.mode.value,
            conversation.scenario,
            conversation.created_at,
            conversation.updated_at,
        )

    @translate
    async def touch(self, conversation_id: UUID, at: datetime) -> None:
        status = await self._conn.execute(
            "UPDATE conversations SET updated_at = $2 WHERE id = $1", conversation_id, at
        )
        require_affected(status, "conversation")

    @translate
    async def get(
        self, conversation_id: UUID, *, dealership_id: UUID, user_id: UUID | None
    ) -> Conversation | None:
        """`user_id=None` finds any user's conversation of the dealership."""
        row = await self._conn.fetchrow(
            f"{_SELECT_CONVERSATION}"
            " WHERE id = $1 AND dealership_id = $2 AND ($3::uuid IS NULL OR user_id = $3)",
            conversation_id,
            dealership_id,
            user_id,
        )
        return None if row is None else from_row(Conversation, row)

    @translate
    async def list_page(
        self, *, dealership_id: UUID, user_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[Conversation]:
        rows = await self._conn.fetch(
            f"{_SELECT_CONVERSATION}"
            " WHERE dealership_id = $1 AND user_id = $2"
            " AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4))"
            " ORDER BY created_at, id LIMIT $5",
            dealership_id,
            user_id,
            cursor.created_at if cursor else None,
            cursor.id if cursor else None,
            limit,
        )
        return [from_row(Conversation, row) for row in rows]

    @translate
    async def add_message(self, message: Message) -> None:
        await self._conn.execute(
            "INSERT INTO messages (id, conversation_id, role, content, sources, created_at, "
            "grounded, supported_share, cached) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            message.id,
            message.conversation_id,
            message.role.value,
            message.content,
            message.sources,
            message.created_at,
            message.grounded,
            message.supported_share,
            message.cached,
        )

    @translate
    async def messages(self, conversation_id: UUID, *, last: int | None = None) -> list[Message]:
        rows = await self._conn.fetch(
            "SELECT id, conversation_id, role, content, sources, created_at, grounded,"
            " supported_share, cached FROM ("
            " SELECT id, conversation_id, role, content, sources, created_at, grounded,"
            " supported_share, cached, seq"
            " FROM messages WHERE conversation_id = $1"
            " ORDER BY created_at DESC, seq DESC LIMIT $2"
            ") AS newest ORDER BY created_at, seq",
            conversation_id,
            last,
        )
        return [from_row(Message, row) for row in rows]

    @translate
    async def get_message(
        self, message_id: UUID, *, dealership_id: UUID, user_id: UUID | None
    ) -> Message | None:
        """`user_id=None` finds a message of any user's conversation of the dealership."""
        row = await self._conn.fetchrow(
            "SELECT m.id, m.conversation_id, m.role, m.content, m.sources, m.created_at,"
            " m.grounded, m.supported_share, m.cached"
            " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.id = $1 AND c.dealership_id = $2 AND ($3::uuid IS NULL OR c.user_id = $3)",
            message_id,
            dealership_id,
            user_id,
        )
        return None if row is None else from_row(Message, row)


class PostgresFeedbackRepository:
    def __init__(self, connection: PooledConnection) -> None:
        self._conn = connection

    @translate
    async def rate(self, feedback: MessageFeedback) -> MessageFeedback:
        row = await self._conn.fetchrow(
            "INSERT INTO message_feedback (id, message_id, conversation_id, dealership_id, "
            "user_id, rating, reason, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (message_id, user_id) DO UPDATE"
            " SET rating = EXCLUDED.rating, reason = EXCLUDED.reason,"
            " updated_at = EXCLUDED.updated_at"
            " RETURNING id, message_id, conversation_id, dealership_id, user_id, rating, reason,"
            " created_at, updated_at",
            feedback.id,
            feedback.message_id,
            feedback.conversation_id,
            feedback.dealership_id,
            feedback.user_id,
            feedback.rating.value,
            feedback.reason,
            feedback.created_at,
            feedback.updated_at,
        )
        assert row is not None  # noqa: S101 -- DO UPDATE returns the row in both cases
        return from_row(MessageFeedback, row)

    @translate
    async def list_page(
        self, *, dealership_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[MessageFeedback]:
        rows = await self._conn.fetch(
            f"{_SELECT_FEEDBACK} WHERE dealership_id = $1"
            " AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3))"
            " ORDER BY created_at, id LIMIT $4",
            dealership_id,
            cursor.created_at if cursor else None,
            cursor.id if cursor else None,
            limit,
        )
        return [from_row(MessageFeedback, row) for row in rows]

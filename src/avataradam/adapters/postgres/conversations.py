"""Conversations, their messages and message feedback in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from avataradam.adapters.postgres.errors import affected_rows, translate
from avataradam.adapters.postgres.rows import (
    ConnectionRepository,
    columns,
    from_row,
    insert,
    page_after,
    page_params,
    params,
    select,
)
from avataradam.domain.errors import NotFound
from avataradam.domain.model import (
    Conversation,
    Message,
    MessageFeedback,
)
from avataradam.domain.pagination import Cursor

_CONVERSATION = columns(
    "id, dealership_id, user_id, mode, scenario, created_at, updated_at, language, scenario_id,"
    " completed_at, assignment_id"
)
_SELECT_CONVERSATION = select("conversations", _CONVERSATION)
_INSERT_CONVERSATION = insert("conversations", _CONVERSATION)

_MESSAGE = columns(
    "id, conversation_id, role, content, sources, created_at, grounded, supported_share, cached"
)
_INSERT_MESSAGE = insert("messages", _MESSAGE)

_FEEDBACK = columns(
    "id, message_id, conversation_id, dealership_id, user_id, rating, reason, created_at,"
    " updated_at"
)
_SELECT_FEEDBACK = select("message_feedback", _FEEDBACK)
_INSERT_FEEDBACK = insert("message_feedback", _FEEDBACK)


class PostgresConversationRepository(ConnectionRepository):
    @translate
    async def add(self, conversation: Conversation) -> None:
        await self._conn.execute(_INSERT_CONVERSATION, *params(conversation, _CONVERSATION))

    @translate
    async def touch_open(self, conversation_id: UUID, at: datetime) -> bool:
        # A locking read that waited for a concurrent completion returns the row that
        # completion committed (READ COMMITTED), so `completed_at` is current here.
        is_open = await self._conn.fetchval(
            "SELECT completed_at IS NULL FROM conversations WHERE id = $1 FOR NO KEY UPDATE",
            conversation_id,
        )
        if is_open is None:
            raise NotFound("conversation not found")
        if is_open:
            await self._conn.execute(
                "UPDATE conversations SET updated_at = $2 WHERE id = $1", conversation_id, at
            )
        return bool(is_open)

    @translate
    async def get_for_update(self, conversation_id: UUID) -> Conversation | None:
        return await self._one(
            Conversation, f"{_SELECT_CONVERSATION} WHERE id = $1 FOR UPDATE", conversation_id
        )

    @translate
    async def complete(self, conversation_id: UUID, at: datetime) -> bool:
        status = await self._conn.execute(
            "UPDATE conversations SET completed_at = $2, updated_at = $2"
            " WHERE id = $1 AND completed_at IS NULL",
            conversation_id,
            at,
        )
        return affected_rows(status) == 1

    @translate
    async def get(
        self, conversation_id: UUID, *, dealership_id: UUID, user_id: UUID | None
    ) -> Conversation | None:
        """`user_id=None` finds any user's conversation of the dealership."""
        return await self._one(
            Conversation,
            f"{_SELECT_CONVERSATION}"
            " WHERE id = $1 AND dealership_id = $2 AND ($3::uuid IS NULL OR user_id = $3)",
            conversation_id,
            dealership_id,
            user_id,
        )

    @translate
    async def list_page(
        self, *, dealership_id: UUID, user_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[Conversation]:
        return await self._all(
            Conversation,
            f"{_SELECT_CONVERSATION} WHERE dealership_id = $1 AND user_id = $2"
            f" AND {page_after(3, cursor)}",
            dealership_id,
            user_id,
            *page_params(cursor, limit),
        )

    @translate
    async def add_message(self, message: Message) -> None:
        await self._conn.execute(_INSERT_MESSAGE, *params(message, _MESSAGE))

    @translate
    async def messages(self, conversation_id: UUID, *, last: int | None = None) -> list[Message]:
        return await self._all(
            Message,
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

    @translate
    async def get_message(
        self, message_id: UUID, *, dealership_id: UUID, user_id: UUID | None
    ) -> Message | None:
        """`user_id=None` finds a message of any user's conversation of the dealership."""
        return await self._one(
            Message,
            "SELECT m.id, m.conversation_id, m.role, m.content, m.sources, m.created_at,"
            " m.grounded, m.supported_share, m.cached"
            " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.id = $1 AND c.dealership_id = $2 AND ($3::uuid IS NULL OR c.user_id = $3)",
            message_id,
            dealership_id,
            user_id,
        )


class PostgresFeedbackRepository(ConnectionRepository):
    @translate
    async def rate(self, feedback: MessageFeedback) -> MessageFeedback:
        row = await self._conn.fetchrow(
            f"{_INSERT_FEEDBACK} ON CONFLICT (message_id, user_id) DO UPDATE"
            " SET rating = EXCLUDED.rating, reason = EXCLUDED.reason,"
            " updated_at = EXCLUDED.updated_at"
            " RETURNING id, message_id, conversation_id, dealership_id, user_id, rating, reason,"
            " created_at, updated_at",
            *params(feedback, _FEEDBACK),
        )
        assert row is not None  # noqa: S101 -- DO UPDATE returns the row in both cases
        return from_row(MessageFeedback, row)

    @translate
    async def list_page(
        self, *, dealership_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[MessageFeedback]:
        return await self._all(
            MessageFeedback,
            f"{_SELECT_FEEDBACK} WHERE dealership_id = $1 AND {page_after(2, cursor)}",
            dealership_id,
            *page_params(cursor, limit),
        )

"""In-memory twins of the conversation and feedback repositories.

See `adapters/postgres/conversations.py`.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.adapters.memory.rows import insert, page, require
from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.domain.errors import NotFound
from avataradam.domain.model import (
    Conversation,
    Message,
    MessageFeedback,
)
from avataradam.domain.pagination import Cursor


class InMemoryConversationRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, conversation: Conversation) -> None:
        def op(t: Tables) -> None:
            require(t.dealerships, conversation.dealership_id, "dealership")
            require(t.users, conversation.user_id, "user")
            insert(t.conversations, conversation.id, conversation)

        self._tx.write(op)

    async def touch_open(self, conversation_id: UUID, at: datetime) -> bool:
        """No row locks here: a completion committed between this call and the commit
        makes the commit's replay disagree (ConcurrentUpdate), so nothing is stored."""

        def op(t: Tables) -> bool:
            current = t.conversations.get(conversation_id)
            if current is None:
                raise NotFound("conversation not found")
            if current.completed_at is not None:
                return False
            t.conversations[conversation_id] = msgspec.structs.replace(current, updated_at=at)
            return True

        return self._tx.write(op, replay_must_agree=True)

    async def get_for_update(self, conversation_id: UUID) -> Conversation | None:
        self._tx.require_writable()
        return self._tx.tables.conversations.get(conversation_id)

    async def complete(self, conversation_id: UUID, at: datetime) -> bool:
        def op(t: Tables) -> bool:
            current = t.conversations.get(conversation_id)
            if current is None or current.completed_at is not None:
                return False
            t.conversations[conversation_id] = msgspec.structs.replace(
                current, completed_at=at, updated_at=at
            )
            return True

        return self._tx.write(op, replay_must_agree=True)

    async def get(
        self, conversation_id: UUID, *, dealership_id: UUID, user_id: UUID | None
    ) -> Conversation | None:
        conversation = self._tx.tables.conversations.get(conversation_id)
        if (
            conversation is None
            or conversation.dealership_id != dealership_id
            or user_id not in (None, conversation.user_id)
        ):
            return None
        return conversation

    async def list_page(
        self, *, dealership_id: UUID, user_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[Conversation]:
        rows = [
            c
            for c in self._tx.tables.conversations.values()
            if c.dealership_id == dealership_id and c.user_id == user_id
        ]
        return page(rows, lambda c: (c.created_at, c.id), cursor, limit)

    async def add_message(self, message: Message) -> None:
        sequence = self._tx.store.next_sequence()

        def op(t: Tables) -> None:
            require(t.conversations, message.conversation_id, "conversation")
            insert(t.messages, message.id, (sequence, message))

        self._tx.write(op)

    async def messages(self, conversation_id: UUID, *, last: int | None = None) -> list[Message]:
        ordered = sorted(
            (
                (m.created_at, sequence, m)
                for sequence, m in self._tx.tables.messages.values()
                if m.conversation_id == conversation_id
            ),
            key=lambda item: (item[0], item[1]),
        )
        if last is not None:
            ordered = ordered[-last:] if last > 0 else []
        return [m for _, _, m in ordered]

    async def get_message(
        self, message_id: UUID, *, dealership_id: UUID, user_id: UUID | None
    ) -> Message | None:
        row = self._tx.tables.messages.get(message_id)
        if row is None:
            return None
        _, message = row
        owner = await self.get(
            message.conversation_id, dealership_id=dealership_id, user_id=user_id
        )
        return message if owner is not None else None


class InMemoryFeedbackRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def rate(self, feedback: MessageFeedback) -> MessageFeedback:
        def op(t: Tables) -> MessageFeedback:
            require(t.messages, feedback.message_id, "message")
            require(t.conversations, feedback.conversation_id, "conversation")
            require(t.dealerships, feedback.dealership_id, "dealership")
            require(t.users, feedback.user_id, "user")
            earlier = next(
                (
                    f
                    for f in t.feedback.values()
                    if (f.message_id, f.user_id) == (feedback.message_id, feedback.user_id)
                ),
                None,
            )
            stored = (
                feedback
                if earlier is None
                else msgspec.structs.replace(
                    earlier,
                    rating=feedback.rating,
                    reason=feedback.reason,
                    updated_at=feedback.updated_at,
                )
            )
            t.feedback[stored.id] = stored
            return stored

        return self._tx.write(op, replay_must_agree=True)

    async def list_page(
        self, *, dealership_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[MessageFeedback]:
        rows = [f for f in self._tx.tables.feedback.values() if f.dealership_id == dealership_id]
        return page(rows, lambda f: (f.created_at, f.id), cursor, limit)

"""Builders and helpers shared by the repository contract tests (`test_repo_*.py`).

The PostgreSQL database is shared by the whole session, so every builder makes its own
ids (uuid4) and tests never assume a table is empty.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID, uuid4

from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain.model import (
    Chunk,
    Conversation,
    ConversationMode,
    Dealership,
    Document,
    DocumentStatus,
    Message,
    MessageRole,
    RefreshToken,
    Role,
    Source,
    Topic,
    User,
)
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory

MIB = 1024 * 1024
T = TypeVar("T")
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def is_postgres(uow: UnitOfWorkFactory) -> bool:
    return isinstance(uow, PostgresUnitOfWorkFactory)


def dealership(created_at: datetime = NOW) -> Dealership:
    return Dealership(
        id=uuid4(),
        name="Northside Motors",
        active=True,
        knowledge_base_generation=0,
        created_at=created_at,
        updated_at=created_at,
    )


def user(dealership_id: UUID, *, email: str | None = None, created_at: datetime = NOW) -> User:
    return User(
        id=uuid4(),
        email=email or f"{uuid4().hex}@example.com",
        password_hash="argon2$hash",
        role=Role.USER,
        dealership_id=dealership_id,
        first_name="Dana",
        last_name=None,
        active=True,
        created_at=created_at,
        updated_at=created_at,
    )


def document(
    dealership_id: UUID,
    *,
    topic: Topic = Topic.PLAYBOOKS,
    sha256: str | None = None,
    status: DocumentStatus = DocumentStatus.QUEUED,
    created_at: datetime = NOW,
) -> Document:
    return Document(
        id=uuid4(),
        dealership_id=dealership_id,
        topic=topic,
        filename="gap-objections.pdf",
        content_type="application/pdf",
        size_bytes=1234,
        sha256=sha256 or hashlib.sha256(uuid4().bytes).hexdigest(),
        status=status,
        stage=None,
        progress=0.0,
        chunk_count=0,
        attempts=0,
        error=None,
        created_at=created_at,
        updated_at=created_at,
    )


def chunk(doc: Document, index: int, text: str = "Ask about the payment, not the price.") -> Chunk:
    return Chunk(
        id=f"{doc.id}:{index}",
        document_id=doc.id,
        dealership_id=doc.dealership_id,
        index=index,
        text=text,
        topic=doc.topic,
        filename=doc.filename,
        page=index + 1,
        section="Objections" if index % 2 else None,
    )


async def seed(uow: UnitOfWorkFactory) -> tuple[Dealership, User]:
    d = dealership()
    u = user(d.id)
    async with uow() as work:
        await work.dealerships.add(d)
        await work.users.add(u)
        await work.commit()
    return d, u


async def parts(data: bytes, sizes: Sequence[int]) -> AsyncIterator[bytes]:
    offset = 0
    for size in sizes:
        if offset >= len(data):
            break
        yield data[offset : offset + size]
        offset += size
    if offset < len(data):
        yield data[offset:]


async def collect_pages(
    fetch: Callable[[Cursor | None, int], Awaitable[list[T]]],
    limit: int,
    key: Callable[[T], Cursor],
    start: Cursor | None = None,
) -> list[T]:
    """Walks every page the way the HTTP layer does: ask limit+1, cursor on the last kept;
    `start`: the first page's cursor (`Cursor.newest()` for newest first)."""
    seen: list[T] = []
    cursor: Cursor | None = start
    while True:
        rows = await fetch(cursor, limit + 1)
        assert len(rows) <= limit + 1
        seen.extend(rows[:limit])
        if len(rows) <= limit:
            return seen
        cursor = key(rows[limit - 1])


def token(user_id: UUID, family_id: UUID) -> RefreshToken:
    return RefreshToken(
        token_hash=hashlib.sha256(uuid4().bytes).hexdigest(),
        family_id=family_id,
        user_id=user_id,
        expires_at=NOW + timedelta(days=30),
        created_at=NOW,
    )


def conversation(d: Dealership, u: User, created_at: datetime = NOW) -> Conversation:
    return Conversation(
        id=uuid4(),
        dealership_id=d.id,
        user_id=u.id,
        mode=ConversationMode.ROLEPLAY,
        scenario="price-focused customer",
        created_at=created_at,
        updated_at=created_at,
    )


def message(conversation_id: UUID, content: str, role: MessageRole, at: datetime) -> Message:
    return Message(
        id=uuid4(),
        conversation_id=conversation_id,
        role=role,
        content=content,
        sources=(
            Source(
                chunk_id=f"{conversation_id}:0",
                document_id=conversation_id,
                filename="gap.pdf",
                topic=Topic.PRODUCT_KNOWLEDGE,
                index=0,
                page=3,
            ),
        )
        if role is MessageRole.ASSISTANT
        else (),
        created_at=at,
    )

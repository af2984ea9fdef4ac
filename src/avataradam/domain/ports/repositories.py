"""Persistence ports. Repositories live inside a UnitOfWork, which owns the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from avataradam.domain.model import (
    Chunk,
    Conversation,
    Dealership,
    Document,
    DocumentStatus,
    Message,
    RefreshToken,
    Topic,
    User,
)
from avataradam.domain.pagination import Cursor


class DealershipRepository(Protocol):
    """Dealerships; `bump_generation` is atomic and returns the new generation."""

    async def add(self, dealership: Dealership) -> None: ...
    async def get(self, dealership_id: UUID) -> Dealership | None: ...
    async def update(self, dealership: Dealership) -> None: ...
    async def list_page(self, *, cursor: Cursor | None, limit: int) -> list[Dealership]: ...
    async def bump_generation(self, dealership_id: UUID) -> int: ...


class UserRepository(Protocol):
    """Users; emails are unique case-insensitively (`add` raises Conflict)."""

    async def add(self, user: User) -> None: ...
    async def get(self, user_id: UUID) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def update(self, user: User) -> None: ...
    async def list_page(
        self, *, dealership_id: UUID | None, cursor: Cursor | None, limit: int
    ) -> list[User]: ...


class RefreshTokenRepository(Protocol):
    """Refresh tokens by hash. `mark_rotated` succeeds once per token (compare-and-set)."""

    async def add(self, token: RefreshToken) -> None: ...
    async def get(self, token_hash: str) -> RefreshToken | None: ...
    async def mark_rotated(self, token_hash: str, at: datetime) -> bool: ...
    async def revoke(self, token_hash: str, at: datetime) -> None: ...
    async def revoke_family(self, family_id: UUID, at: datetime) -> None: ...


class DocumentRepository(Protocol):
    """Documents, always read within a dealership."""

    async def add(self, document: Document) -> None: ...
    async def get(self, document_id: UUID, *, dealership_id: UUID | None) -> Document | None: ...
    async def get_for_update(self, document_id: UUID) -> Document | None: ...
    async def update(self, document: Document) -> None: ...
    async def delete(self, document_id: UUID) -> None: ...
    async def find_by_sha256(
        self, *, dealership_id: UUID, topic: Topic, sha256: str
    ) -> Document | None: ...
    async def list_page(
        self,
        *,
        dealership_id: UUID,
        topic: Topic | None,
        status: DocumentStatus | None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Document]: ...
    async def list_stale(
        self, *, statuses: Sequence[DocumentStatus], updated_before: datetime, limit: int
    ) -> list[Document]: ...


class ChunkRepository(Protocol):
    """Chunks keyed by (document_id, index); `replace` is idempotent."""

    async def replace(self, document_id: UUID, chunks: Sequence[Chunk]) -> None: ...
    async def get_many(self, chunk_ids: Sequence[str], *, dealership_id: UUID) -> list[Chunk]: ...
    async def count(self, document_id: UUID) -> int: ...
    async def delete_document(self, document_id: UUID) -> None: ...


class BlobRepository(Protocol):
    """Raw uploaded bytes, written in the same transaction as their document."""

    async def write(self, blob_id: UUID, parts: AsyncIterator[bytes]) -> int: ...
    def read(self, blob_id: UUID) -> AsyncIterator[bytes]: ...
    async def delete(self, blob_id: UUID) -> None: ...


class ConversationRepository(Protocol):
    """Conversations and their messages, in creation order."""

    async def add(self, conversation: Conversation) -> None: ...
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


class UnitOfWork(Protocol):
    """One transaction over every repository. Leaving without `commit` rolls back."""

    dealerships: DealershipRepository
    users: UserRepository
    refresh_tokens: RefreshTokenRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens units of work; `read_only` ones may be served by a replica."""

    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...

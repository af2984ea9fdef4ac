"""Entities and value objects.

Entities are frozen msgspec Structs; a change produces a new value
(`msgspec.structs.replace`), which keeps repositories honest about what they persist.
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import msgspec


class Role(enum.StrEnum):
    SUPER_ADMIN = "super_admin"
    DEALERSHIP_ADMIN = "dealership_admin"
    USER = "user"


class Topic(enum.StrEnum):
    BOOKS = "books"
    OBJECTION_HANDLING = "objection_handling"
    PLAYBOOKS = "playbooks"
    VIDEOS = "videos"
    COMPLIANCE = "compliance"
    PRODUCT_KNOWLEDGE = "product_knowledge"


class DocumentStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    DELETING = "deleting"


class Stage(enum.StrEnum):
    EXTRACTING = "extracting"
    CHUNKING = "chunking"
    EMBEDDING = "embedding"
    INDEXING = "indexing"
    STORING = "storing"


class ConversationMode(enum.StrEnum):
    TRAINING = "training"
    ROLEPLAY = "roleplay"


class MessageRole(enum.StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


class Dealership(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    active: bool
    knowledge_base_generation: int
    created_at: datetime
    updated_at: datetime


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    password_hash: str
    role: Role
    dealership_id: UUID | None
    first_name: str | None
    last_name: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class RefreshToken(msgspec.Struct, frozen=True, kw_only=True):
    """A stored refresh token; only its hash is kept.

    Tokens of one login form a family. Rotation marks the presented token as
    rotated; presenting a rotated token again is reuse and revokes the family.
    """

    token_hash: str
    family_id: UUID
    user_id: UUID
    expires_at: datetime
    created_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


class DocumentError(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str


class Document(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    dealership_id: UUID
    topic: Topic
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    status: DocumentStatus
    stage: Stage | None
    progress: float
    chunk_count: int
    attempts: int
    error: DocumentError | None
    created_at: datetime
    updated_at: datetime


class Chunk(msgspec.Struct, frozen=True, kw_only=True):
    """A passage of a document, addressable as (document_id, index)."""

    id: str
    document_id: UUID
    dealership_id: UUID
    index: int
    text: str
    topic: Topic
    filename: str
    page: int | None = None
    section: str | None = None


class Conversation(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    dealership_id: UUID
    user_id: UUID
    mode: ConversationMode
    scenario: str | None
    created_at: datetime
    updated_at: datetime


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


class Page(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a cursor-paginated listing."""

    items: tuple[object, ...]
    next_cursor: str | None

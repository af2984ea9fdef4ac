"""Entities and value objects.

Entities are frozen msgspec Structs; a change produces a new value
(`msgspec.structs.replace`), which keeps repositories honest about what they persist.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
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
    monthly_token_budget: int | None = None
    """A super admin's override of the service's monthly token budget (prompt plus
    completion tokens per calendar month, UTC): None = the service default, 0 = unlimited."""


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
    session_version: int = 0
    """Moves (only by `UserRepository.end_sessions`) whenever the account's sessions must
    end; every token carries the version it was issued under and dies when it differs."""


class AccountState(msgspec.Struct, frozen=True, kw_only=True):
    """What every authenticated request is checked against: the account as it is now.

    `active` is the user's own flag and `dealership_active` their dealership's (True
    for a super admin, who belongs to none).
    """

    user_id: UUID
    role: Role
    dealership_id: UUID | None
    active: bool
    dealership_active: bool
    session_version: int


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
    session_version: int = 0
    """The user's `session_version` when the token was issued."""


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
    title: str | None = None
    """The title the file names for itself (e.g. Markdown front matter), once ingested."""
    warnings: tuple[str, ...] = ()
    """What extraction had to skip, for a reader of the document ("3 images without text
    skipped"); empty when everything readable was indexed."""
    lease_token: UUID | None = None
    """The claim of the worker that holds this `processing` document; None while no
    worker holds it (it waits for a retry or for a re-driven message)."""
    lease_expires_at: datetime | None = None
    """While a worker holds the document: when its lease lapses unless renewed. While
    none does: when the reconciler re-drives it if no worker has claimed it by then."""
    processing_started_at: datetime | None = None
    """When the document last left `queued`; a re-drive keeps it."""

    def lease_open(self, now: datetime) -> bool:
        """Whether a worker may claim this `processing` document now: nobody holds it,
        or its holder's lease lapsed."""
        return (
            self.lease_token is None
            or self.lease_expires_at is None
            or self.lease_expires_at <= now
        )

    def held_by(self, token: UUID) -> bool:
        """Whether the lease `token` holds this `processing` document (lapsed or not:
        nobody has taken it over)."""
        return self.status is DocumentStatus.PROCESSING and self.lease_token == token

    def stalled(self, now: datetime) -> bool:
        """`processing`, but no worker works on it now: its lease lapsed (the worker
        died) or was released (it waits for a retry or for a re-driven message)."""
        return self.status is DocumentStatus.PROCESSING and self.lease_open(now)

    def claimable(self, now: datetime) -> bool:
        return self.status is DocumentStatus.QUEUED or self.stalled(now)

    def claimed(self, *, token: UUID, now: datetime, lease: timedelta) -> Document:
        """Taken by a worker (see `claimable`): `processing` under the lease `token`
        until `now + lease`, from the first stage, one more attempt."""
        started = self.processing_started_at
        if self.status is DocumentStatus.QUEUED or started is None:
            started = now
        return msgspec.structs.replace(
            self,
            status=DocumentStatus.PROCESSING,
            stage=Stage.EXTRACTING,
            progress=0.0,
            attempts=self.attempts + 1,
            updated_at=now,
            lease_token=token,
            lease_expires_at=now + lease,
            processing_started_at=started,
        )

    def released(self, *, until: datetime) -> Document:
        """Held by no worker; the reconciler re-drives it at `until` unless a worker
        claims it first."""
        return msgspec.structs.replace(self, lease_token=None, lease_expires_at=until)


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
    grounded: bool | None = None
    """Training replies: every claim is supported by a cited passage (see
    `domain.citations`); None for trainee messages and roleplay lines."""
    supported_share: float | None = None
    """Training replies: share of claims supported by a passage, 0..1 (None without claims)."""
    cached: bool = False
    """Served from the answer cache (no model call): see `domain.answers`."""


class OutboxEntry(msgspec.Struct, frozen=True, kw_only=True):
    """Work recorded in the same transaction as the change that causes it.

    A relay claims due entries, hands them on (task queue, webhook sender) and marks
    them done; an entry whose hand-off failed is rescheduled, never lost.
    """

    id: UUID
    kind: str
    payload: dict[str, str]
    created_at: datetime
    available_at: datetime


class StoredResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The response first given for an idempotency key, replayed for a retry."""

    scope: str
    key: str
    request_hash: str
    status_code: int
    body: bytes
    created_at: datetime


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


class WebhookSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """A URL subscribed to events, with its signing secret and its circuit.

    After a rotation `previous_secret` also signs every delivery until
    `previous_secret_expires_at`. The circuit counts consecutive failed attempts; at
    the threshold it opens until `circuit_open_until`, and deliveries wait instead of
    taking a sender for a receiver that does not answer.
    """

    id: UUID
    dealership_id: UUID
    url: str
    events: tuple[str, ...]
    secret: str
    active: bool
    created_at: datetime
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    disabled_reason: str | None = None
    consecutive_failures: int = 0
    circuit_open_until: datetime | None = None

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets that sign a delivery made at `now`: the current one first."""
        expires = self.previous_secret_expires_at
        if self.previous_secret is not None and expires is not None and now < expires:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def circuit_closed_at(self, now: datetime, threshold: int) -> datetime | None:
        """None if a delivery may be attempted at `now`, else when it may be: the
        circuit is open (`threshold` consecutive failures) and not yet due for a probe."""
        if self.consecutive_failures < threshold or self.circuit_open_until is None:
            return None
        return self.circuit_open_until if now < self.circuit_open_until else None

    def rotated(self, new_secret: str, now: datetime, grace: timedelta) -> WebhookSubscription:
        """The subscription signing with `new_secret`, and with the current one until
        `now + grace`; a secret rotated out earlier stops signing at once."""
        return msgspec.structs.replace(
            self,
            secret=new_secret,
            previous_secret=self.secret,
            previous_secret_expires_at=now + grace,
        )


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One event for one subscription; `message_id` is the stable `webhook-id`."""

    id: UUID
    subscription_id: UUID
    event_type: str
    message_id: str
    payload: bytes
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None = None
    """When a `pending` delivery is next attempted, or while an attempt runs, the end of
    its lease; None once delivered or failed."""


class UsageRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What one reply cost: a model call (its reported tokens) or an answer served
    from the answer cache (`cached`, 0 tokens). One per reply message."""

    id: UUID
    dealership_id: UUID
    conversation_id: UUID
    message_id: UUID
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cached: bool
    created_at: datetime
    speech_seconds: float = 0.0
    """Seconds of synthesised speech (0 until the avatar speaks)."""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class UsageDay(msgspec.Struct, frozen=True, kw_only=True):
    """A dealership's usage on one UTC day."""

    day: date
    model_calls: int
    """Replies that called the model (cached answers not included)."""
    cached_answers: int
    prompt_tokens: int
    completion_tokens: int
    speech_seconds: float

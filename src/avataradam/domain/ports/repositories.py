"""Persistence ports. Repositories live inside a UnitOfWork, which owns the transaction.

Listings use keyset pagination: `list_page(cursor=..., limit=n)` returns at most `n`
rows ordered by `(created_at, id)` ascending, strictly after the cursor. A caller that
wants to know whether a next page exists asks for `limit + 1` rows and drops the last.

Adapters raise a specific `Conflict` for a uniqueness violation (`EmailTaken`, ...),
`NotFound` when an update or a reference targets a missing row, `ConcurrentUpdate` when
another transaction won a race, and `DependencyUnavailable` when the store cannot be
reached.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from avataradam.domain.model import (
    AccountState,
    Chunk,
    Conversation,
    Dealership,
    DeliveryStatus,
    Document,
    DocumentStatus,
    Message,
    MessageFeedback,
    OutboxEntry,
    RefreshToken,
    Stage,
    StoredResponse,
    Topic,
    UsageDay,
    UsageRecord,
    User,
    WebhookDelivery,
    WebhookSubscription,
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
    """Users; emails are unique case-insensitively (`add`, `update` raise EmailTaken).

    `update` writes everything but `session_version`, which only `end_sessions` moves
    (atomically, so a concurrent update never moves it back).
    """

    async def add(self, user: User) -> None: ...
    async def get(self, user_id: UUID) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def update(self, user: User) -> None: ...
    async def end_sessions(
        self, *, user_id: UUID | None = None, dealership_id: UUID | None = None
    ) -> list[UUID]:
        """Increments the `session_version` of one user, or of every user of one
        dealership (exactly one of the two is given), and revokes nothing else; returns
        the ids of the users whose version moved."""
        ...

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
    async def revoke_users(self, user_ids: Sequence[UUID], at: datetime) -> int:
        """Revokes every not yet revoked token of these users; returns how many."""
        ...


class DocumentRepository(Protocol):
    """Documents, read within a dealership (`dealership_id=None` only for system work).

    (dealership_id, topic, sha256) is unique among documents not being deleted.
    """

    async def add(self, document: Document) -> Document | None:
        """Stores `document` and returns None, unless a live (not deleting) document of
        the same dealership, topic and sha256 exists: then stores nothing and returns
        that one. A concurrent add of the same content waits for the other's unit of
        work to end, so of two racing uploads exactly one is stored."""
        ...

    async def get(self, document_id: UUID, *, dealership_id: UUID | None) -> Document | None: ...
    async def get_for_update(self, document_id: UUID) -> Document | None: ...
    async def update(self, document: Document) -> None: ...
    async def update_leased(self, document: Document, *, lease_token: UUID) -> bool:
        """Writes like `update`, but only while the lease `lease_token` holds the
        document (its stored `lease_token` equals it, status `processing`); False and no
        change otherwise, so a worker whose lease was taken over never overwrites the
        new holder's work."""
        ...

    async def set_progress(
        self,
        document_id: UUID,
        *,
        lease_token: UUID,
        stage: Stage,
        progress: float,
        updated_at: datetime,
    ) -> bool:
        """Moves a `processing` document's stage and progress while `lease_token` holds
        it; False (and no change) otherwise, so a late report never rewrites a finished
        document or one that another worker took over."""
        ...

    async def renew_lease(self, document_id: UUID, *, lease_token: UUID, until: datetime) -> bool:
        """Moves the lease's expiry to `until` while `lease_token` holds the
        `processing` document; False (and no change) once it does not."""
        ...

    async def list_lapsed(self, *, now: datetime, limit: int) -> list[Document]:
        """`processing` documents whose `lease_expires_at` is `now` or earlier (or unset):
        the holder stopped renewing, or nobody claimed them in time. Soonest lapsed first."""
        ...

    async def oldest_processing_started_at(self) -> datetime | None:
        """The earliest `processing_started_at` of all `processing` documents (all
        dealerships); None when none is processing."""
        ...

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
    async def count_by_status(self, dealership_id: UUID | None) -> dict[DocumentStatus, int]:
        """Every status, with 0 for absent ones; `None` counts all dealerships."""
        ...

    async def not_ready_ids(self, dealership_id: UUID) -> list[UUID]:
        """The dealership's documents in any status but `ready`: vectors they may have
        (written before `ready`, or left while deleting) must not be served."""
        ...


class ChunkRepository(Protocol):
    """Chunks keyed by (document_id, index); `replace` is idempotent.

    `get_many` answers in the order of the ids asked for, skipping unknown ids, chunks
    of other dealerships and chunks of documents that are not `ready` (a document being
    deleted must never be served).
    """

    async def replace(self, document_id: UUID, chunks: Sequence[Chunk]) -> None: ...
    async def put(self, document_id: UUID, chunks: Sequence[Chunk]) -> None:
        """Inserts these chunks of the document, overwriting any at the same index."""
        ...

    async def delete_from(self, document_id: UUID, first_index: int) -> int:
        """Deletes the document's chunks at `first_index` and above; answers how many."""
        ...

    async def get_many(self, chunk_ids: Sequence[str], *, dealership_id: UUID) -> list[Chunk]: ...
    async def count(self, document_id: UUID) -> int: ...
    async def delete_document(self, document_id: UUID) -> None: ...


class BlobRepository(Protocol):
    """Raw uploaded bytes, written in the same transaction as their document.

    The blob id is its document's id; the document row must exist by commit. Bytes
    are stored and read back in parts of at most 1 MiB, so a file is never whole in
    memory. `write` replaces an existing blob and returns its size; `read` yields
    nothing for an unknown blob and must be consumed inside its unit of work.
    """

    async def write(self, blob_id: UUID, parts: AsyncIterator[bytes]) -> int: ...
    def read(self, blob_id: UUID) -> AsyncIterator[bytes]: ...
    async def delete(self, blob_id: UUID) -> None: ...


class ConversationRepository(Protocol):
    """Conversations and their messages, in creation order (`last=n`: the newest n)."""

    async def add(self, conversation: Conversation) -> None: ...
    async def touch(self, conversation_id: UUID, at: datetime) -> None: ...
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


class OutboxRepository(Protocol):
    """Transactional outbox.

    `claim_due` locks up to `limit` entries whose `available_at <= now`, oldest first,
    skipping entries another open unit of work has claimed (FOR UPDATE SKIP LOCKED).
    The claim lasts until that unit of work ends: `mark_done` (removal) or
    `reschedule` must be committed, or the entries become claimable again.
    """

    async def add(self, entry: OutboxEntry) -> None: ...
    async def claim_due(self, limit: int, now: datetime) -> list[OutboxEntry]: ...
    async def mark_done(self, entry_id: UUID) -> None: ...
    async def reschedule(self, entry_id: UUID, available_at: datetime) -> None: ...


class IdempotencyRepository(Protocol):
    """The first response per (scope, key) (see `domain/idempotency.py`)."""

    async def claim(
        self,
        scope: str,
        key: str,
        request_hash: str,
        status_code: int,
        body: bytes,
        created_at: datetime,
    ) -> StoredResponse | None:
        """Stores this response for the key and returns None if the key is new; else
        stores nothing and returns the response stored first. A claim of a key that
        another open unit of work claimed waits for that one to end (or, in the
        in-memory twin, makes this commit fail with ConcurrentUpdate)."""
        ...

    async def delete_before(self, created_before: datetime) -> int:
        """Forgets responses stored before `created_before`; returns how many."""
        ...


class WebhookRepository(Protocol):
    """Webhook subscriptions and their deliveries.

    A delivery is unique per (subscription_id, message_id): recording the same event
    twice raises Conflict, so a re-run never sends a duplicate.
    """

    async def add(self, subscription: WebhookSubscription) -> None: ...
    async def get(
        self, subscription_id: UUID, *, dealership_id: UUID | None
    ) -> WebhookSubscription | None: ...
    async def get_for_update(self, subscription_id: UUID) -> WebhookSubscription | None:
        """Any dealership's subscription, locked until the transaction ends."""
        ...

    async def update(self, subscription: WebhookSubscription) -> None:
        """Writes secrets, `active`, `disabled_reason` and the circuit."""
        ...

    async def list_page(
        self, *, dealership_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[WebhookSubscription]: ...
    async def delete(self, subscription_id: UUID, *, dealership_id: UUID | None) -> bool: ...
    async def list_for_event(
        self, dealership_id: UUID, event: str
    ) -> list[WebhookSubscription]: ...
    async def add_delivery(self, delivery: WebhookDelivery) -> None: ...
    async def get_delivery(self, delivery_id: UUID) -> WebhookDelivery | None: ...
    async def update_delivery(self, delivery: WebhookDelivery) -> None: ...
    async def claim_delivery(
        self, delivery_id: UUID, *, now: datetime, lease_until: datetime
    ) -> WebhookDelivery | None:
        """Leases a `pending` delivery due at `now` (`due_at` <= now) by moving `due_at` to
        `lease_until`, and returns it; None if it is not pending or not due (another
        sender holds it, or it waits for a retry), so one delivery never has two senders."""
        ...

    async def redrive_overdue(
        self, *, overdue_before: datetime, now: datetime, limit: int
    ) -> list[UUID]:
        """Ids of up to `limit` pending deliveries due before `overdue_before` (their
        message is presumed lost), whose `due_at` becomes `now`; concurrent callers never
        get the same delivery."""
        ...

    async def fail_pending(self, subscription_id: UUID, *, reason: str, now: datetime) -> int:
        """Marks every pending delivery of the subscription failed with `reason`."""
        ...

    async def list_deliveries(
        self,
        *,
        subscription_id: UUID,
        status: DeliveryStatus | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[WebhookDelivery]: ...


class UsageRepository(Protocol):
    """Usage records per reply and the budget alerts raised, per dealership."""

    async def add(self, record: UsageRecord) -> None:
        """Stores a record; a second one for the same message raises Conflict."""
        ...

    async def days(self, *, dealership_id: UUID, start: datetime, end: datetime) -> list[UsageDay]:
        """Totals per UTC day of records with `start <= created_at < end`, oldest day
        first; days without records are absent."""
        ...

    async def tokens(self, *, dealership_id: UUID, start: datetime, end: datetime) -> int:
        """Prompt plus completion tokens of records with `start <= created_at < end`."""
        ...

    async def claim_alert(
        self, *, dealership_id: UUID, period: date, threshold: int, now: datetime
    ) -> bool:
        """Marks the alert of `threshold` percent raised for the period; False when it
        already was (by any transaction: the first one committed wins)."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository. Leaving without `commit` rolls back.

    After `commit` the unit of work goes on in a new transaction, which is again
    rolled back unless committed. A read-only unit of work rejects writes with
    RuntimeError (a programming error, not a user's).
    """

    dealerships: DealershipRepository
    users: UserRepository
    refresh_tokens: RefreshTokenRepository
    documents: DocumentRepository
    chunks: ChunkRepository
    blobs: BlobRepository
    conversations: ConversationRepository
    feedback: FeedbackRepository
    outbox: OutboxRepository
    idempotency: IdempotencyRepository
    webhooks: WebhookRepository
    usage: UsageRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...


class GenerationReader(Protocol):
    """The committed knowledge-base generation of a dealership, from the source of
    truth (never a lagging replica), in one cheap read: cache keys depend on it.
    None for an unknown dealership."""

    async def generation(self, dealership_id: UUID) -> int | None: ...


class AccountStates(Protocol):
    """The current state of accounts, read on every authenticated request.

    `get` answers the committed state (never a lagging replica's), None for an unknown
    user. `changed` is called after a change of a user's (or of every user of a
    dealership's) state has committed: a caching implementation drops what it holds,
    in every process that holds it, before it returns (or as soon as it can reach them).
    """

    async def get(self, user_id: UUID) -> AccountState | None: ...
    async def changed(
        self, *, user_ids: Sequence[UUID] = (), dealership_id: UUID | None = None
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens units of work; `read_only` ones may be served by a replica."""

    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...

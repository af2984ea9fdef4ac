"""In-memory twins of the persistence ports, with PostgreSQL's constraints.

Each write is a function of the tables handed to the transaction (see `store.py`),
which runs it now on the private copy and again on commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import msgspec

from avataradam.adapters.memory.store import InMemoryStore, InMemoryTransaction, Tables
from avataradam.domain.errors import Conflict, DuplicateDocument, EmailTaken, NotFound
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
    User,
    WebhookDelivery,
    WebhookSubscription,
)
from avataradam.domain.pagination import Cursor

BLOB_PART_BYTES = 1024 * 1024

T = TypeVar("T")
K = TypeVar("K")


def _page(
    rows: Iterable[T], key: Callable[[T], tuple[datetime, UUID]], cursor: Cursor | None, limit: int
) -> list[T]:
    ordered = sorted(rows, key=key)
    if cursor is not None:
        after = (cursor.created_at, cursor.id)
        ordered = [row for row in ordered if key(row) > after]
    return ordered[:limit]


def _insert(table: dict[K, T], key: K, row: T) -> None:
    if key in table:
        raise Conflict("already exists")
    table[key] = row


def _replace(table: dict[K, T], key: K, row: T, what: str) -> None:
    if key not in table:
        raise NotFound(f"{what} not found")
    table[key] = row


def _require(table: Mapping[K, object], key: K, what: str) -> None:
    if key not in table:
        raise NotFound(f"a referenced {what} does not exist")


class InMemoryDealershipRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, dealership: Dealership) -> None:
        self._tx.write(lambda t: _insert(t.dealerships, dealership.id, dealership))

    async def get(self, dealership_id: UUID) -> Dealership | None:
        return self._tx.tables.dealerships.get(dealership_id)

    async def update(self, dealership: Dealership) -> None:
        def op(t: Tables) -> None:
            current = t.dealerships.get(dealership.id)
            if current is None:
                raise NotFound("dealership not found")
            t.dealerships[dealership.id] = msgspec.structs.replace(
                dealership, knowledge_base_generation=current.knowledge_base_generation
            )

        self._tx.write(op)

    async def list_page(self, *, cursor: Cursor | None, limit: int) -> list[Dealership]:
        rows = self._tx.tables.dealerships.values()
        return _page(rows, lambda d: (d.created_at, d.id), cursor, limit)

    async def bump_generation(self, dealership_id: UUID) -> int:
        def op(t: Tables) -> int:
            current = t.dealerships.get(dealership_id)
            if current is None:
                raise NotFound("dealership not found")
            generation = current.knowledge_base_generation + 1
            t.dealerships[dealership_id] = msgspec.structs.replace(
                current, knowledge_base_generation=generation
            )
            return generation

        return self._tx.write(op)


def _email_taken(t: Tables, user: User) -> bool:
    email = user.email.lower()
    return any(u.email.lower() == email and u.id != user.id for u in t.users.values())


class InMemoryUserRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, user: User) -> None:
        def op(t: Tables) -> None:
            if user.dealership_id is not None:
                _require(t.dealerships, user.dealership_id, "dealership")
            if _email_taken(t, user):
                raise EmailTaken("another user already has this email", field="email")
            _insert(t.users, user.id, user)

        self._tx.write(op)

    async def get(self, user_id: UUID) -> User | None:
        return self._tx.tables.users.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        email = email.lower()
        return next((u for u in self._tx.tables.users.values() if u.email.lower() == email), None)

    async def update(self, user: User) -> None:
        def op(t: Tables) -> None:
            if _email_taken(t, user):
                raise EmailTaken("another user already has this email", field="email")
            current = t.users.get(user.id)
            kept = (
                user
                if current is None
                else msgspec.structs.replace(user, session_version=current.session_version)
            )
            _replace(t.users, user.id, kept, "user")

        self._tx.write(op)

    async def end_sessions(
        self, *, user_id: UUID | None = None, dealership_id: UUID | None = None
    ) -> list[UUID]:
        if (user_id is None) == (dealership_id is None):
            raise ValueError("name exactly one of user_id and dealership_id")

        def op(t: Tables) -> list[UUID]:
            moved = [
                u
                for u in t.users.values()
                if u.id == user_id
                or (dealership_id is not None and u.dealership_id == dealership_id)
            ]
            for u in moved:
                t.users[u.id] = msgspec.structs.replace(u, session_version=u.session_version + 1)
            return [u.id for u in moved]

        return self._tx.write(op)

    async def list_page(
        self, *, dealership_id: UUID | None, cursor: Cursor | None, limit: int
    ) -> list[User]:
        rows = [
            u
            for u in self._tx.tables.users.values()
            if dealership_id is None or u.dealership_id == dealership_id
        ]
        return _page(rows, lambda u: (u.created_at, u.id), cursor, limit)


class InMemoryRefreshTokenRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, token: RefreshToken) -> None:
        def op(t: Tables) -> None:
            _require(t.users, token.user_id, "user")
            _insert(t.refresh_tokens, token.token_hash, token)

        self._tx.write(op)

    async def get(self, token_hash: str) -> RefreshToken | None:
        return self._tx.tables.refresh_tokens.get(token_hash)

    async def mark_rotated(self, token_hash: str, at: datetime) -> bool:
        def op(t: Tables) -> bool:
            token = t.refresh_tokens.get(token_hash)
            if token is None or token.rotated_at is not None:
                return False
            t.refresh_tokens[token_hash] = msgspec.structs.replace(token, rotated_at=at)
            return True

        return self._tx.write(op, replay_must_agree=True)

    async def revoke(self, token_hash: str, at: datetime) -> None:
        def op(t: Tables) -> None:
            token = t.refresh_tokens.get(token_hash)
            if token is not None and token.revoked_at is None:
                t.refresh_tokens[token_hash] = msgspec.structs.replace(token, revoked_at=at)

        self._tx.write(op)

    async def revoke_family(self, family_id: UUID, at: datetime) -> None:
        def op(t: Tables) -> None:
            for token_hash, token in list(t.refresh_tokens.items()):
                if token.family_id == family_id and token.revoked_at is None:
                    t.refresh_tokens[token_hash] = msgspec.structs.replace(token, revoked_at=at)

        self._tx.write(op)

    async def revoke_users(self, user_ids: Sequence[UUID], at: datetime) -> int:
        users = set(user_ids)

        def op(t: Tables) -> int:
            revoked = 0
            for token_hash, token in list(t.refresh_tokens.items()):
                if token.user_id in users and token.revoked_at is None:
                    t.refresh_tokens[token_hash] = msgspec.structs.replace(token, revoked_at=at)
                    revoked += 1
            return revoked

        return self._tx.write(op)


def _live_duplicate(t: Tables, document: Document) -> Document | None:
    """Another live document with `document`'s dealership, topic and content."""
    if document.status is DocumentStatus.DELETING:
        return None
    return next(
        (
            d
            for d in t.documents.values()
            if d.id != document.id
            and d.dealership_id == document.dealership_id
            and d.topic == document.topic
            and d.sha256 == document.sha256
            and d.status is not DocumentStatus.DELETING
        ),
        None,
    )


def _kept_identity(t: Tables, document: Document) -> Document:
    """`document` with the stored row's immutable fields; refuses a live duplicate."""
    current = t.documents[document.id]
    kept = msgspec.structs.replace(
        document,
        dealership_id=current.dealership_id,
        topic=current.topic,
        sha256=current.sha256,
        created_at=current.created_at,
    )
    if _live_duplicate(t, kept) is not None:
        raise DuplicateDocument("this file is already in this knowledge base")
    return kept


def _held(document: Document | None, lease_token: UUID) -> bool:
    return (
        document is not None
        and document.status is DocumentStatus.PROCESSING
        and document.lease_token == lease_token
    )


def _lapse_order(document: Document) -> tuple[bool, datetime, UUID]:
    """PostgreSQL's `ORDER BY lease_expires_at NULLS FIRST, id`."""
    expires = document.lease_expires_at
    return (expires is not None, expires or document.updated_at, document.id)


class InMemoryDocumentRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, document: Document) -> Document | None:
        def op(t: Tables) -> Document | None:
            _require(t.dealerships, document.dealership_id, "dealership")
            existing = _live_duplicate(t, document)
            if existing is None:
                _insert(t.documents, document.id, document)
            return existing

        return self._tx.write(op, replay_must_agree=True)

    async def get(self, document_id: UUID, *, dealership_id: UUID | None) -> Document | None:
        document = self._tx.tables.documents.get(document_id)
        if document is None or dealership_id not in (None, document.dealership_id):
            return None
        return document

    async def get_for_update(self, document_id: UUID) -> Document | None:
        self._tx.require_writable()
        return self._tx.tables.documents.get(document_id)

    async def update(self, document: Document) -> None:
        def op(t: Tables) -> None:
            if document.id not in t.documents:
                raise NotFound("document not found")
            t.documents[document.id] = _kept_identity(t, document)

        self._tx.write(op)

    async def update_leased(self, document: Document, *, lease_token: UUID) -> bool:
        def op(t: Tables) -> bool:
            if not _held(t.documents.get(document.id), lease_token):
                return False
            t.documents[document.id] = _kept_identity(t, document)
            return True

        return self._tx.write(op, replay_must_agree=True)

    async def set_progress(
        self,
        document_id: UUID,
        *,
        lease_token: UUID,
        stage: Stage,
        progress: float,
        updated_at: datetime,
    ) -> bool:
        def op(t: Tables) -> bool:
            current = t.documents.get(document_id)
            if current is None or not _held(current, lease_token):
                return False
            t.documents[document_id] = msgspec.structs.replace(
                current, stage=stage, progress=progress, updated_at=updated_at
            )
            return True

        return self._tx.write(op)

    async def renew_lease(self, document_id: UUID, *, lease_token: UUID, until: datetime) -> bool:
        def op(t: Tables) -> bool:
            current = t.documents.get(document_id)
            if current is None or not _held(current, lease_token):
                return False
            t.documents[document_id] = msgspec.structs.replace(current, lease_expires_at=until)
            return True

        return self._tx.write(op)

    async def list_lapsed(self, *, now: datetime, limit: int) -> list[Document]:
        rows = [
            d
            for d in self._tx.tables.documents.values()
            if d.status is DocumentStatus.PROCESSING
            and (d.lease_expires_at is None or d.lease_expires_at <= now)
        ]
        return sorted(rows, key=_lapse_order)[:limit]

    async def oldest_processing_started_at(self) -> datetime | None:
        return min(
            (
                d.processing_started_at
                for d in self._tx.tables.documents.values()
                if d.status is DocumentStatus.PROCESSING and d.processing_started_at is not None
            ),
            default=None,
        )

    async def delete(self, document_id: UUID) -> None:
        def op(t: Tables) -> None:
            t.documents.pop(document_id, None)
            t.blobs.pop(document_id, None)
            for chunk_id in [c.id for c in t.chunks.values() if c.document_id == document_id]:
                del t.chunks[chunk_id]

        self._tx.write(op)

    async def find_by_sha256(
        self, *, dealership_id: UUID, topic: Topic, sha256: str
    ) -> Document | None:
        return next(
            (
                d
                for d in self._tx.tables.documents.values()
                if d.dealership_id == dealership_id
                and d.topic == topic
                and d.sha256 == sha256
                and d.status is not DocumentStatus.DELETING
            ),
            None,
        )

    async def list_page(
        self,
        *,
        dealership_id: UUID,
        topic: Topic | None,
        status: DocumentStatus | None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Document]:
        rows = [
            d
            for d in self._tx.tables.documents.values()
            if d.dealership_id == dealership_id
            and topic in (None, d.topic)
            and status in (None, d.status)
        ]
        return _page(rows, lambda d: (d.created_at, d.id), cursor, limit)

    async def list_stale(
        self, *, statuses: Sequence[DocumentStatus], updated_before: datetime, limit: int
    ) -> list[Document]:
        rows = [
            d
            for d in self._tx.tables.documents.values()
            if d.status in statuses and d.updated_at < updated_before
        ]
        return sorted(rows, key=lambda d: (d.updated_at, d.id))[:limit]

    async def count_by_status(self, dealership_id: UUID | None) -> dict[DocumentStatus, int]:
        counts = dict.fromkeys(DocumentStatus, 0)
        for document in self._tx.tables.documents.values():
            if dealership_id in (None, document.dealership_id):
                counts[document.status] += 1
        return counts

    async def not_ready_ids(self, dealership_id: UUID) -> list[UUID]:
        return [
            document.id
            for document in self._tx.tables.documents.values()
            if document.dealership_id == dealership_id
            and document.status is not DocumentStatus.READY
        ]


class InMemoryChunkRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def replace(self, document_id: UUID, chunks: Sequence[Chunk]) -> None:
        new = tuple(msgspec.structs.replace(c, document_id=document_id) for c in chunks)
        if len({c.index for c in new}) != len(new):
            raise Conflict("two chunks of a document share an index")

        def op(t: Tables) -> None:
            for chunk_id in [c.id for c in t.chunks.values() if c.document_id == document_id]:
                del t.chunks[chunk_id]
            if new:
                _require(t.documents, document_id, "document")
            for chunk in new:
                _insert(t.chunks, chunk.id, chunk)

        self._tx.write(op)

    async def put(self, document_id: UUID, chunks: Sequence[Chunk]) -> None:
        new = tuple(msgspec.structs.replace(c, document_id=document_id) for c in chunks)
        if len({c.index for c in new}) != len(new):
            raise Conflict("two chunks of a document share an index")

        def op(t: Tables) -> None:
            if new:
                _require(t.documents, document_id, "document")
            indexes = {c.index for c in new}
            for chunk_id in [
                c.id
                for c in t.chunks.values()
                if c.document_id == document_id and c.index in indexes
            ]:
                del t.chunks[chunk_id]
            for chunk in new:
                _insert(t.chunks, chunk.id, chunk)

        self._tx.write(op)

    async def delete_from(self, document_id: UUID, first_index: int) -> int:
        def op(t: Tables) -> int:
            doomed = [
                c.id
                for c in t.chunks.values()
                if c.document_id == document_id and c.index >= first_index
            ]
            for chunk_id in doomed:
                del t.chunks[chunk_id]
            return len(doomed)

        return self._tx.write(op)

    async def get_many(self, chunk_ids: Sequence[str], *, dealership_id: UUID) -> list[Chunk]:
        chunks, documents = self._tx.tables.chunks, self._tx.tables.documents
        return [
            chunks[chunk_id]
            for chunk_id in dict.fromkeys(chunk_ids)
            if chunk_id in chunks
            and chunks[chunk_id].dealership_id == dealership_id
            and (document := documents.get(chunks[chunk_id].document_id)) is not None
            and document.status is DocumentStatus.READY
        ]

    async def count(self, document_id: UUID) -> int:
        return sum(1 for c in self._tx.tables.chunks.values() if c.document_id == document_id)

    async def delete_document(self, document_id: UUID) -> None:
        def op(t: Tables) -> None:
            for chunk_id in [c.id for c in t.chunks.values() if c.document_id == document_id]:
                del t.chunks[chunk_id]

        self._tx.write(op)


class InMemoryBlobRepository:
    """Keeps parts of at most BLOB_PART_BYTES, like the PostgreSQL rows."""

    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def write(self, blob_id: UUID, parts: AsyncIterator[bytes]) -> int:
        stored: list[bytes] = []
        pending = bytearray()
        total = 0
        async for part in parts:
            total += len(part)
            pending += part
            while len(pending) >= BLOB_PART_BYTES:
                stored.append(bytes(pending[:BLOB_PART_BYTES]))
                del pending[:BLOB_PART_BYTES]
        if pending:
            stored.append(bytes(pending))
        blob = tuple(stored)

        def op(t: Tables) -> None:
            t.blobs[blob_id] = blob

        self._tx.write(op)
        return total

    async def read(self, blob_id: UUID) -> AsyncIterator[bytes]:
        for part in self._tx.tables.blobs.get(blob_id, ()):
            yield part

    async def delete(self, blob_id: UUID) -> None:
        self._tx.write(lambda t: t.blobs.pop(blob_id, None))


class InMemoryConversationRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, conversation: Conversation) -> None:
        def op(t: Tables) -> None:
            _require(t.dealerships, conversation.dealership_id, "dealership")
            _require(t.users, conversation.user_id, "user")
            _insert(t.conversations, conversation.id, conversation)

        self._tx.write(op)

    async def touch(self, conversation_id: UUID, at: datetime) -> None:
        def op(t: Tables) -> None:
            current = t.conversations.get(conversation_id)
            if current is None:
                raise NotFound("conversation not found")
            t.conversations[conversation_id] = msgspec.structs.replace(current, updated_at=at)

        self._tx.write(op)

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
        return _page(rows, lambda c: (c.created_at, c.id), cursor, limit)

    async def add_message(self, message: Message) -> None:
        sequence = self._tx.store.next_sequence()

        def op(t: Tables) -> None:
            _require(t.conversations, message.conversation_id, "conversation")
            _insert(t.messages, message.id, (sequence, message))

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


class InMemoryFeedbackRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def rate(self, feedback: MessageFeedback) -> MessageFeedback:
        def op(t: Tables) -> MessageFeedback:
            _require(t.messages, feedback.message_id, "message")
            _require(t.conversations, feedback.conversation_id, "conversation")
            _require(t.dealerships, feedback.dealership_id, "dealership")
            _require(t.users, feedback.user_id, "user")
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
        return _page(rows, lambda f: (f.created_at, f.id), cursor, limit)


class InMemoryOutboxRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, entry: OutboxEntry) -> None:
        self._tx.write(lambda t: _insert(t.outbox, entry.id, entry))

    async def claim_due(self, limit: int, now: datetime) -> list[OutboxEntry]:
        self._tx.require_writable()
        due = sorted(
            (e for e in self._tx.tables.outbox.values() if e.available_at <= now),
            key=lambda e: (e.available_at, e.id),
        )
        claimed: list[OutboxEntry] = []
        for entry in due:
            if len(claimed) == limit:
                break
            if self._tx.claim(entry.id):
                claimed.append(entry)
        return claimed

    async def mark_done(self, entry_id: UUID) -> None:
        self._tx.write(lambda t: t.outbox.pop(entry_id, None))

    async def reschedule(self, entry_id: UUID, available_at: datetime) -> None:
        def op(t: Tables) -> None:
            entry = t.outbox.get(entry_id)
            if entry is not None:
                t.outbox[entry_id] = msgspec.structs.replace(entry, available_at=available_at)

        self._tx.write(op)


class InMemoryIdempotencyRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def claim(
        self,
        scope: str,
        key: str,
        request_hash: str,
        status_code: int,
        body: bytes,
        created_at: datetime,
    ) -> StoredResponse | None:
        response = StoredResponse(
            scope=scope,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            body=body,
            created_at=created_at,
        )

        def op(t: Tables) -> StoredResponse | None:
            stored = t.idempotency.get((scope, key))
            if stored is None:
                t.idempotency[(scope, key)] = response
            return stored

        return self._tx.write(op, replay_must_agree=True)

    async def delete_before(self, created_before: datetime) -> int:
        def op(t: Tables) -> int:
            old = [k for k, r in t.idempotency.items() if r.created_at < created_before]
            for k in old:
                del t.idempotency[k]
            return len(old)

        return self._tx.write(op)


class InMemoryWebhookRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, subscription: WebhookSubscription) -> None:
        def op(t: Tables) -> None:
            _require(t.dealerships, subscription.dealership_id, "dealership")
            _insert(t.webhook_subscriptions, subscription.id, subscription)

        self._tx.write(op)

    async def get(
        self, subscription_id: UUID, *, dealership_id: UUID | None
    ) -> WebhookSubscription | None:
        subscription = self._tx.tables.webhook_subscriptions.get(subscription_id)
        if subscription is None or dealership_id not in (None, subscription.dealership_id):
            return None
        return subscription

    async def get_for_update(self, subscription_id: UUID) -> WebhookSubscription | None:
        self._tx.require_writable()
        return self._tx.tables.webhook_subscriptions.get(subscription_id)

    async def update(self, subscription: WebhookSubscription) -> None:
        def op(t: Tables) -> None:
            current = t.webhook_subscriptions.get(subscription.id)
            if current is None:
                raise NotFound("webhook subscription not found")
            t.webhook_subscriptions[subscription.id] = msgspec.structs.replace(
                current,
                secret=subscription.secret,
                previous_secret=subscription.previous_secret,
                previous_secret_expires_at=subscription.previous_secret_expires_at,
                active=subscription.active,
                disabled_reason=subscription.disabled_reason,
                consecutive_failures=subscription.consecutive_failures,
                circuit_open_until=subscription.circuit_open_until,
            )

        self._tx.write(op)

    async def list_page(
        self, *, dealership_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[WebhookSubscription]:
        rows = [
            s
            for s in self._tx.tables.webhook_subscriptions.values()
            if s.dealership_id == dealership_id
        ]
        return _page(rows, lambda s: (s.created_at, s.id), cursor, limit)

    async def delete(self, subscription_id: UUID, *, dealership_id: UUID | None) -> bool:
        def op(t: Tables) -> bool:
            subscription = t.webhook_subscriptions.get(subscription_id)
            if subscription is None or dealership_id not in (None, subscription.dealership_id):
                return False
            del t.webhook_subscriptions[subscription_id]
            for delivery_id in [
                d.id for d in t.webhook_deliveries.values() if d.subscription_id == subscription_id
            ]:
                del t.webhook_deliveries[delivery_id]
            return True

        return self._tx.write(op)

    async def list_for_event(self, dealership_id: UUID, event: str) -> list[WebhookSubscription]:
        rows = [
            s
            for s in self._tx.tables.webhook_subscriptions.values()
            if s.dealership_id == dealership_id and s.active and event in s.events
        ]
        return sorted(rows, key=lambda s: (s.created_at, s.id))

    async def add_delivery(self, delivery: WebhookDelivery) -> None:
        def op(t: Tables) -> None:
            _require(t.webhook_subscriptions, delivery.subscription_id, "webhook subscription")
            if any(
                d.subscription_id == delivery.subscription_id
                and d.message_id == delivery.message_id
                for d in t.webhook_deliveries.values()
            ):
                raise Conflict("this event was already recorded for the subscription")
            _insert(t.webhook_deliveries, delivery.id, delivery)

        self._tx.write(op)

    async def get_delivery(self, delivery_id: UUID) -> WebhookDelivery | None:
        return self._tx.tables.webhook_deliveries.get(delivery_id)

    async def update_delivery(self, delivery: WebhookDelivery) -> None:
        def op(t: Tables) -> None:
            current = t.webhook_deliveries.get(delivery.id)
            if current is None:
                raise NotFound("webhook delivery not found")
            t.webhook_deliveries[delivery.id] = msgspec.structs.replace(
                current,
                status=delivery.status,
                attempts=delivery.attempts,
                last_status_code=delivery.last_status_code,
                last_error=delivery.last_error,
                updated_at=delivery.updated_at,
                due_at=delivery.due_at,
            )

        self._tx.write(op)

    async def claim_delivery(
        self, delivery_id: UUID, *, now: datetime, lease_until: datetime
    ) -> WebhookDelivery | None:
        def op(t: Tables) -> WebhookDelivery | None:
            current = t.webhook_deliveries.get(delivery_id)
            if (
                current is None
                or current.status is not DeliveryStatus.PENDING
                or current.due_at is None
                or current.due_at > now
            ):
                return None
            claimed = msgspec.structs.replace(current, due_at=lease_until)
            t.webhook_deliveries[delivery_id] = claimed
            return claimed

        return self._tx.write(op, replay_must_agree=True)

    async def redrive_overdue(
        self, *, overdue_before: datetime, now: datetime, limit: int
    ) -> list[UUID]:
        def op(t: Tables) -> list[UUID]:
            overdue = sorted(
                (
                    d
                    for d in t.webhook_deliveries.values()
                    if d.status is DeliveryStatus.PENDING
                    and d.due_at is not None
                    and d.due_at < overdue_before
                ),
                key=lambda d: (d.due_at, d.id),
            )[:limit]
            for delivery in overdue:
                t.webhook_deliveries[delivery.id] = msgspec.structs.replace(delivery, due_at=now)
            return [d.id for d in overdue]

        return self._tx.write(op, replay_must_agree=True)

    async def fail_pending(self, subscription_id: UUID, *, reason: str, now: datetime) -> int:
        def op(t: Tables) -> int:
            pending = [
                d
                for d in t.webhook_deliveries.values()
                if d.subscription_id == subscription_id and d.status is DeliveryStatus.PENDING
            ]
            for delivery in pending:
                t.webhook_deliveries[delivery.id] = msgspec.structs.replace(
                    delivery,
                    status=DeliveryStatus.FAILED,
                    last_error=reason,
                    updated_at=now,
                    due_at=None,
                )
            return len(pending)

        return self._tx.write(op)

    async def list_deliveries(
        self,
        *,
        subscription_id: UUID,
        status: DeliveryStatus | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[WebhookDelivery]:
        rows = [
            d
            for d in self._tx.tables.webhook_deliveries.values()
            if d.subscription_id == subscription_id and status in (None, d.status)
        ]
        return _page(rows, lambda d: (d.created_at, d.id), cursor, limit)


class InMemoryAccountStates:
    """Implements AccountStates on the committed tables of an InMemoryStore."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def get(self, user_id: UUID) -> AccountState | None:
        tables = self._store.tables
        user = tables.users.get(user_id)
        if user is None:
            return None
        dealership = tables.dealerships.get(user.dealership_id) if user.dealership_id else None
        return AccountState(
            user_id=user.id,
            role=user.role,
            dealership_id=user.dealership_id,
            active=user.active,
            dealership_active=dealership.active if dealership is not None else True,
            session_version=user.session_version,
        )

    async def changed(
        self, *, user_ids: Sequence[UUID] = (), dealership_id: UUID | None = None
    ) -> None:
        del user_ids, dealership_id


class InMemoryGenerationReader:
    """Implements GenerationReader on the committed tables of an InMemoryStore."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def generation(self, dealership_id: UUID) -> int | None:
        dealership = self._store.tables.dealerships.get(dealership_id)
        return None if dealership is None else dealership.knowledge_base_generation

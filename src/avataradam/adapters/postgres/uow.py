"""Units of work over one pooled asyncpg connection and its transaction."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import asyncpg
from asyncpg.transaction import Transaction

from avataradam.adapters.postgres.conversations import (
    PostgresConversationRepository,
    PostgresFeedbackRepository,
)
from avataradam.adapters.postgres.database import PooledConnection, PostgresDatabase
from avataradam.adapters.postgres.documents import (
    PostgresBlobRepository,
    PostgresChunkRepository,
    PostgresDocumentRepository,
)
from avataradam.adapters.postgres.errors import translated_errors
from avataradam.adapters.postgres.identity import (
    PostgresDealershipRepository,
    PostgresRefreshTokenRepository,
    PostgresUserRepository,
)
from avataradam.adapters.postgres.outbox import (
    PostgresIdempotencyRepository,
    PostgresOutboxRepository,
)
from avataradam.adapters.postgres.webhooks import PostgresWebhookRepository
from avataradam.domain.ports.repositories import (
    BlobRepository,
    ChunkRepository,
    ConversationRepository,
    DealershipRepository,
    DocumentRepository,
    FeedbackRepository,
    IdempotencyRepository,
    OutboxRepository,
    RefreshTokenRepository,
    UserRepository,
    WebhookRepository,
)


class PostgresUnitOfWork:
    """Acquires a connection on enter and always gives it back on exit.

    Writes run READ COMMITTED on the primary; read-only work runs in a READ ONLY
    REPEATABLE READ transaction (one consistent snapshot) on the replica pool.
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

    def __init__(self, database: PostgresDatabase, *, read_only: bool) -> None:
        self._database = database
        self._read_only = read_only
        self._pool: asyncpg.Pool | None = None
        self._connection: PooledConnection | None = None
        self._transaction: Transaction | None = None

    async def _begin(self, connection: PooledConnection) -> None:
        transaction = connection.transaction(
            isolation="repeatable_read" if self._read_only else "read_committed",
            readonly=self._read_only,
        )
        with translated_errors():
            await transaction.start()
        self._transaction = transaction

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("a unit of work cannot be entered twice")
        pool = self._database.replica if self._read_only else self._database.primary
        with translated_errors():
            connection: PooledConnection = await pool.acquire()
        try:
            await self._begin(connection)
        except BaseException:
            await pool.release(connection)
            raise
        self._pool, self._connection = pool, connection
        self.dealerships = PostgresDealershipRepository(connection)
        self.users = PostgresUserRepository(connection)
        self.refresh_tokens = PostgresRefreshTokenRepository(connection)
        self.documents = PostgresDocumentRepository(connection)
        self.chunks = PostgresChunkRepository(connection)
        self.blobs = PostgresBlobRepository(connection)
        self.conversations = PostgresConversationRepository(connection)
        self.feedback = PostgresFeedbackRepository(connection)
        self.outbox = PostgresOutboxRepository(connection)
        self.idempotency = PostgresIdempotencyRepository(connection)
        self.webhooks = PostgresWebhookRepository(connection)
        return self

    async def commit(self) -> None:
        """Commits, then goes on in a fresh transaction."""
        if self._connection is None or self._transaction is None:
            raise RuntimeError("commit outside an entered unit of work")
        transaction, self._transaction = self._transaction, None
        with translated_errors():
            await transaction.commit()
        await self._begin(self._connection)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, pool, transaction = self._connection, self._pool, self._transaction
        self._connection = self._pool = self._transaction = None
        if connection is None or pool is None:
            return
        try:
            if transaction is not None and not connection.is_closed():
                await transaction.rollback()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            # A connection that cannot roll back is broken; the server discards its
            # transaction, and the pool must not hand it out again.
            connection.terminate()
        finally:
            await pool.release(connection)


class PostgresUnitOfWorkFactory:
    """Implements UnitOfWorkFactory on a started PostgresDatabase."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database

    def __call__(self, *, read_only: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self.database, read_only=read_only)

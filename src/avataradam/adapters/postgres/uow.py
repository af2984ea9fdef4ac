"""Units of work over one pooled asyncpg connection and its transaction."""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Self

import asyncpg
from asyncpg.transaction import Transaction

from avataradam.adapters.postgres.analytics import PostgresAnalyticsRepository
from avataradam.adapters.postgres.assignments import PostgresAssignmentRepository
from avataradam.adapters.postgres.blobs import AUDIO_BLOBS, PostgresBlobRepository
from avataradam.adapters.postgres.chunks import PostgresChunkRepository
from avataradam.adapters.postgres.conversations import (
    PostgresConversationRepository,
    PostgresFeedbackRepository,
)
from avataradam.adapters.postgres.database import (
    PooledConnection,
    PostgresDatabase,
    is_read_only_server,
)
from avataradam.adapters.postgres.documents import PostgresDocumentRepository
from avataradam.adapters.postgres.errors import CONNECTION_ERRORS, translated_errors
from avataradam.adapters.postgres.identity import (
    PostgresDealershipRepository,
    PostgresRefreshTokenRepository,
    PostgresUserRepository,
)
from avataradam.adapters.postgres.knowledge_gaps import PostgresKnowledgeGapRepository
from avataradam.adapters.postgres.outbox import (
    PostgresIdempotencyRepository,
    PostgresOutboxRepository,
)
from avataradam.adapters.postgres.reembeddings import PostgresReembeddingRepository
from avataradam.adapters.postgres.rubrics import PostgresRubricRepository
from avataradam.adapters.postgres.scenarios import PostgresScenarioRepository
from avataradam.adapters.postgres.scorecards import PostgresScorecardRepository
from avataradam.adapters.postgres.speech_audio import PostgresMessageAudioRepository
from avataradam.adapters.postgres.usage import PostgresUsageRepository
from avataradam.adapters.postgres.webhooks import PostgresWebhookRepository
from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.ports.repositories.documents import BlobRepository
from avataradam.domain.ports.repositories.uow import UnitOfWork

_RETRYABLE_AT_BEGIN: tuple[type[BaseException], ...] = (
    *CONNECTION_ERRORS,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)
_ROLLBACK_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, asyncpg.PostgresError)


class PostgresUnitOfWork(UnitOfWork):
    """Acquires a connection on enter and always gives it back on exit.

    Writes run READ COMMITTED on the primary; read-only work runs in a READ ONLY
    REPEATABLE READ transaction (one consistent snapshot) on the pool that
    `PostgresDatabase.read_pool` picks (the replica unless it is down or lagging).

    Failover: a connection that turns out broken, or read-only where a write was meant
    to go (a demoted server, SQLSTATE 25006), is dropped together with the idle
    connections of its pool. Beginning is retried once on a fresh connection (nothing
    has run yet, so that is always safe); a failure inside the transaction is never
    replayed: it surfaces as `DependencyUnavailable`, and the caller may retry.
    """

    def __init__(
        self,
        database: PostgresDatabase,
        *,
        read_only: bool,
        blobs: BlobRepository | None = None,
        audio_blobs: BlobRepository | None = None,
    ) -> None:
        self._database = database
        self._read_only = read_only
        self._blob_store, self._audio_store = blobs, audio_blobs
        self._pool: asyncpg.Pool | None = None
        self._connection: PooledConnection | None = None
        self._transaction: Transaction | None = None

    async def _begin(self, connection: PooledConnection) -> None:
        transaction = connection.transaction(
            isolation="repeatable_read" if self._read_only else "read_committed",
            readonly=self._read_only,
        )
        await transaction.start()
        self._transaction = transaction

    async def _begin_on_writable(self, connection: PooledConnection) -> None:
        if not self._read_only and is_read_only_server(connection):
            raise asyncpg.exceptions.ReadOnlySQLTransactionError(
                "the primary pool reached a read-only server"
            )
        await self._begin(connection)

    async def _release(self, pool: asyncpg.Pool, connection: PooledConnection) -> None:
        """Gives the connection back; one that died meanwhile is the pool's to replace
        (its reset fails, the pool closes it), never an error of the caller's work."""
        with contextlib.suppress(*CONNECTION_ERRORS):
            await self._database.release(pool, connection)

    async def _drop(self, pool: asyncpg.Pool, error: BaseException) -> None:
        """Forgets a failed server: its idle connections are replaced on next acquire."""
        await pool.expire_connections()
        if pool is not self._database.primary:
            self._database.mark_replica_down(error)

    async def _open(self) -> tuple[asyncpg.Pool, PooledConnection]:
        last_error: BaseException | None = None
        for _attempt in range(2):
            pool = await self._database.read_pool() if self._read_only else self._database.primary
            try:
                connection = await self._database.acquire(pool)
            except CONNECTION_ERRORS as exc:
                last_error = exc
                await self._drop(pool, exc)
                continue
            try:
                await self._begin_on_writable(connection)
            except _RETRYABLE_AT_BEGIN as exc:
                last_error = exc
                _terminate(connection)
                await self._release(pool, connection)
                await self._drop(pool, exc)
                continue
            except BaseException:
                await self._release(pool, connection)
                raise
            return pool, connection
        raise DependencyUnavailable(
            "database is unavailable", dependency="postgres"
        ) from last_error

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("a unit of work cannot be entered twice")
        pool, connection = await self._open()
        self._pool, self._connection = pool, connection
        self.dealerships = PostgresDealershipRepository(connection)
        self.users = PostgresUserRepository(connection)
        self.refresh_tokens = PostgresRefreshTokenRepository(connection)
        self.documents = PostgresDocumentRepository(connection)
        self.chunks = PostgresChunkRepository(connection)
        self.blobs = self._blob_store or PostgresBlobRepository(connection)
        self.conversations = PostgresConversationRepository(connection)
        self.feedback = PostgresFeedbackRepository(connection)
        self.outbox = PostgresOutboxRepository(connection)
        self.idempotency = PostgresIdempotencyRepository(connection)
        self.webhooks = PostgresWebhookRepository(connection)
        self.usage = PostgresUsageRepository(connection)
        self.reembeddings = PostgresReembeddingRepository(connection)
        self.scenarios = PostgresScenarioRepository(connection)
        self.scorecards = PostgresScorecardRepository(connection)
        self.assignments = PostgresAssignmentRepository(connection)
        self.rubrics = PostgresRubricRepository(connection)
        self.analytics = PostgresAnalyticsRepository(connection)
        self.knowledge_gaps = PostgresKnowledgeGapRepository(connection)
        self.message_audio = PostgresMessageAudioRepository(connection)
        self.audio_blobs = self._audio_store or PostgresBlobRepository(connection, AUDIO_BLOBS)
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
        broken = _is_closed(connection)
        try:
            if transaction is not None and not broken:
                await transaction.rollback()
        except _ROLLBACK_ERRORS:
            # A connection that cannot roll back is broken; the server discards its
            # transaction, and the pool must not hand it out again.
            broken = True
        finally:
            if broken:
                _terminate(connection)
            await self._release(pool, connection)
        if broken:
            await self._drop(pool, exc or ConnectionError("connection lost"))
        if exc is None:
            return
        if not self._read_only and _is_read_only_violation(exc):
            await self._drop(pool, exc)
            raise DependencyUnavailable(
                "the primary has become read-only (failover in progress?)",
                dependency="postgres",
            ) from exc


def _is_closed(connection: PooledConnection) -> bool:
    """A proxy whose connection was lost is detached by the pool at once; asking it
    anything then raises InterfaceError, which means closed, too."""
    try:
        return connection.is_closed()
    except asyncpg.exceptions.InterfaceError:
        return True


def _terminate(connection: PooledConnection) -> None:
    with contextlib.suppress(asyncpg.exceptions.InterfaceError):
        connection.terminate()


def _is_read_only_violation(exc: BaseException) -> bool:
    """SQLSTATE 25006, however the repositories' error translation wrapped it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, asyncpg.exceptions.ReadOnlySQLTransactionError):
            return True
        seen = seen.__cause__
    return False


class PostgresUnitOfWorkFactory:
    """Implements UnitOfWorkFactory on a started PostgresDatabase."""

    def __init__(
        self,
        database: PostgresDatabase,
        *,
        blobs: BlobRepository | None = None,
        audio_blobs: BlobRepository | None = None,
    ) -> None:
        """`blobs` replaces the documents' in-database blob rows (e.g. a filesystem
        store), `audio_blobs` the replies' audio's."""
        self.database = database
        self._blobs, self._audio_blobs = blobs, audio_blobs

    def __call__(self, *, read_only: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(
            self.database, read_only=read_only, blobs=self._blobs, audio_blobs=self._audio_blobs
        )

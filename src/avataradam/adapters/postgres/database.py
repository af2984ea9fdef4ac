"""asyncpg connection pools for the primary and an optional read replica, with routing.

Both DSNs may be libpq multi-host URLs (`postgresql://h1:5432,h2:5432/db?...`): the
primary pool's should carry `target_session_attrs=read-write` so that, after a
failover, its new connections find the promoted server by themselves; the replica's
`prefer-standby` (or `standby`). Read-only units of work go to the replica unless it is
down or lags more than `replica_max_lag_s`; then they go to the primary — counted,
logged on each change of route, never an error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, TypeAlias

import asyncpg
import msgspec
import structlog

from avataradam.adapters.postgres.errors import translated_errors
from avataradam.adapters.postgres.replication import ReplicationStatus, measure_replication
from avataradam.domain.errors import DependencyUnavailable

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

# Generic only in the type stubs, hence the string.
PooledConnection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"
"""The connection a unit of work borrows from a pool; repositories run on it."""

FallbackReason = Literal["replica_down", "replica_lagging"]
PoolRole = Literal["primary", "replica"]


_log = structlog.get_logger(__name__)


def _encode_json(value: object) -> str:
    return msgspec.json.encode(value).decode()


async def _init_connection(connection: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name,
            encoder=_encode_json,
            decoder=msgspec.json.decode,
            schema="pg_catalog",
        )


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """Pool `reset`: nothing beyond what asyncpg always does on release (roll back an
    open transaction, drop listener callbacks).

    asyncpg's default reset sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN
    *; RESET ALL;`: one more round trip on every release, i.e. on every pooled query and
    unit of work, to undo session state this application never creates (no session
    advisory locks, cursors outside transactions, LISTEN or SET on pooled connections;
    the migrator's advisory lock lives on its own connection). On a cached search it was
    the largest single cost after the query itself.
    """


def is_read_only_server(connection: PooledConnection) -> bool:
    """Whether the server last said it is a hot standby or read-only by default.

    PostgreSQL 14+ reports both settings on connect and whenever they change, so this
    costs no round trip; a stale answer is caught later by SQLSTATE 25006.
    """
    settings = connection.get_settings()
    return "on" in (
        getattr(settings, "in_hot_standby", "off"),
        getattr(settings, "default_transaction_read_only", "off"),
    )


class PostgresDatabase:
    """Owns the pools and decides where read-only work runs.

    `statement_cache_size=0` is needed behind a transaction-mode pooler (PgBouncer).
    The replica's state is measured at most once per `replica_status_ttl_s`, in the
    background once a first measurement exists, never per request.
    """

    def __init__(
        self,
        dsn: str,
        *,
        replica_dsn: str | None = None,
        min_size: int,
        max_size: int,
        command_timeout_s: float,
        statement_cache_size: int,
        connect_timeout_s: float = 5.0,
        replica_max_lag_s: float = 10.0,
        replica_status_ttl_s: float = 1.0,
        on_replica_fallback: Callable[[FallbackReason], None] | None = None,
        on_replica_lag: Callable[[float], None] | None = None,
        on_pool_usage: Callable[[PoolRole, int, int], None] | None = None,
        on_acquire_wait: Callable[[PoolRole, float], None] | None = None,
        close_timeout_s: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._close_timeout_s = close_timeout_s
        self._replica_dsn = replica_dsn
        self._min_size = min_size
        self._max_size = max_size
        self._command_timeout_s = command_timeout_s
        self._statement_cache_size = statement_cache_size
        self._connect_timeout_s = connect_timeout_s
        self.replica_max_lag_s = replica_max_lag_s
        self._status_ttl_s = replica_status_ttl_s
        self._on_fallback = on_replica_fallback
        self._on_lag = on_replica_lag
        self._on_pool_usage = on_pool_usage
        self._on_acquire_wait = on_acquire_wait
        self._primary: asyncpg.Pool | None = None
        self._replica: asyncpg.Pool | None = None
        self._status: ReplicationStatus | None = None
        self._status_at = 0.0
        self._measuring: asyncio.Task[ReplicationStatus] | None = None
        self._route: Literal["replica"] | FallbackReason = "replica"
        self.fallbacks: dict[FallbackReason, int] = {"replica_down": 0, "replica_lagging": 0}

    async def _create_pool(self, dsn: str, min_size: int) -> asyncpg.Pool:
        with translated_errors():
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=self._max_size,
                command_timeout=self._command_timeout_s,
                statement_cache_size=self._statement_cache_size,
                timeout=self._connect_timeout_s,
                init=_init_connection,
                reset=_keep_session,
            )
        if pool is None:  # pragma: no cover - create_pool returns None only in a stub
            raise DependencyUnavailable("database pool was not created", dependency="postgres")
        return pool

    async def start(self) -> None:
        """Needs the primary; a replica that is down at start only reroutes reads."""
        if self._primary is not None:
            return
        self._primary = await self._create_pool(self._dsn, self._min_size)
        self._report_usage(self._primary)
        if self._replica_dsn is None:
            return
        try:
            self._replica = await self._create_pool(self._replica_dsn, self._min_size)
        except DependencyUnavailable:
            _log.warning("replica_unavailable_at_start")
            self._replica = await self._create_pool(self._replica_dsn, 0)
        except BaseException:
            await self._primary.close()
            self._primary = None
            raise
        self._report_usage(self._replica)

    async def close(self) -> None:
        measuring, self._measuring = self._measuring, None
        if measuring is not None:
            measuring.cancel()
        replica, primary = self._replica, self._primary
        self._replica = self._primary = None
        for pool in (replica, primary):
            if pool is not None:
                await self._close_pool(pool)

    async def _close_pool(self, pool: asyncpg.Pool) -> None:
        """`pool.close()` waits for every borrowed connection to come back, without a
        bound: one connection held by a stuck task would hang shutdown for ever. After
        `close_timeout_s` the close is cancelled, which makes asyncpg terminate the pool
        (its connections closed at once)."""
        try:
            await asyncio.wait_for(pool.close(), self._close_timeout_s)
        except TimeoutError:
            _log.warning("database_pool_terminated", timeout_s=self._close_timeout_s)

    @property
    def primary(self) -> asyncpg.Pool:
        if self._primary is None:
            raise RuntimeError("PostgresDatabase.start() has not been awaited")
        return self._primary

    @property
    def replica(self) -> asyncpg.Pool:
        """The replica pool, or the primary when no replica is configured."""
        return self._replica if self._replica is not None else self.primary

    @property
    def has_replica(self) -> bool:
        return self._replica is not None

    def role_of(self, pool: asyncpg.Pool) -> PoolRole:
        return "replica" if pool is self._replica else "primary"

    def _report_usage(self, pool: asyncpg.Pool) -> None:
        if self._on_pool_usage is not None:
            size = pool.get_size()
            self._on_pool_usage(self.role_of(pool), size, size - pool.get_idle_size())

    async def acquire(self, pool: asyncpg.Pool) -> PooledConnection:
        """`pool.acquire()`, reporting the wait and the pool's usage (a few counter
        updates, so cheap enough for every unit of work)."""
        started = time.perf_counter()
        connection: PooledConnection = await pool.acquire()
        if self._on_acquire_wait is not None:
            self._on_acquire_wait(self.role_of(pool), time.perf_counter() - started)
        self._report_usage(pool)
        return connection

    async def release(self, pool: asyncpg.Pool, connection: PooledConnection) -> None:
        await pool.release(connection)
        self._report_usage(pool)

    async def read_pool(self) -> asyncpg.Pool:
        """Where a read-only unit of work should run now."""
        if self._replica is None:
            return self.primary
        status = await self.replication_status()
        if not status.available:
            return self._fall_back("replica_down")
        if status.lag_s is not None and status.lag_s > self.replica_max_lag_s:
            return self._fall_back("replica_lagging")
        if self._route != "replica":
            _log.info("replica_reads_resumed", previous=self._route)
            self._route = "replica"
        return self._replica

    def _fall_back(self, reason: FallbackReason) -> asyncpg.Pool:
        self.fallbacks[reason] += 1
        if self._on_fallback is not None:
            self._on_fallback(reason)
        if self._route != reason:
            status = self._status
            _log.warning(
                "replica_fallback",
                reason=reason,
                lag_s=status.lag_s if status else None,
                error=status.error if status else None,
            )
            self._route = reason
        return self.primary

    def mark_replica_down(self, error: BaseException) -> None:
        """Reroutes reads at once after a failure seen by a unit of work."""
        if self._replica is None:
            return
        self._status = ReplicationStatus(
            configured=True, available=False, error=type(error).__name__
        )
        self._status_at = time.monotonic()

    async def replication_status(self, *, fresh: bool = False) -> ReplicationStatus:
        if self._replica is None:
            return ReplicationStatus(configured=False, available=False)
        if (
            not fresh
            and self._status is not None
            and time.monotonic() - self._status_at < self._status_ttl_s
        ):
            return self._status
        if self._measuring is None or self._measuring.done():
            self._measuring = asyncio.create_task(self._measure())
        if self._status is not None and not fresh:
            # Stale while revalidating: a request never waits for a measurement that a
            # dead primary (connect timeout) could stretch to seconds.
            return self._status
        # Shielded: one caller's cancellation must not cancel the others' measurement.
        return await asyncio.shield(self._measuring)

    async def _measure(self) -> ReplicationStatus:
        replica = self._replica
        if replica is None:  # closed meanwhile
            return ReplicationStatus(configured=False, available=False)
        timeout = min(self._connect_timeout_s, self._command_timeout_s)
        status = await measure_replication(self.primary, replica, timeout)
        if status.lag_s is not None and self._on_lag is not None:
            self._on_lag(status.lag_s)
        self._status, self._status_at = status, time.monotonic()
        return status

    async def ping(self, replica: bool = False) -> None:
        """Raises DependencyUnavailable unless the server answers a query in time."""
        pool = self.replica if replica else self.primary
        with translated_errors():
            async with pool.acquire(timeout=self._command_timeout_s) as connection:
                await connection.fetchval("SELECT 1", timeout=self._command_timeout_s)

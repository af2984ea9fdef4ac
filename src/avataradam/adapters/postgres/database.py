"""asyncpg connection pools for the primary and an optional read replica."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import asyncpg
import msgspec

from avataradam.adapters.postgres.errors import translated_errors
from avataradam.domain.errors import DependencyUnavailable

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

# Generic only in the type stubs, hence the string.
PooledConnection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"
"""The connection a unit of work borrows from a pool; repositories run on it."""


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


class PostgresDatabase:
    """Owns the pools. Read-only work goes to the replica when one is configured.

    `statement_cache_size=0` is needed behind a transaction-mode pooler (PgBouncer).
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
    ) -> None:
        self._dsn = dsn
        self._replica_dsn = replica_dsn
        self._min_size = min_size
        self._max_size = max_size
        self._command_timeout_s = command_timeout_s
        self._statement_cache_size = statement_cache_size
        self._primary: asyncpg.Pool | None = None
        self._replica: asyncpg.Pool | None = None

    async def _create_pool(self, dsn: str) -> asyncpg.Pool:
        with translated_errors():
            pool = await asyncpg.create_pool(
                dsn,
                min_size=self._min_size,
                max_size=self._max_size,
                command_timeout=self._command_timeout_s,
                statement_cache_size=self._statement_cache_size,
                init=_init_connection,
            )
        if pool is None:  # pragma: no cover - create_pool returns None only in a stub
            raise DependencyUnavailable("database pool was not created", dependency="postgres")
        return pool

    async def start(self) -> None:
        if self._primary is not None:
            return
        self._primary = await self._create_pool(self._dsn)
        if self._replica_dsn is not None:
            try:
                self._replica = await self._create_pool(self._replica_dsn)
            except BaseException:
                await self._primary.close()
                self._primary = None
                raise

    async def close(self) -> None:
        replica, primary = self._replica, self._primary
        self._replica = self._primary = None
        if replica is not None:
            await replica.close()
        if primary is not None:
            await primary.close()

    @property
    def primary(self) -> asyncpg.Pool:
        if self._primary is None:
            raise RuntimeError("PostgresDatabase.start() has not been awaited")
        return self._primary

    @property
    def replica(self) -> asyncpg.Pool:
        """The replica pool, or the primary when no replica is configured."""
        return self._replica if self._replica is not None else self.primary

    async def ping(self, replica: bool = False) -> None:
        """Raises DependencyUnavailable unless the server answers a query in time."""
        pool = self.replica if replica else self.primary
        with translated_errors():
            async with pool.acquire(timeout=self._command_timeout_s) as connection:
                await connection.fetchval("SELECT 1", timeout=self._command_timeout_s)

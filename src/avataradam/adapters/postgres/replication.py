"""How far the read replica is behind the primary, measured with two queries.

`lag_s` is 0 when the replica has replayed all the WAL the primary had written just
before the measurement (so an idle primary does not look like lag), else the age of
the last transaction it replayed.
"""

from __future__ import annotations

import asyncpg
import msgspec

from avataradam.adapters.postgres.errors import CONNECTION_ERRORS

_MEASUREMENT_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, asyncpg.PostgresError)

_PRIMARY_LSN = "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END"
_REPLICA_STATE = """
SELECT pg_is_in_recovery() AS in_recovery,
       pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn())::bigint AS behind_primary,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint
           AS replay_backlog,
       extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
           AS since_last_replay_s
"""


class ReplicationStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The replica as last measured.

    `lag_s` is how stale reads on the replica may be: 0 when it has replayed all the
    WAL the primary had written just before the measurement (so an idle primary does
    not look like lag), else the age of the last transaction it replayed. None when
    it could not be measured (the replica, or during a failover the primary, is down).
    """

    configured: bool
    available: bool
    in_recovery: bool | None = None
    lag_s: float | None = None
    lag_bytes: int | None = None
    error: str | None = None


def _lag(row: asyncpg.Record, primary_reachable: bool) -> tuple[float | None, int | None]:
    if not row["in_recovery"]:
        return 0.0, 0
    behind = row["behind_primary"] if primary_reachable else row["replay_backlog"]
    if behind is None:
        return None, None
    if behind <= 0:
        return 0.0, 0
    since_last_replay: float | None = row["since_last_replay_s"]
    return (since_last_replay if since_last_replay is not None else None), int(behind)


async def measure_replication(
    primary: asyncpg.Pool, replica: asyncpg.Pool, timeout_s: float
) -> ReplicationStatus:
    """The replica's state now; `available=False` (with the error's name) when it does
    not answer within `timeout_s` seconds. A primary that does not answer (during a
    failover) is no error: the replica's own replay backlog is used instead."""
    primary_lsn: str | None = None
    primary_reachable = False
    try:
        async with primary.acquire(timeout=timeout_s) as connection:
            primary_lsn = await connection.fetchval(_PRIMARY_LSN, timeout=timeout_s)
            primary_reachable = primary_lsn is not None
    except _MEASUREMENT_ERRORS:
        primary_reachable = False
    try:
        async with replica.acquire(timeout=timeout_s) as connection:
            row = await connection.fetchrow(_REPLICA_STATE, primary_lsn, timeout=timeout_s)
    except _MEASUREMENT_ERRORS as exc:
        await replica.expire_connections()
        return ReplicationStatus(configured=True, available=False, error=type(exc).__name__)
    assert row is not None  # noqa: S101 -- a SELECT without FROM returns one row
    lag_s, lag_bytes = _lag(row, primary_reachable)
    return ReplicationStatus(
        configured=True,
        available=True,
        in_recovery=row["in_recovery"],
        lag_s=lag_s,
        lag_bytes=lag_bytes,
    )

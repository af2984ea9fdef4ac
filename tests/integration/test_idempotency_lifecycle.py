"""Idempotency keys live for AVATARADAM_HTTP_IDEMPOTENCY_KEY_TTL_S, then a real worker
process purges them among its periodic duties (nothing else deletes them)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import asyncpg

from avataradam.entrypoints.container import Container
from tests.support.processes import ServiceProcess


async def _keys(pg_pool: asyncpg.Pool, scope: str) -> list[str]:
    rows = await pg_pool.fetch("SELECT key FROM idempotency_keys WHERE scope = $1", scope)
    return sorted(row["key"] for row in rows)


async def test_the_worker_purges_expired_keys_and_keeps_live_ones(
    container: Container, worker: ServiceProcess, pg_pool: asyncpg.Pool
) -> None:
    scope = f"test:{uuid.uuid4()}"
    now = container.clock.now()
    ttl = timedelta(seconds=container.settings.http.idempotency_key_ttl_s)
    async with container.uow() as uow:
        await uow.idempotency.claim(scope, "expired", "h", 201, b"{}", now - ttl - timedelta(1))
        await uow.idempotency.claim(scope, "live", "h", 201, b"{}", now - ttl / 2)
        await uow.commit()
    assert await _keys(pg_pool, scope) == ["expired", "live"]

    deadline = time.monotonic() + 30
    remaining = await _keys(pg_pool, scope)
    while remaining != ["live"] and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        remaining = await _keys(pg_pool, scope)

    assert remaining == ["live"]

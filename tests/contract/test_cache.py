"""Cache contract, run against every adapter: Redis and the in-memory twin."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from avataradam.adapters.redis.cache import RedisCache
from avataradam.domain.ports.services import Cache, CacheUnavailable


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


async def test_a_value_set_is_read_back_until_deleted(cache: Cache) -> None:
    key = _key()
    assert await cache.get(key) is None
    await cache.set(key, b"\x00payload", ttl_s=60)
    assert await cache.get(key) == b"\x00payload"
    await cache.delete(key)
    assert await cache.get(key) is None


async def test_a_value_expires_after_its_ttl(cache: Cache) -> None:
    key = _key()
    await cache.set_if_absent(key, b"v", ttl_s=0.2)
    assert await cache.get(key) == b"v"
    await asyncio.sleep(0.35)
    assert await cache.get(key) is None


async def test_only_one_of_many_concurrent_set_if_absent_wins(cache: Cache) -> None:
    key = _key()
    results = await asyncio.gather(
        *(cache.set_if_absent(key, str(i).encode(), ttl_s=10) for i in range(20))
    )
    assert results.count(True) == 1


async def test_an_unreachable_redis_raises_cache_unavailable() -> None:
    client = aioredis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    cache = RedisCache(client)
    with pytest.raises(CacheUnavailable):
        await cache.get("k")
    with pytest.raises(CacheUnavailable):
        await cache.set("k", b"v", ttl_s=1)
    with pytest.raises(CacheUnavailable):
        await cache.set_if_absent("k", b"v", ttl_s=1)
    with pytest.raises(CacheUnavailable):
        await cache.delete_if_equal("k", b"v")
    await client.aclose()


async def test_delete_if_equal_releases_only_the_holders_own_value(cache: Cache) -> None:
    key = _key()
    await cache.set(key, b"token-a", ttl_s=60)

    assert not await cache.delete_if_equal(key, b"token-b")
    assert await cache.get(key) == b"token-a"
    assert await cache.delete_if_equal(key, b"token-a")
    assert await cache.get(key) is None
    assert not await cache.delete_if_equal(key, b"token-a")

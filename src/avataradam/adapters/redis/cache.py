"""`Cache` on Redis (redis-py asyncio), shared by every API and worker instance."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from avataradam.domain.ports.services import CacheUnavailable

# Compare and delete in one atomic step: a lock whose holder outlived its TTL may now
# belong to another request, which a plain DEL would release.
_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisCache:
    """Byte values with expiry; every Redis failure surfaces as CacheUnavailable."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._delete_if_equal = client.register_script(_DELETE_IF_EQUAL)

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._client.get(key)
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(f"cache read failed: {type(exc).__name__}") from exc
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, *, ttl_s: int) -> None:
        try:
            await self._client.set(key, value, ex=ttl_s)
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(f"cache write failed: {type(exc).__name__}") from exc

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete(key)
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(f"cache delete failed: {type(exc).__name__}") from exc

    async def set_if_absent(self, key: str, value: bytes, *, ttl_s: float) -> bool:
        try:
            return bool(await self._client.set(key, value, px=max(1, int(ttl_s * 1000)), nx=True))
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(f"cache write failed: {type(exc).__name__}") from exc

    async def delete_if_equal(self, key: str, value: bytes) -> bool:
        try:
            return bool(await self._delete_if_equal(keys=[key], args=[value]))
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(f"cache delete failed: {type(exc).__name__}") from exc

"""`BudgetLedger` on Redis: per dealership and month, a hash of `used` and `reserved`
tokens, changed only by the two Lua scripts below.

Exactness. Each script runs atomically on the Redis primary, so a hold is decided
against every hold and settlement of every instance before it: the sum of the tokens
held and spent never exceeds the budget at the moment of any admission, however many
API processes reserve at once (the same standard as the rate limiter,
`adapters/redis/ratelimit.py`). One round trip per reserve and per settle (EVALSHA).

Rebuild. A missing hash (a new month, or Redis data lost) answers "missing"; the caller
sums the month's usage in PostgreSQL and reserves again with that seed, and the script
creates the hash only if no other call did meanwhile. A settlement on a missing hash
does nothing: its usage row is then in PostgreSQL, where the next rebuild finds it.

Availability. Any Redis failure raises `DependencyUnavailable`: an unenforceable
budget is refused (fail closed) rather than overspent. A dealership without a budget
reaches Redis only to add a reply's tokens to its month's counter when one exists (a
settlement with nothing reserved), so that a budget set later counts them.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.ports.services import BudgetHold

# KEYS[1]: the hash; ARGV: amount, budget, seed ('' for none), ttl (s).
# Returns {allowed (1/0, -1 = missing), used, reserved}.
RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[3] == '' then return {-1, 0, 0} end
  redis.call('HSET', KEYS[1], 'used', ARGV[3], 'reserved', 0)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
local used = tonumber(redis.call('HGET', KEYS[1], 'used'))
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved'))
if used + reserved + tonumber(ARGV[1]) > tonumber(ARGV[2]) then
  return {0, used, reserved}
end
return {1, used, redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[1])}
"""

# KEYS[1]: the hash; ARGV: reserved, spent. Returns the new used, or -1 when missing.
SETTLE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local reserved = redis.call('HINCRBY', KEYS[1], 'reserved', 0 - tonumber(ARGV[1]))
if reserved < 0 then redis.call('HSET', KEYS[1], 'reserved', 0) end
return redis.call('HINCRBY', KEYS[1], 'used', ARGV[2])
"""


class RedisBudgetLedger:
    """`BudgetLedger` shared by every instance through one Redis (see module docstring)."""

    def __init__(self, redis: Redis, key_prefix: str = "avataradam:budget:") -> None:
        self._prefix = key_prefix
        self._reserve = redis.register_script(RESERVE)
        self._settle = redis.register_script(SETTLE)

    async def reserve(
        self, key: str, amount: int, budget: int, *, seed: int | None, ttl_s: int
    ) -> BudgetHold | None:
        try:
            allowed, used, reserved = await self._reserve(
                keys=[self._prefix + key],
                args=[amount, budget, "" if seed is None else seed, max(ttl_s, 1)],
            )
        except (RedisError, OSError) as exc:
            raise DependencyUnavailable("usage budget store is unavailable") from exc
        if int(allowed) < 0:
            return None
        return BudgetHold(allowed=bool(int(allowed)), used=int(used), reserved=int(reserved))

    async def settle(self, key: str, *, reserved: int, spent: int) -> int | None:
        try:
            used = int(await self._settle(keys=[self._prefix + key], args=[reserved, spent]))
        except (RedisError, OSError) as exc:
            raise DependencyUnavailable("usage budget store is unavailable") from exc
        return None if used < 0 else used

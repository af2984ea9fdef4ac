"""`RateLimiter` on Redis: an exact sliding window log, one Lua script per request.

Why this algorithm. The guarantee wanted is *exact*: in any window of `window_s`
seconds at most `limit` requests are admitted, across every API instance.

- A sliding window log (a sorted set of admission times per key) gives exactly that.
  A request at `now` is admitted iff fewer than `limit` admissions lie in
  `(now - window, now]`; rejected requests are not recorded. Proof: let `t` be the
  last admission inside some half-open interval `[a, a + window)`; every other
  admission in it is `>= a > t - window`, so lies in `(t - window, t]`, where fewer
  than `limit` existed when `t` was admitted. Hence at most `limit` per interval. It
  is also tight: under sustained load each of the `limit` slots is reused as soon as
  its admission leaves the window, so every window sees exactly `limit`.
  Cost: O(limit) memory per key and O(log n) per call, fine for API-sized limits.
- GCRA with burst = limit and emission interval = window / limit is O(1) but bounds a
  *rate*, not a window: after a burst of `limit` at `t0` it admits one more at
  `t0 + window / limit`, i.e. up to `2 * limit - 1` in one window. Rejected.
- The `limits` library's async Redis moving window is the same log, but its async
  storage speaks through `coredis`, a second Redis client with its own pool,
  configuration and exceptions beside the redis-py client the project already runs.
  Twenty lines of Lua on the existing client are simpler to own. Rejected.

Atomicity and clocks. The script runs atomically on Redis (prune, count, add and
expire in one step, one round trip via EVALSHA; redis-py loads the script again only
after a SCRIPT FLUSH or failover). Time comes from Redis `TIME` inside the script, so
API instance clocks never matter; only the Redis primary's clock does. A backwards
step of that clock only keeps admissions counted longer (stricter); a forwards step
expires them early.

Several policies, one round trip. A request under a per-user and a per-dealership
policy is decided by one script over both keys, all or nothing: admitted iff both have
room, and a refused request consumes from neither (the user's refused retries do not
eat the dealership's budget). One call per request instead of one per policy halves
the limiter's Redis round trips on every limited route. A single-key call is Redis
Cluster safe; a multi-key call needs its keys in one hash slot, i.e. a single Redis
primary (the supported deployment) or hash-tagged keys.

Availability. Any Redis failure (refused, timeout, loading, read-only replica) calls
`on_unavailable(policy.name)` for each policy so metrics can count it, then admits if
every policy is `fail_open`, or else raises `DependencyUnavailable`. Give the client short socket
timeouts: the limiter sits in front of every request it guards.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from avataradam.adapters.memory.ratelimit import MICROS_PER_SECOND, require_valid_policy
from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.ports.services import RateDecision, RatePolicy

# KEYS[i]: sorted set of admission times (µs, also in the member, with a nonce) of the
# i-th policy; ARGV: limit_1, window_1 (µs), ..., limit_n, window_n, nonce.
# All or nothing: the request is added to every key iff every key has room.
# Returns {now, allowed_1, count_1, retry_at_1, newest_1, ..., allowed_n, ...}.
# Numbers go to redis.call via '%.0f': Lua's default '%.14g' would round µs stamps.
SLIDING_WINDOW_LOG = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local stamp = string.format('%.0f', now)
local member = stamp .. ':' .. ARGV[#ARGV]
local counts = {}
local admitted = true
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now - window))
  counts[i] = redis.call('ZCARD', key)
  if counts[i] >= limit then admitted = false end
end
local reply = {now}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local count = counts[i]
  local has_room = 0
  if count < limit then has_room = 1 end
  if admitted then
    redis.call('ZADD', key, stamp, member)
    count = count + 1
  end
  local retry_at = now
  local newest = now
  if count > 0 then
    if has_room == 0 then
      local index = count - limit
      retry_at = tonumber(redis.call('ZRANGE', key, index, index, 'WITHSCORES')[2]) + window
    end
    newest = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
    local ttl_ms = math.ceil((newest + window - now) / 1000)
    redis.call('PEXPIRE', key, string.format('%.0f', math.max(ttl_ms, 1)))
  end
  table.insert(reply, has_room)
  table.insert(reply, count)
  table.insert(reply, retry_at)
  table.insert(reply, newest)
end
return reply
"""


def _ignore(policy_name: str) -> None:
    """Default `on_unavailable`: nothing to count."""


class RedisRateLimiter:
    """`RateLimiter` shared by every instance through one Redis (see module docstring)."""

    def __init__(
        self,
        redis: Redis,
        key_prefix: str = "avataradam:rl:",
        *,
        on_unavailable: Callable[[str], None] = _ignore,
    ) -> None:
        self._key_prefix = key_prefix
        self._on_unavailable = on_unavailable
        self._redis = redis
        self._script = redis.register_script(SLIDING_WINDOW_LOG)

    async def hit(self, policy: RatePolicy, key: str) -> RateDecision:
        decisions, _ = await self._decide([(policy, key)])
        return decisions[0]

    async def hit_all(self, hits: Sequence[tuple[RatePolicy, str]]) -> list[RateDecision]:
        decisions, _ = await self._decide(hits)
        return decisions

    async def refund(self, hits: Sequence[tuple[RatePolicy, str]]) -> None:
        """ZPOPMAX of each key, in one round trip. Of concurrent requests on one key the
        newest admission goes, whichever request's it was: the count is exact, the
        remaining stamps may be those of a request a few milliseconds older."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for policy, key in hits:
                    pipe.zpopmax(f"{self._key_prefix}{policy.name}:{key}")
                await pipe.execute()
        except (RedisError, OSError):
            return  # the admission stays counted: stricter, never looser

    async def hit_and_time(self, policy: RatePolicy, key: str) -> tuple[RateDecision, int]:
        """The decision and the Redis time it was taken at (µs since the epoch).

        When Redis is unavailable and the policy fails open, the time is 0 and the
        decision admits with the full `limit` remaining.
        """
        decisions, now = await self._decide([(policy, key)])
        return decisions[0], now

    async def _decide(
        self, hits: Sequence[tuple[RatePolicy, str]]
    ) -> tuple[list[RateDecision], int]:
        args: list[int | str] = []
        for policy, _ in hits:
            require_valid_policy(policy)
            args += [policy.limit, policy.window_s * MICROS_PER_SECOND]
        try:
            reply = await self._script(
                keys=[f"{self._key_prefix}{policy.name}:{key}" for policy, key in hits],
                args=[*args, secrets.token_hex(8)],
            )
        except (RedisError, OSError) as exc:
            return self._unavailable(hits, exc), 0
        now = int(reply[0])
        decisions = []
        for index, (policy, _) in enumerate(hits):
            has_room, count, retry_at, newest = (
                int(v) for v in reply[1 + 4 * index : 5 + 4 * index]
            )
            window = policy.window_s * MICROS_PER_SECOND
            decisions.append(
                RateDecision(
                    allowed=bool(has_room),
                    policy=policy,
                    remaining=max(policy.limit - count, 0),
                    reset_after_s=(newest + window - now) / MICROS_PER_SECOND if count else 0.0,
                    retry_after_s=(retry_at - now) / MICROS_PER_SECOND,
                )
            )
        return decisions, now

    def _unavailable(
        self, hits: Sequence[tuple[RatePolicy, str]], exc: Exception
    ) -> list[RateDecision]:
        """Fail-open policies admit with their full limit; any fail-closed one raises."""
        for policy, _ in hits:
            self._on_unavailable(policy.name)
        closed = [policy.name for policy, _ in hits if not policy.fail_open]
        if closed:
            raise DependencyUnavailable(
                "rate limiter store is unavailable", policy=closed[0]
            ) from exc
        return [
            RateDecision(
                allowed=True,
                policy=policy,
                remaining=policy.limit,
                reset_after_s=0.0,
                retry_after_s=0.0,
            )
            for policy, _ in hits
        ]

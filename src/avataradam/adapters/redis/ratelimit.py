"""`RateLimiter` on Redis: an exact sliding window log, one Lua script per decision.

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
expires them early. One key per script keeps it Redis Cluster safe.

Availability. Any Redis failure (refused, timeout, loading, read-only replica) calls
`on_unavailable(policy.name)` so metrics can count it, then either admits
(`policy.fail_open`) or raises `DependencyUnavailable`. Give the client short socket
timeouts: the limiter sits in front of every request it guards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from avataradam.adapters.memory.ratelimit import MICROS_PER_SECOND, require_valid_policy
from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.ports.services import RateDecision, RatePolicy

# KEYS[1] sorted set of admission times (µs, also in the member with a nonce).
# ARGV: limit, window (µs), nonce. Returns {allowed, count, now, retry_at, newest}.
# Numbers go to redis.call via '%.0f': Lua's default '%.14g' would round µs stamps.
SLIDING_WINDOW_LOG = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now - window))
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, string.format('%.0f', now), string.format('%.0f', now) .. ':' .. ARGV[3])
  count = count + 1
  allowed = 1
end
local retry_at = now
local newest = now
if count > 0 then
  if allowed == 0 then
    local index = count - limit
    retry_at = tonumber(redis.call('ZRANGE', key, index, index, 'WITHSCORES')[2]) + window
  end
  newest = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
  local ttl_ms = math.ceil((newest + window - now) / 1000)
  redis.call('PEXPIRE', key, string.format('%.0f', math.max(ttl_ms, 1)))
end
return {allowed, count, now, retry_at, newest}
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
        self._script = redis.register_script(SLIDING_WINDOW_LOG)

    async def hit(self, policy: RatePolicy, key: str) -> RateDecision:
        decision, _ = await self.hit_and_time(policy, key)
        return decision

    async def hit_and_time(self, policy: RatePolicy, key: str) -> tuple[RateDecision, int]:
        """The decision and the Redis time it was taken at (µs since the epoch).

        When Redis is unavailable and the policy fails open, the time is 0 and the
        decision admits with the full `limit` remaining.
        """
        require_valid_policy(policy)
        window = policy.window_s * MICROS_PER_SECOND
        try:
            reply = await self._script(
                keys=[f"{self._key_prefix}{policy.name}:{key}"],
                args=[policy.limit, window, uuid.uuid4().hex],
            )
        except (RedisError, OSError) as exc:
            self._on_unavailable(policy.name)
            if not policy.fail_open:
                raise DependencyUnavailable(
                    "rate limiter store is unavailable", policy=policy.name
                ) from exc
            return RateDecision(
                allowed=True,
                policy=policy,
                remaining=policy.limit,
                reset_after_s=0.0,
                retry_after_s=0.0,
            ), 0
        allowed, count, now, retry_at, newest = (int(value) for value in reply)
        decision = RateDecision(
            allowed=bool(allowed),
            policy=policy,
            remaining=max(policy.limit - count, 0),
            reset_after_s=(newest + window - now) / MICROS_PER_SECOND if count else 0.0,
            retry_after_s=(retry_at - now) / MICROS_PER_SECOND,
        )
        return decision, now

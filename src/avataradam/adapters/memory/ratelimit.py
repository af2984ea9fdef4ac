"""In-memory `RateLimiter`: the same sliding window log as `RedisRateLimiter`, per process."""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from avataradam.domain.errors import InvalidInput
from avataradam.domain.ports.services import RateDecision, RatePolicy
from avataradam.domain.ports.system import Clock

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
MICROS_PER_SECOND = 1_000_000


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


class InMemoryRateLimiter:
    """`RateLimiter` twin of `RedisRateLimiter` with identical decisions for one process.

    Keeps, per policy name and key, the sorted times (µs from `clock`) of admitted
    requests. A request at `now` is admitted iff fewer than `limit` admitted requests
    lie in `(now - window, now]`; rejected requests are not recorded. So no half-open
    interval of `window_s` seconds ever holds more than `limit` admissions. Being
    per-process, it limits nothing across instances: use it for tests and the demo
    profile only. Never unavailable, so `fail_open` never comes into play.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._admitted: dict[str, list[int]] = {}

    async def hit(self, policy: RatePolicy, key: str) -> RateDecision:
        decision, _ = await self.hit_and_time(policy, key)
        return decision

    async def hit_all(self, hits: Sequence[tuple[RatePolicy, str]]) -> list[RateDecision]:
        decisions, _ = self._decide(hits)
        return decisions

    async def hit_and_time(self, policy: RatePolicy, key: str) -> tuple[RateDecision, int]:
        """The decision and the time it was taken at (µs since the epoch, limiter clock)."""
        decisions, now = self._decide([(policy, key)])
        return decisions[0], now

    async def refund(self, hits: Sequence[tuple[RatePolicy, str]]) -> None:
        for policy, key in hits:
            log = self._admitted.get(f"{policy.name}:{key}")
            if log:
                log.pop()
                if not log:
                    del self._admitted[f"{policy.name}:{key}"]

    def _decide(self, hits: Sequence[tuple[RatePolicy, str]]) -> tuple[list[RateDecision], int]:
        for policy, _ in hits:
            require_valid_policy(policy)
        now = _micros(self._clock.now())
        log_keys = [f"{policy.name}:{key}" for policy, key in hits]
        logs = [self._admitted.get(log_key, []) for log_key in log_keys]
        for log, (policy, _) in zip(logs, hits, strict=True):
            del log[: bisect_right(log, now - policy.window_s * MICROS_PER_SECOND)]
        admitted = all(len(log) < policy.limit for log, (policy, _) in zip(logs, hits, strict=True))
        decisions = []
        for log_key, log, (policy, _) in zip(log_keys, logs, hits, strict=True):
            window = policy.window_s * MICROS_PER_SECOND
            has_room = len(log) < policy.limit
            if admitted:
                insort(log, now)
                self._admitted[log_key] = log
            count = len(log)
            retry_at = now if has_room else log[count - policy.limit] + window
            decisions.append(
                RateDecision(
                    allowed=has_room,
                    policy=policy,
                    remaining=max(policy.limit - count, 0),
                    reset_after_s=(log[-1] + window - now) / MICROS_PER_SECOND if log else 0.0,
                    retry_after_s=(retry_at - now) / MICROS_PER_SECOND,
                )
            )
            if not log:
                self._admitted.pop(log_key, None)
        return decisions, now


def require_valid_policy(policy: RatePolicy) -> None:
    """A policy must admit at least one request per window of at least one second."""
    if policy.limit < 1 or policy.window_s < 1:
        raise InvalidInput(
            f"rate policy {policy.name} needs limit >= 1 and window_s >= 1",
            policy=policy.name,
        )

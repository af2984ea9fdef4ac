"""In-memory `BudgetLedger`: the same decisions as `RedisBudgetLedger`, per process."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from avataradam.domain.ports.services import BudgetHold
from avataradam.domain.ports.system import Clock


@dataclasses.dataclass(slots=True)
class _Counter:
    used: int
    reserved: int
    expires_at: datetime


class InMemoryBudgetLedger:
    """Counters in a dict; exact within one process only (tests and the demo profile)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._counters: dict[str, _Counter] = {}

    def _get(self, key: str) -> _Counter | None:
        counter = self._counters.get(key)
        if counter is not None and counter.expires_at <= self._clock.now():
            del self._counters[key]
            return None
        return counter

    async def reserve(
        self, key: str, amount: int, budget: int, *, seed: int | None, ttl_s: int
    ) -> BudgetHold | None:
        counter = self._get(key)
        if counter is None:
            if seed is None:
                return None
            counter = _Counter(seed, 0, self._clock.now() + timedelta(seconds=ttl_s))
            self._counters[key] = counter
        if counter.used + counter.reserved + amount > budget:
            return BudgetHold(allowed=False, used=counter.used, reserved=counter.reserved)
        counter.reserved += amount
        return BudgetHold(allowed=True, used=counter.used, reserved=counter.reserved)

    async def settle(self, key: str, *, reserved: int, spent: int) -> int | None:
        counter = self._get(key)
        if counter is None:
            return None
        counter.reserved = max(counter.reserved - reserved, 0)
        counter.used += spent
        return counter.used

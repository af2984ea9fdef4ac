"""`SharedAnswerCache`: the `AnswerCache` port over the shared cache.

Single flight across instances: the first request to miss takes a lock and asks the
model; the others wait for its answer as long as the lock is held (a generation takes
seconds), then serve it. A holder that fails releases the lock at once; one that died
loses it when it expires, and a waiter then asks the model itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from avataradam.adapters.caching.single_flight import SharedValues
from avataradam.domain.answers import CachedAnswer
from avataradam.domain.ports.services import Cache, Telemetry
from avataradam.domain.ports.system import Clock


class AnswerCacheOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Built from Settings (entrypoints/options.py), which hold the defaults."""

    enabled: bool
    ttl_s: int
    lock_ttl_s: float
    """How long a generating request holds the key: longer than a slow reply takes."""
    wait_for_peer_s: float
    poll_interval_s: float


class SharedAnswerCache:
    """`AnswerCache` on a `Cache`: answers msgpack-encoded, kept `ttl_s` seconds, each
    generated once across instances. Reports `cache_result("answer", outcome)`."""

    def __init__(
        self,
        cache: Cache,
        telemetry: Telemetry,
        clock: Clock,
        options: AnswerCacheOptions,
    ) -> None:
        self._telemetry, self._options = telemetry, options
        self._answers = SharedValues(cache, clock, CachedAnswer, ttl_s=options.ttl_s, waits=options)

    @property
    def enabled(self) -> bool:
        return self._options.enabled

    async def answer(
        self, key: str, generate: Callable[[], Awaitable[CachedAnswer]]
    ) -> tuple[CachedAnswer, str]:
        """(answer, outcome): `hit` served from the cache (no model call), `miss` asked
        the model and shared the answer, `bypass` asked the model without the cache
        (disabled or unreachable)."""
        if not self._options.enabled:
            return await generate(), "bypass"
        answer, outcome = await self._answers.get_or_compute(key, generate)
        self._telemetry.cache_result("answer", outcome)
        return answer, outcome

"""In-memory twin of the `Cache` port."""

from __future__ import annotations

import time

from avataradam.domain.ports.services import CacheUnavailable


class InMemoryCache:
    """Process-local cache with expiry; `available=False` simulates an outage."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[bytes, float]] = {}
        self.available = True

    def _check(self) -> None:
        if not self.available:
            raise CacheUnavailable("in-memory cache switched off")

    def _live(self, key: str) -> bytes | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at <= time.monotonic():
            del self._values[key]
            return None
        return value

    async def get(self, key: str) -> bytes | None:
        self._check()
        return self._live(key)

    async def set(self, key: str, value: bytes, *, ttl_s: int) -> None:
        self._check()
        self._values[key] = (value, time.monotonic() + ttl_s)

    async def delete(self, key: str) -> None:
        self._check()
        self._values.pop(key, None)

    async def set_if_absent(self, key: str, value: bytes, *, ttl_s: float) -> bool:
        self._check()
        if self._live(key) is not None:
            return False
        self._values[key] = (value, time.monotonic() + ttl_s)
        return True

    async def delete_if_equal(self, key: str, value: bytes) -> bool:
        self._check()
        if self._live(key) != value:
            return False
        del self._values[key]
        return True

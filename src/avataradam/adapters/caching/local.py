"""Retrieval results kept in this process, in front of the shared cache."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from avataradam.domain.ports.system import Clock
from avataradam.domain.retrieval import SearchHit


class LocalResults:
    """A bounded LRU of immutable retrieval results with the shared cache's expiry
    (`ttl_s`, measured by `clock.monotonic`); `max_entries` below 1 keeps nothing.
    Keys are any hashable value that names the result exactly (`CachingRetriever` uses
    the `RetrievalRequest` itself, so a hit computes no shared-cache key)."""

    def __init__(self, max_entries: int, ttl_s: float, clock: Clock) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, list[SearchHit]]] = OrderedDict()
        self._max_entries, self._ttl_s, self._clock = max_entries, ttl_s, clock

    def get(self, key: Hashable) -> list[SearchHit] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, hits = entry
        if self._clock.monotonic() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return hits

    def put(self, key: Hashable, hits: list[SearchHit]) -> None:
        if self._max_entries < 1:
            return
        self._entries[key] = (self._clock.monotonic() + self._ttl_s, hits)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

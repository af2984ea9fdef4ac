"""The answer cache port: checked training answers computed once, then shared."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from avataradam.domain.answers import CachedAnswer


class AnswerCache(Protocol):
    """`answer(key, generate)`: the answer stored under `key` (see `domain.answers` for
    the key's rules), or `generate()`'s, computed once across every instance."""

    @property
    def enabled(self) -> bool:
        """False: every `answer` asks `generate` (the caller then needs no key)."""
        ...

    async def answer(
        self, key: str, generate: Callable[[], Awaitable[CachedAnswer]]
    ) -> tuple[CachedAnswer, str]:
        """(answer, outcome): `hit` served from the cache (no `generate` call), `miss`
        generated here and shared, `bypass` generated without the cache (disabled or
        unreachable). Raises what `generate` raises."""
        ...

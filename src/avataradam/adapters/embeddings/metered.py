"""Measures any `Embedder`: one timed call per batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from avataradam.domain.ports.capabilities import embed_queries
from avataradam.domain.ports.knowledge import Embedder

CallTimer = Callable[[str], AbstractContextManager[None]]


class MeteredEmbedder:
    """Implements `Embedder` around another; `time_call(operation)` is bound by the
    composition root to metrics and tracing, so this adapter needs neither library.
    `calls` counts batches sent, for tests and benchmarks. Capabilities of the wrapped
    embedder (domain/ports/capabilities.py) are reached through `inner`."""

    def __init__(self, inner: Embedder, *, time_call: CallTimer) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dimension = inner.dimension
        self._time_call = time_call
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        with self._time_call("embed"):
            return await self.inner.embed(texts)

    async def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        with self._time_call("embed"):
            return await embed_queries(self.inner, texts)

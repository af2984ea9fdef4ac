"""`CachingEmbedder`: query embeddings read through the shared cache."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import msgspec

from avataradam.domain.ports.capabilities import embed_queries
from avataradam.domain.ports.knowledge import Embedder
from avataradam.domain.ports.services import Cache, CacheUnavailable, Telemetry
from avataradam.domain.retrieval import embedding_key

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[float])


class CachingEmbedder:
    """Implements `Embedder` around another, each text's vector kept `ttl_s` seconds
    under `domain.retrieval.embedding_key`. For the query side (`embed_queries`, the
    texts are normalised queries); `embed` (passages) is not cached. Reports
    `cache_result("embedding", hit | miss | bypass)` per query; an unreachable cache
    only costs the computation."""

    def __init__(self, inner: Embedder, cache: Cache, telemetry: Telemetry, *, ttl_s: int) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dimension = inner.dimension
        self._cache, self._telemetry, self._ttl_s = cache, telemetry, ttl_s

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Passages: not cached (ingestion embeds each once)."""
        return await self.inner.embed(texts)

    async def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float] | None] = [await self._cached(text) for text in texts]
        missing = [i for i, vector in enumerate(vectors) if vector is None]
        if missing:
            computed = await embed_queries(self.inner, [texts[i] for i in missing])
            for i, vector in zip(missing, computed, strict=True):
                vectors[i] = vector
                self._telemetry.cache_result("embedding", "miss")
                with contextlib.suppress(CacheUnavailable):
                    await self._cache.set(
                        embedding_key(self.model_name, texts[i]),
                        _encoder.encode(vector),
                        ttl_s=self._ttl_s,
                    )
        return [vector for vector in vectors if vector is not None]

    async def _cached(self, text: str) -> list[float] | None:
        try:
            cached = await self._cache.get(embedding_key(self.model_name, text))
        except CacheUnavailable:
            self._telemetry.cache_result("embedding", "bypass")
            return None
        if cached is None:
            return None
        self._telemetry.cache_result("embedding", "hit")
        return _decoder.decode(cached)

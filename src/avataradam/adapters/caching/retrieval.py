"""`CachingRetriever`: retrieval results shared through the cache, and kept in process.

A retrieval key names the dealership's knowledge-base generation (`domain.retrieval`),
so the value under a key never changes: no invalidation, and an in-process copy is
always as good as the shared one.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from avataradam.adapters.caching.embeddings import CachingEmbedder
from avataradam.adapters.caching.local import LocalResults
from avataradam.adapters.caching.single_flight import SharedValues
from avataradam.domain.embedding_text import PassageText
from avataradam.domain.ports.knowledge import Embedder, KeywordSearch, VectorIndex
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.retrieval import Retriever
from avataradam.domain.ports.services import Cache, Telemetry
from avataradam.domain.ports.system import Clock
from avataradam.domain.profiles import VectorProfiles, profiles_of
from avataradam.domain.retrieval import (
    KnowledgeBaseRetriever,
    RetrievalRequest,
    SearchHit,
    SearchResult,
    retrieval_key,
)


class CacheOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Built from Settings (entrypoints/options.py), which hold the defaults."""

    enabled: bool
    retrieval_ttl_s: int
    embedding_ttl_s: int
    lock_ttl_s: float
    """How long a computing request holds the key; a crashed holder's lock expires."""
    wait_for_peer_s: float
    """Longest wait for others' work, after which a request computes uncached."""
    poll_interval_s: float
    local_entries: int
    """Retrieval results also kept in this process (LRU, 0 = off): a hot question then
    costs no cache round trip. Safe because a retrieval key names the knowledge-base
    generation, so the value under a key never changes."""


class CachingRetriever:
    """Implements `Retriever` around another: the process's LRU first, then the shared
    cache with single flight (one computation per key across every instance). Reports
    `cache_result("retrieval", hit | miss | bypass)`, and a `cache_unavailable` event
    when the shared cache could not be used."""

    def __init__(
        self,
        inner: Retriever,
        cache: Cache,
        telemetry: Telemetry,
        clock: Clock,
        *,
        model: str | Callable[[str | None], str],
        options: CacheOptions,
        ranking: str = "vector",
    ) -> None:
        """`model`: what keys name as the vectors' maker, per the request's profile
        (`VectorProfiles.space`; a string: the same for every profile); `ranking`: how
        `inner` ranks passages (`KnowledgeBaseRetriever.ranking`)."""
        self._inner, self._telemetry, self._ranking = inner, telemetry, ranking
        self._model = model if callable(model) else (lambda _profile: model)
        self._local = LocalResults(options.local_entries, options.retrieval_ttl_s, clock)
        self._results = SharedValues(
            cache, clock, list[SearchHit], ttl_s=options.retrieval_ttl_s, waits=options
        )

    async def retrieve(self, request: RetrievalRequest) -> SearchResult:
        # The request names the result as exactly as its key (one model per instance),
        # so the process's LRU is looked up by the request: a hit hashes no key.
        local = self._local.get(request)
        if local is not None:
            self._telemetry.cache_result("retrieval", "hit")
            return SearchResult(hits=local, cache="hit")
        key = retrieval_key(
            dealership_id=request.dealership_id,
            generation=request.generation,
            normalised=request.normalised,
            topics=request.topics,
            top_k=request.top_k,
            model=f"{self._model(request.vectors.profile)}@{request.vectors.generation}",
            ranking=self._ranking,
        )

        async def compute() -> list[SearchHit]:
            return (await self._inner.retrieve(request)).hits

        hits, outcome = await self._results.get_or_compute(key, compute)
        if outcome == "bypass":
            self._telemetry.event("cache_unavailable", key_kind=key.split(":", 2)[1])
        self._telemetry.cache_result("retrieval", outcome)
        self._local.put(request, hits)
        return SearchResult(hits=hits, cache=outcome)


def knowledge_base_retriever(
    uow: UnitOfWorkFactory,
    embedder: Embedder | VectorProfiles,
    index: VectorIndex,
    *,
    cache: Cache,
    telemetry: Telemetry,
    clock: Clock,
    options: CacheOptions,
    keywords: KeywordSearch | None = None,
    sparse: bool = False,
) -> Retriever:
    """The knowledge base's `Retriever` behind the retrieval and query-embedding caches,
    or uncached when `options.enabled` is false (every result then says `bypass`).
    Retrieval keys name the space of the request's vector profile (what the passages'
    vectors were made by: the model and the embedded-text format, `VectorProfiles.space`)
    and its generation; query embeddings are keyed by the model alone (a question is
    embedded as asked, whatever the passages' format). With `keywords` (and `sparse`),
    the vector ranking is fused with the keyword search's (and the sparse vectors',
    where the embedder and index have them): `domain.fusion`; keys say so."""
    profiles = profiles_of(embedder)
    if not options.enabled:
        return KnowledgeBaseRetriever(uow, profiles, index, keywords, sparse=sparse)
    inner = KnowledgeBaseRetriever(
        uow,
        CachingProfiles(profiles, cache, telemetry, options.embedding_ttl_s),
        index,
        keywords,
        sparse=sparse,
    )
    return CachingRetriever(
        inner,
        cache,
        telemetry,
        clock,
        model=profiles.space,
        options=options,
        ranking=inner.ranking,
    )


class CachingProfiles:
    """Implements `VectorProfiles` around another, each profile's embedder behind the
    query-embedding cache (`CachingEmbedder`, made once per embedder)."""

    def __init__(
        self, inner: VectorProfiles, cache: Cache, telemetry: Telemetry, ttl_s: int
    ) -> None:
        self._inner, self._cache, self._telemetry, self._ttl_s = inner, cache, telemetry, ttl_s
        self._cached: dict[int, CachingEmbedder] = {}

    @property
    def configured(self) -> str:
        return self._inner.configured

    def embedder(self, profile: str | None) -> Embedder:
        inner = self._inner.embedder(profile)
        cached = self._cached.get(id(inner))
        if cached is None or cached.inner is not inner:
            cached = CachingEmbedder(inner, self._cache, self._telemetry, ttl_s=self._ttl_s)
            self._cached[id(inner)] = cached
        return cached

    def passage_text(self, profile: str | None) -> PassageText:
        return self._inner.passage_text(profile)

    def space(self, profile: str | None) -> str:
        return self._inner.space(profile)

"""Retrieval over a dealership's knowledge base, cached in the shared cache.

Cache keys carry the dealership's knowledge-base generation, which is bumped in the
same transaction that makes a document ready or starts deleting one: a changed
knowledge base can never be answered from a stale entry, with no TTL guesswork.
Only chunks of `ready` documents are served, and the vectors of other documents are
kept out of the vector query itself, so they never crowd the `top_k` out.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope
from avataradam.domain.errors import InvalidInput, NotFound
from avataradam.domain.model import Topic
from avataradam.domain.ports.knowledge import Embedder, VectorIndex, VectorMatch
from avataradam.domain.ports.repositories.identity import GenerationReader
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import Cache, CacheUnavailable, Telemetry
from avataradam.domain.usecases.singleflight import single_flight

T = TypeVar("T")
MAX_QUERY_CHARS = 2000
MAX_TOP_K = 50
MAX_FETCH = 1000
"""Most vectors one search asks the index for while fetching past unservable ones."""


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    chunk_id: str
    document_id: UUID
    filename: str
    topic: Topic
    text: str
    score: float
    page: int | None = None
    section: str | None = None


class SearchResult(msgspec.Struct, frozen=True, kw_only=True):
    hits: list[SearchHit]
    cache: str
    """hit | miss | bypass"""

    @property
    def cached(self) -> bool:
        return self.cache == "hit"


class SearchQuery(msgspec.Struct, frozen=True, kw_only=True):
    query: str
    topics: tuple[Topic, ...] | None = None
    top_k: int = 5
    dealership_id: UUID | None = None


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


_SPACE = re.compile(r"\s+")


def normalise_query(text: str) -> str:
    """Unicode NFKC, case-folded, whitespace collapsed: equal questions share a key."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def embedding_key(model: str, normalised: str) -> str:
    return f"avataradam:emb:{model}:{_digest(normalised)}"


def retrieval_key(
    *,
    dealership_id: UUID,
    generation: int,
    normalised: str,
    topics: Sequence[Topic] | None,
    top_k: int,
    model: str,
) -> str:
    topic_part = ",".join(sorted(t.value for t in topics)) if topics else "*"
    return (
        f"avataradam:ret:{dealership_id}:{generation}:{model}:{top_k}:{topic_part}:"
        f"{_digest(normalised)}"
    )


_hits_encoder = msgspec.msgpack.Encoder()
_hits_decoder = msgspec.msgpack.Decoder(list[SearchHit])
_vector_decoder = msgspec.msgpack.Decoder(list[float])


class LocalResults:
    """A bounded LRU of immutable retrieval results with the shared cache's expiry."""

    def __init__(self, max_entries: int, ttl_s: float) -> None:
        self._entries: OrderedDict[str, tuple[float, list[SearchHit]]] = OrderedDict()
        self._max_entries, self._ttl_s = max_entries, ttl_s

    def get(self, key: str) -> list[SearchHit] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, hits = entry
        if time.monotonic() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return hits

    def put(self, key: str, hits: list[SearchHit]) -> None:
        if self._max_entries < 1:
            return
        self._entries[key] = (time.monotonic() + self._ttl_s, hits)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class SearchKnowledgeBase:
    """Query -> ranked passages of the caller's dealership only."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        generations: GenerationReader,
        embedder: Embedder,
        index: VectorIndex,
        cache: Cache,
        telemetry: Telemetry,
        options: CacheOptions,
    ) -> None:
        self._uow, self._generations = uow, generations
        self._embedder, self._index = embedder, index
        self._cache, self._telemetry = cache, telemetry
        self._options = options
        self._local = LocalResults(self._options.local_entries, self._options.retrieval_ttl_s)

    async def __call__(self, principal: Principal, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        dealership_id = dealership_scope(principal, query.dealership_id)
        normalised = normalise_query(query.query)
        if not normalised or len(normalised) > MAX_QUERY_CHARS:
            raise InvalidInput(f"query must be 1 to {MAX_QUERY_CHARS} characters", field="query")
        if not 1 <= query.top_k <= MAX_TOP_K:
            raise InvalidInput(f"top_k must be between 1 and {MAX_TOP_K}", field="top_k")
        generation = await self._generations.generation(dealership_id)
        if generation is None:
            raise NotFound("dealership not found")
        result = await self.retrieve(
            dealership_id=dealership_id,
            generation=generation,
            normalised=normalised,
            topics=query.topics,
            top_k=query.top_k,
        )
        self._telemetry.event(
            "rag_query",
            results_count=len(result.hits),
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            cache=result.cache,
            top_k=query.top_k,
        )
        return result

    async def retrieve(
        self,
        *,
        dealership_id: UUID,
        generation: int,
        normalised: str,
        topics: Sequence[Topic] | None,
        top_k: int,
    ) -> SearchResult:
        async def compute() -> list[SearchHit]:
            return await self._search(dealership_id, normalised, topics, top_k)

        if not self._options.enabled:
            return SearchResult(hits=await compute(), cache="bypass")
        key = retrieval_key(
            dealership_id=dealership_id,
            generation=generation,
            normalised=normalised,
            topics=topics,
            top_k=top_k,
            model=self._embedder.model_name,
        )
        local = self._local.get(key)
        if local is not None:
            self._telemetry.cache_result("retrieval", "hit")
            return SearchResult(hits=local, cache="hit")
        options = self._options
        hits, outcome = await single_flight(
            self._cache,
            key,
            compute,
            encode=_hits_encoder.encode,
            decode=_hits_decoder.decode,
            ttl_s=options.retrieval_ttl_s,
            lock_ttl_s=options.lock_ttl_s,
            wait_for_peer_s=options.wait_for_peer_s,
            poll_interval_s=options.poll_interval_s,
        )
        if outcome == "bypass":
            self._telemetry.event("cache_unavailable", key_kind=key.split(":", 2)[1])
        self._telemetry.cache_result("retrieval", outcome)
        self._local.put(key, hits)
        return SearchResult(hits=hits, cache=outcome)

    async def _embed(self, normalised: str) -> list[float]:
        key = embedding_key(self._embedder.model_name, normalised)
        try:
            cached = await self._cache.get(key) if self._options.enabled else None
        except CacheUnavailable:
            cached = None
            self._telemetry.cache_result("embedding", "bypass")
        else:
            if cached is not None:
                self._telemetry.cache_result("embedding", "hit")
                return _vector_decoder.decode(cached)
        [vector] = await self._embedder.embed([normalised])
        if self._options.enabled:
            self._telemetry.cache_result("embedding", "miss")
            with contextlib.suppress(CacheUnavailable):
                await self._cache.set(
                    key, _hits_encoder.encode(vector), ttl_s=self._options.embedding_ttl_s
                )
        return vector

    async def _search(
        self,
        dealership_id: UUID,
        normalised: str,
        topics: Sequence[Topic] | None,
        top_k: int,
    ) -> list[SearchHit]:
        """The `top_k` best servable passages: chunks of `ready` documents only.

        Vectors of documents that are not ready (being written, failed, deleting) stay in
        the index until removed, so they must never take a place among the `top_k`
        (a search would starve while a well-matching document is deleted). One vector
        query suffices unless its page holds unservable vectors. Then the documents that
        are not ready are excluded inside the next query; vectors still left without a
        servable chunk (an older chunking's leftovers, or deletes an eventually
        consistent index has not applied yet) are fetched past, fourfold more each
        round, up to `MAX_FETCH` vectors.
        """
        vector = await self._embed(normalised)
        wanted = list(topics) if topics else None
        excluded: set[UUID] | None = None
        fetch = top_k
        while True:
            matches = await self._index.query(
                str(dealership_id),
                vector,
                top_k=fetch,
                topics=wanted,
                exclude_documents=excluded or (),
            )
            hits = await self._servable(dealership_id, matches)
            if len(hits) >= top_k or len(matches) < fetch or fetch >= MAX_FETCH:
                return hits[:top_k]
            if excluded is None:
                async with self._uow(read_only=True) as uow:
                    excluded = set(await uow.documents.not_ready_ids(dealership_id))
                served = {hit.chunk_id for hit in hits}
                leftovers = sum(
                    1 for m in matches if m.id not in served and m.document_id not in excluded
                )
                fetch = min(top_k + leftovers, MAX_FETCH)
            else:
                fetch = min(4 * fetch, MAX_FETCH)

    async def _servable(
        self, dealership_id: UUID, matches: Sequence[VectorMatch]
    ) -> list[SearchHit]:
        """The matches whose chunk is servable (its document `ready`), in match order."""
        if not matches:
            return []
        async with self._uow(read_only=True) as uow:
            chunks = {
                c.id: c
                for c in await uow.chunks.get_many(
                    [m.id for m in matches], dealership_id=dealership_id
                )
            }
        return [
            SearchHit(
                chunk_id=m.id,
                document_id=chunks[m.id].document_id,
                filename=chunks[m.id].filename,
                topic=chunks[m.id].topic,
                text=chunks[m.id].text,
                score=round(m.score, 6),
                page=chunks[m.id].page,
                section=chunks[m.id].section,
            )
            for m in matches
            if m.id in chunks
        ]

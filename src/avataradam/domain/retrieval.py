"""Retrieval over a dealership's knowledge base: what a search returns, the rules of its
cache keys, and the uncached retrieval that serves chunks of `ready` documents only.

Cache keys carry the dealership's knowledge-base generation, which is bumped in the
same transaction that makes a document ready or starts deleting one: a changed
knowledge base can never be answered from a stale entry, with no TTL guesswork. The
caches themselves are adapters (`adapters/caching`) around the `Retriever` port.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from functools import partial
from uuid import UUID

import msgspec

from avataradam.domain import fusion
from avataradam.domain.glossary_es import english_terms
from avataradam.domain.model import Chunk, Topic
from avataradam.domain.ports.capabilities import (
    SparseSearch,
    embed_queries,
    embed_sparse,
    undecorated,
)
from avataradam.domain.ports.knowledge import Embedder, KeywordSearch, VectorIndex, VectorMatch
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.profiles import VectorProfiles, profiles_of
from avataradam.domain.vectors import ActiveVectors, namespace

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


class RetrievalRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One retrieval: the `top_k` best passages of a dealership's knowledge base (at
    `generation`) for a normalised query, of `topics` only when given."""

    dealership_id: UUID
    generation: int
    normalised: str
    topics: tuple[Topic, ...] | None
    top_k: int
    vectors: ActiveVectors = ActiveVectors()
    """The vector generation searched, and the profile whose embedder embeds the query."""


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
    ranking: str = "vector",
) -> str:
    """`ranking`: how passages are ranked (`vector`, or the keyword fusion's
    `fusion.NAME`), so a change of it never serves another ranking's results."""
    topic_part = ",".join(sorted(t.value for t in topics)) if topics else "*"
    return (
        f"avataradam:ret:{dealership_id}:{generation}:{model}:{ranking}:{top_k}:{topic_part}:"
        f"{_digest(normalised)}"
    )


class KnowledgeBaseRetriever:
    """`Retriever` straight from the vector index and the chunks: never cached, so its
    results say `bypass`. With `keywords`, the vector ranking is fused with the keyword
    search's; with `sparse`, with the sparse vectors' too where the profile's embedder
    makes them and the index keeps them (`domain.fusion`)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        embedders: Embedder | VectorProfiles,
        index: VectorIndex,
        keywords: KeywordSearch | None = None,
        *,
        sparse: bool = False,
    ) -> None:
        """`embedders`: the query embedder of each profile (one `Embedder`: for all)."""
        self._uow, self._profiles, self._index = uow, profiles_of(embedders), index
        self._keywords = keywords
        self._sparse = _sparse_search(index) if sparse else None

    @property
    def ranking(self) -> str:
        """What retrieval keys name as the ranking (`retrieval_key`)."""
        return fusion.name(keywords=self._keywords is not None, sparse=self._sparse is not None)

    async def retrieve(self, request: RetrievalRequest) -> SearchResult:
        embedder = self._profiles.embedder(request.vectors.profile)
        [vector] = await embed_queries(embedder, [request.normalised])
        space = namespace(request.dealership_id, request.vectors.generation)
        if self._keywords is None and self._sparse is None:
            hits = await self._search(
                request.dealership_id, space, vector, request.topics, request.top_k
            )
            return SearchResult(hits=hits, cache="bypass")
        depth = max(request.top_k, fusion.DEPTH)
        ranked = await self._search(request.dealership_id, space, vector, request.topics, depth)
        others: list[list[str]] = []
        if self._sparse is not None:
            found = await embed_sparse(embedder, [request.normalised])
            if found:
                matches = await self._sparse.query_sparse(
                    space, found[0], top_k=fusion.DEPTH, topics=request.topics
                )
                others.append([m.id for m in matches])
        if self._keywords is not None:
            # The question's words, then its Spanish F&I terms in English (if any).
            queries = filter(None, (request.normalised, english_terms(request.normalised)))
            others += [
                await self._keywords.search(
                    request.dealership_id, query, topics=request.topics, limit=fusion.DEPTH
                )
                for query in queries
            ]
        hits = await fusion.fuse(
            ranked,
            others,
            top_k=request.top_k,
            complete=len(ranked) >= depth,
            fetch=partial(self._passages, request.dealership_id),
        )
        return SearchResult(hits=hits, cache="bypass")

    async def _search(
        self,
        dealership_id: UUID,
        vector_namespace: str,
        vector: list[float],
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
        wanted = list(topics) if topics else None
        excluded: set[UUID] | None = None
        fetch = top_k
        while True:
            matches = await self._index.query(
                vector_namespace,
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
        return [_hit(chunks[m.id], m.score) for m in matches if m.id in chunks]

    async def _passages(self, dealership_id: UUID, chunk_ids: list[str]) -> list[SearchHit]:
        """The servable ones of these chunks, in order, scored 0.0 (no cosine known)."""
        async with self._uow(read_only=True) as uow:
            chunks = await uow.chunks.get_many(chunk_ids, dealership_id=dealership_id)
        return [_hit(chunk, 0.0) for chunk in chunks]


def _sparse_search(index: VectorIndex) -> SparseSearch | None:
    """The index itself, or the one under its decorators, when it searches sparse
    vectors (`SparseSearch`); else None."""
    for candidate in (index, undecorated(index)):
        if isinstance(candidate, SparseSearch):
            return candidate
    return None


def _hit(chunk: Chunk, score: float) -> SearchHit:
    return SearchHit(
        chunk_id=chunk.id,
        document_id=chunk.document_id,
        filename=chunk.filename,
        topic=chunk.topic,
        text=chunk.text,
        score=round(score, 6),
        page=chunk.page,
        section=chunk.section,
    )

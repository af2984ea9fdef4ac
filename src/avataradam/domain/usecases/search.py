"""Search over a dealership's knowledge base: the caller's query, validated, answered by
the `Retriever` at the dealership's current knowledge-base generation.

What is served (chunks of `ready` documents only) and the cache keys' rules live in
`domain.retrieval`; the caches are adapters around the `Retriever` port.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope
from avataradam.domain.errors import InvalidInput, NotFound
from avataradam.domain.model import Topic
from avataradam.domain.ports.repositories.identity import GenerationReader
from avataradam.domain.ports.retrieval import Retriever
from avataradam.domain.ports.services import Telemetry
from avataradam.domain.ports.system import Clock
from avataradam.domain.retrieval import RetrievalRequest, SearchResult, normalise_query
from avataradam.domain.vectors import CONFIGURED, ActiveVectors

MAX_QUERY_CHARS = 2000
MAX_TOP_K = 50


class SearchQuery(msgspec.Struct, frozen=True, kw_only=True):
    query: str
    topics: tuple[Topic, ...] | None = None
    top_k: int = 5
    dealership_id: UUID | None = None


class SearchKnowledgeBase:
    """Query -> ranked passages of the caller's dealership only."""

    def __init__(
        self,
        generations: GenerationReader,
        retriever: Retriever,
        telemetry: Telemetry,
        clock: Clock,
    ) -> None:
        self._generations, self._retriever = generations, retriever
        self._telemetry, self._clock = telemetry, clock

    async def __call__(self, principal: Principal, query: SearchQuery) -> SearchResult:
        started = self._clock.monotonic()
        dealership_id = dealership_scope(principal, query.dealership_id)
        normalised = normalise_query(query.query)
        if not normalised or len(normalised) > MAX_QUERY_CHARS:
            raise InvalidInput(
                f"query must be 1 to {MAX_QUERY_CHARS} characters, not counting leading and "
                "trailing whitespace",
                field="query",
            )
        if not 1 <= query.top_k <= MAX_TOP_K:
            raise InvalidInput(f"top_k must be between 1 and {MAX_TOP_K}", field="top_k")
        state = await self._generations.state(dealership_id)
        if state is None:
            raise NotFound("dealership not found")
        result = await self.retrieve(
            dealership_id=dealership_id,
            generation=state.generation,
            vectors=state.vectors,
            normalised=normalised,
            topics=query.topics,
            top_k=query.top_k,
        )
        self._telemetry.event(
            "rag_query",
            results_count=len(result.hits),
            latency_ms=round((self._clock.monotonic() - started) * 1000, 2),
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
        vectors: ActiveVectors = CONFIGURED,
    ) -> SearchResult:
        """The `top_k` best passages for an already normalised query (`normalise_query`)
        at knowledge-base `generation`, searched in `vectors` (the dealership's active
        ones); no validation (callers are use cases)."""
        return await self._retriever.retrieve(
            RetrievalRequest(
                dealership_id=dealership_id,
                generation=generation,
                normalised=normalised,
                topics=tuple(topics) if topics is not None else None,
                top_k=top_k,
                vectors=vectors,
            )
        )

"""The retrieval port: the knowledge base's passages for a query, cached or not."""

from __future__ import annotations

from typing import Protocol

from avataradam.domain.retrieval import RetrievalRequest, SearchResult


class Retriever(Protocol):
    """The `request.top_k` best servable passages, best first, and whether they came
    from a cache (`SearchResult.cache`: hit, miss or bypass).

    Raises EmbedderUnavailable or VectorIndexUnavailable when a computation is needed
    and its dependency is down; an unreachable cache is never an error (`bypass`).
    """

    async def retrieve(self, request: RetrievalRequest) -> SearchResult: ...

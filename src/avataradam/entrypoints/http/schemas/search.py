"""Bodies of a search of the knowledge base."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from avataradam.domain.model import Topic
from avataradam.entrypoints.http.schemas.common import DealershipId


class SearchRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, examples=["GAP objection"])]
    topics: Annotated[list[Topic], msgspec.Meta(examples=[["objection_handling"]])] | None = None
    top_k: Annotated[int, msgspec.Meta(ge=1, le=50, examples=[5])] = 5
    dealership_id: DealershipId | None = None


class SearchHitOut(msgspec.Struct, frozen=True):
    chunk_id: str
    document_id: UUID
    filename: str
    topic: Topic
    text: str
    score: float
    page: int | None
    section: str | None


class SearchResponse(msgspec.Struct, frozen=True):
    results: list[SearchHitOut]
    cached: bool

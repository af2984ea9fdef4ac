"""Bodies of re-embeddings: a dealership's knowledge base embedded again with another
vector profile in the background (`domain/vectors.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from avataradam.domain.vectors import ReembeddingStatus

Profile = Annotated[
    str,
    msgspec.Meta(
        description=(
            "A vector profile, `<embedder>:<format>`: embedder `local`, `e5`, `openai` or "
            "`hashing`, format `title_section` or `none`."
        ),
        examples=["e5:title_section"],
    ),
]


class ReembeddingCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    profile: Profile | None = None
    """The profile to re-embed with; absent or null: the service's configured one
    (`AVATARADAM_EMBEDDER`, `AVATARADAM_EMBEDDING_CONTEXT`)."""


class ReembeddingOut(msgspec.Struct, frozen=True):
    """One re-embedding: generation `generation` of the dealership's vectors, built
    with `target_profile` from the passages of generation `source_generation` while
    search keeps reading that one. `progress` (0..1) counts documents written of those
    to write; `completed` means the dealership searches the new generation."""

    generation: int
    status: ReembeddingStatus
    source_generation: int
    source_profile: str | None
    target_profile: Annotated[str, msgspec.Meta(examples=["e5:title_section"])]
    documents_total: int
    documents_done: int
    chunks_done: int
    progress: float
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    error_message: str | None


class ActiveVectorsOut(msgspec.Struct, frozen=True):
    """The vector generation the dealership's search reads, and its profile."""

    generation: int
    profile: Annotated[str, msgspec.Meta(examples=["local:title_section"])]


class ReembeddingList(msgspec.Struct, frozen=True):
    active: ActiveVectorsOut
    items: list[ReembeddingOut]
    """Newest first."""

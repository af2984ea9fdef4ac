"""Vector generations: which model's vectors a dealership's search reads, and the
re-embedding that moves it to another model without stopping search.

A *vector profile* names what a passage vector depends on: the embedder (the setting
`AVATARADAM_EMBEDDER`: `local`, `e5`, `openai`, `hashing`) and the embedded-text format
(`AVATARADAM_EMBEDDING_CONTEXT`), written `"<embedder>:<format>"`. Vectors of two profiles
are not comparable: a query must be embedded by the profile its passages were.

A dealership searches one *generation* at a time (`ActiveVectors`): its vectors live in
the index namespace `namespace(dealership_id, generation)`, all of one profile. A
*re-embedding* (`Reembedding`) builds generation n+1 with another profile from the
stored passages while search keeps reading generation n, then makes it active in one
transaction that also bumps the knowledge-base generation (so no cache entry of the old
one is served after), and finally drops the old namespace. Documents made ready while it
runs are written into both generations by ingestion; those it missed are caught up
before the switch, which happens only once every `ready` document is in the new
generation. The switch and a document becoming ready lock the same dealership row, so
neither can slip past the other.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

import msgspec

from avataradam.domain import codes
from avataradam.domain.embedding_text import EmbeddingContext
from avataradam.domain.errors import Conflict, DependencyUnavailable, InvalidInput
from avataradam.domain.model import Dealership

EMBEDDERS: Final = ("local", "e5", "openai", "hashing")
"""The embedders a profile may name (the values of `AVATARADAM_EMBEDDER`)."""


def profile_name(embedder: str, context: EmbeddingContext | str) -> str:
    """`"<embedder>:<format>"`, e.g. `"e5:title_section"`."""
    return f"{embedder}:{EmbeddingContext(context).value}"


def parse_profile(profile: str) -> tuple[str, EmbeddingContext]:
    """(embedder, format) of a profile name; InvalidInput (field `profile`) otherwise."""
    embedder, _, context = profile.partition(":")
    valid = ", ".join(profile_name(e, c) for e in EMBEDDERS for c in EmbeddingContext)
    if embedder not in EMBEDDERS or context not in {c.value for c in EmbeddingContext}:
        raise InvalidInput(f"unknown vector profile {profile!r}; one of {valid}", field="profile")
    return embedder, EmbeddingContext(context)


def namespace(dealership_id: UUID, generation: int) -> str:
    """The vector index namespace of a dealership's `generation`: the dealership id for
    generation 0 (the namespace of before generations existed), else `<id>.g<n>`."""
    return str(dealership_id) if generation == 0 else f"{dealership_id}.g{generation}"


class ActiveVectors(msgspec.Struct, frozen=True, kw_only=True):
    """The generation a dealership's search reads, and the profile that made it (None:
    none recorded yet; the service's configured profile applies)."""

    generation: int = 0
    profile: str | None = None


CONFIGURED: Final = ActiveVectors()
"""Generation 0, no profile recorded: what a dealership has before any switch."""


def active_vectors(dealership: Dealership) -> ActiveVectors:
    return ActiveVectors(generation=dealership.vector_generation, profile=dealership.vector_profile)


class KnowledgeBaseState(msgspec.Struct, frozen=True, kw_only=True):
    """What a search needs of its dealership, read in one statement: the knowledge-base
    generation (cache keys) and the active vectors."""

    generation: int
    vectors: ActiveVectors = ActiveVectors()


class ReembeddingStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Reembedding(msgspec.Struct, frozen=True, kw_only=True):
    """One re-embedding of a dealership's knowledge base into generation `generation`
    with `target_profile`; progress counts documents and passages written so far."""

    dealership_id: UUID
    generation: int
    source_generation: int
    source_profile: str | None
    target_profile: str
    status: ReembeddingStatus
    created_at: datetime
    updated_at: datetime
    documents_total: int = 0
    documents_done: int = 0
    chunks_done: int = 0
    lease_token: UUID | None = None
    lease_expires_at: datetime | None = None
    error_message: str | None = None
    finished_at: datetime | None = None

    @property
    def namespace(self) -> str:
        return namespace(self.dealership_id, self.generation)

    @property
    def progress(self) -> float:
        """0..1: documents written of those to write (1 once completed)."""
        if self.status is ReembeddingStatus.COMPLETED:
            return 1.0
        return min(1.0, self.documents_done / self.documents_total) if self.documents_total else 0.0

    def claimable(self, now: datetime) -> bool:
        """Running and held by no run: never claimed, or its run's lease lapsed (its
        worker died)."""
        return self.status is ReembeddingStatus.RUNNING and (
            self.lease_token is None or self.redrivable(now)
        )

    def redrivable(self, now: datetime) -> bool:
        """Running, and its lease (or, never claimed, its wait in the queue) lapsed:
        its message or its run was lost, and it is queued again."""
        return self.status is ReembeddingStatus.RUNNING and (
            self.lease_expires_at is None or self.lease_expires_at <= now
        )

    def claimed(self, *, token: UUID, now: datetime, lease: timedelta) -> Reembedding:
        return msgspec.structs.replace(
            self, lease_token=token, lease_expires_at=now + lease, updated_at=now
        )

    def finished(
        self, status: ReembeddingStatus, *, now: datetime, error: str | None = None
    ) -> Reembedding:
        return msgspec.structs.replace(
            self,
            status=status,
            lease_token=None,
            lease_expires_at=None,
            error_message=error,
            updated_at=now,
            finished_at=now,
        )


class VectorGenerationChanged(DependencyUnavailable):
    """The dealership's active generation changed while a document was being indexed
    into the old one: the run is retried, and indexes into the new one (a dependency's
    transient failure: `dependency_unavailable` should it ever reach a client)."""


class ReembeddingRunning(Conflict):
    """A re-embedding of this dealership is already running (`details.generation`)."""

    code = codes.REEMBEDDING_RUNNING

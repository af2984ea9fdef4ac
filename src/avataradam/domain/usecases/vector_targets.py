"""Where a dealership's passages are written: its active vector generation and, while a
re-embedding runs, the generation it builds (`domain.vectors`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from avataradam.domain.embedding_text import PassageText
from avataradam.domain.model import Document, Topic
from avataradam.domain.ports.capabilities import embed_sparse
from avataradam.domain.ports.knowledge import ChunkDraft, Embedder, SparseVector, VectorRecord
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.profiles import VectorProfiles
from avataradam.domain.vectors import VectorGenerationChanged, namespace


@dataclass(frozen=True, slots=True)
class VectorTarget:
    """One generation a document's passages go into, with the profile that makes them."""

    generation: int
    profile: str
    namespace: str
    embedder: Embedder
    passage_text: PassageText


async def live_generations(uow: UnitOfWork, dealership_id: UUID) -> list[tuple[int, str | None]]:
    """(generation, profile) of the dealership's active vectors (profile None: none
    recorded, the configured one), then of the generation a running re-embedding builds."""
    dealership = await uow.dealerships.get(dealership_id)
    found = [(dealership.vector_generation, dealership.vector_profile) if dealership else (0, None)]
    running = await uow.reembeddings.running(dealership_id)
    if running is not None and running.generation != found[0][0]:
        found.append((running.generation, running.target_profile))
    return found


async def vector_targets(
    uows: UnitOfWorkFactory, profiles: VectorProfiles, dealership_id: UUID
) -> list[VectorTarget]:
    """The active generation first, then the one a running re-embedding builds (read
    on the primary: a replica may miss a switch)."""
    async with uows() as uow:
        generations = await live_generations(uow, dealership_id)
    pairs = [(generation, profile or profiles.configured) for generation, profile in generations]
    return [
        VectorTarget(
            generation=generation,
            profile=profile,
            namespace=namespace(dealership_id, generation),
            embedder=profiles.embedder(profile),
            passage_text=profiles.passage_text(profile),
        )
        for generation, profile in pairs
    ]


async def written_namespaces(uow: UnitOfWork, dealership_id: UUID) -> list[str]:
    """The namespaces a document of the dealership may have vectors in now (its active
    generation's and a running re-embedding's): what deleting it must clear."""
    return [namespace(dealership_id, g) for g, _ in await live_generations(uow, dealership_id)]


async def check_targets(uow: UnitOfWork, document: Document, targets: list[VectorTarget]) -> None:
    """Raises VectorGenerationChanged unless the dealership's active generation (its
    row locked meanwhile) is one this run wrote, with the profile it wrote it with;
    records that profile where none is, and the document as written into a running
    re-embedding's generation."""
    dealership_id, document_id = document.dealership_id, document.id
    active = await uow.dealerships.vectors_for_update(dealership_id)
    written = {t.generation: t.profile for t in targets}
    if active is not None:
        mine = written.get(active.generation)
        if mine is None or active.profile not in (None, mine):
            raise VectorGenerationChanged(
                "the knowledge base moved to another vector generation while this"
                " document was indexed; it is indexed again"
            )
        if active.profile is None:
            await uow.dealerships.record_vector_profile(dealership_id, mine)
    running = await uow.reembeddings.running(dealership_id)
    if running is not None and written.get(running.generation) == running.target_profile:
        await uow.reembeddings.mark_documents(dealership_id, running.generation, [document_id])


@dataclass(frozen=True, slots=True)
class Embedded:
    """Passages' vectors in order: dense, and sparse when the embedder makes them
    (`EmbedsSparse`; None otherwise)."""

    dense: list[list[float]]
    sparse: list[SparseVector] | None = None

    def __len__(self) -> int:
        return len(self.dense)


async def embed_for(
    targets: Sequence[VectorTarget],
    drafts: Sequence[ChunkDraft],
    title: str,
    batch_size: int,
    report: Callable[[float], Awaitable[object]],
) -> list[Embedded]:
    """The passages' vectors for each of `targets`, in order, embedded in requests of
    `batch_size` (dense and, where the embedder has them, sparse vectors of the same
    texts); `report(share)` after each (0..1 of all the work)."""
    total = len(drafts) * len(targets)
    embedded: list[Embedded] = []
    for destination in targets:
        # Off the loop: measuring a prefix may wait for the tokenizer an encode holds.
        texts = await asyncio.to_thread(destination.passage_text.batch, drafts, title)
        dense: list[list[float]] = []
        sparse: list[SparseVector] | None = []
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            dense.extend(await destination.embedder.embed(batch))
            found = await embed_sparse(destination.embedder, batch) if sparse is not None else None
            sparse = None if found is None or sparse is None else [*sparse, *found]
            await report((sum(map(len, embedded)) + len(dense)) / total)
        embedded.append(Embedded(dense, sparse))
    return embedded


def records(
    document_id: UUID, topic: Topic, ids: Sequence[str], embedded: Embedded
) -> list[VectorRecord]:
    """The vector records of a document's passages `ids`, given their embeddings."""
    sparse: Sequence[SparseVector | None] = embedded.sparse or [None] * len(ids)
    return [
        VectorRecord(
            id=chunk_id,
            values=values,
            document_id=document_id,
            topic=topic,
            sparse=terms,
        )
        for chunk_id, values, terms in zip(ids, embedded.dense, sparse, strict=True)
    ]

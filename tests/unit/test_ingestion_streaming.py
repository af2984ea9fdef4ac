"""Ingestion streams a document through bounded batches: at most a batch of passages and
vectors is alive at once, whatever the document's size, and a run interrupted anywhere
is re-driven to exactly the document's own passages and vectors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from avataradam.adapters.chunking.semchunk import SemchunkChunker
from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.filesystem.spool import TemporaryDirectorySpool
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex
from avataradam.domain.model import DocumentStatus, Stage, Topic
from avataradam.domain.ports.knowledge import (
    ChunkDraft,
    EmbedderUnavailable,
    ExtractedSection,
    Extraction,
    ExtractionFailed,
    VectorMatch,
    VectorRecord,
    vector_id,
)
from avataradam.domain.usecases.ingestion import IngestDocument
from tests.support.world import ingestion_options
from tests.unit.test_ingestion_usecases import World

WORDS = ["menu", "warranty", "payment", "lender", "rate", "term", "reserve", "product", "tire"]


def section_text(number: int) -> str:
    """About 45 words: three passages of at most 20 words."""
    words = [WORDS[(number * 7 + i) % len(WORDS)] for i in range(44)]
    return f"Section {number}. " + " ".join(words) + "."


class LazyExtractor:
    """Implements `TextExtractor`: `sections` sections made one at a time, as a streaming
    extractor reads a large file; `pulled` counts those taken so far. With `fail_after`,
    the file turns out unreadable after that many sections."""

    def __init__(self, sections: int, *, fail_after: int | None = None) -> None:
        self.sections, self.fail_after, self.pulled = sections, fail_after, 0

    def extract(self, path: Path, content_type: str) -> Extraction:  # noqa: ARG002 - fake
        self.pulled = 0
        return Extraction(sections=self._sections(), read_share=lambda: self.pulled / self.sections)

    def _sections(self) -> Iterator[ExtractedSection]:
        for number in range(self.sections):
            if number == self.fail_after:
                raise ExtractionFailed("too much text", reason="too_large")
            self.pulled += 1
            yield ExtractedSection(text=section_text(number), page=number + 1)


class CountingChunker:
    """Implements `Chunker` around the semchunk one; counts the passages it made."""

    def __init__(self, chunk_size_tokens: int = 20) -> None:
        self.inner = SemchunkChunker(chunk_size_tokens=chunk_size_tokens)
        self.produced = 0
        self.most_per_call = 0

    def split(self, sections: Sequence[ExtractedSection]) -> list[ChunkDraft]:
        drafts = self.inner.split(sections)
        self.produced += len(drafts)
        self.most_per_call = max(self.most_per_call, len(drafts))
        return drafts


class CountingEmbedder:
    """Implements `Embedder`; counts vectors made and the largest request."""

    def __init__(self) -> None:
        self.inner = HashingEmbedder(dimension=16)
        self.model_name, self.dimension = self.inner.model_name, 16
        self.embedded = 0
        self.largest_request = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded += len(texts)
        self.largest_request = max(self.largest_request, len(texts))
        return await self.inner.embed(texts)


class WorkerDied(BaseException):
    """A worker killed mid-run: nothing in the use case catches it."""


@dataclass
class WatchedIndex:
    """Implements `VectorIndex` around the in-memory one. At each upsert it notes how
    many passages the chunker has made that are not yet upserted (alive in the worker),
    and how many vectors are embedded but not yet upserted; `die_at` kills the run
    before or after the upsert call of that number."""

    chunker: CountingChunker
    embedder: CountingEmbedder
    inner: InMemoryVectorIndex = field(default_factory=lambda: InMemoryVectorIndex(16))
    upserted: int = 0
    calls: int = 0
    most_passages_alive: int = 0
    most_vectors_alive: int = 0
    die_at: int | None = None
    die_after_upsert: bool = True
    dimension: int = field(init=False)

    def __post_init__(self) -> None:
        self.dimension = self.inner.dimension

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        self.calls += 1
        self.most_passages_alive = max(
            self.most_passages_alive, self.chunker.produced - self.upserted
        )
        self.most_vectors_alive = max(
            self.most_vectors_alive, self.embedder.embedded - self.upserted
        )
        if self.calls == self.die_at and not self.die_after_upsert:
            raise WorkerDied
        await self.inner.upsert(namespace, records)
        self.upserted += len(records)
        if self.calls == self.die_at:
            raise WorkerDied

    async def query(
        self,
        namespace: str,
        vector: Sequence[float],
        *,
        top_k: int,
        topics: Sequence[Topic] | None = None,
        exclude_documents: Collection[uuid.UUID] = (),
    ) -> list[VectorMatch]:
        return await self.inner.query(
            namespace, vector, top_k=top_k, topics=topics, exclude_documents=exclude_documents
        )

    async def delete_document(
        self, namespace: str, document_id: uuid.UUID, *, from_index: int = 0
    ) -> None:
        await self.inner.delete_document(namespace, document_id, from_index=from_index)

    async def delete_namespace(self, namespace: str) -> None:
        await self.inner.delete_namespace(namespace)

    async def count(self, namespace: str, *, document_id: uuid.UUID | None = None) -> int:
        return await self.inner.count(namespace, document_id=document_id)

    async def ids(self, namespace: str, document_id: uuid.UUID) -> list[str]:
        """Every vector id of the document, by chunk index."""
        matches = await self.inner.query(namespace, [1.0] * 16, top_k=1_000_000)
        return sorted(
            (m.id for m in matches if m.document_id == document_id),
            key=lambda record_id: int(record_id.rsplit(":", 1)[1]),
        )


class StreamingWorld(World):
    """The use-case world of `test_ingestion_usecases` with the fakes above."""

    def use(
        self,
        extractor: LazyExtractor,
        *,
        chunk_size_tokens: int = 20,
        batch: int = 16,
        embed_batch: int = 4,
        index: WatchedIndex | None = None,
    ) -> WatchedIndex:
        chunker = CountingChunker(chunk_size_tokens)
        embedder = CountingEmbedder()
        watched = index or WatchedIndex(chunker, embedder)
        watched.chunker, watched.embedder = chunker, embedder
        watched.upserted = watched.calls = 0
        self.ingest = IngestDocument(
            self.uow,
            extractor,
            chunker,
            embedder,
            watched,
            self.clock,
            self.ids,
            self.telemetry,
            ingestion_options(
                embed_batch_size=embed_batch, upsert_batch_size=batch, progress_interval_s=0.0
            ),
            spool=TemporaryDirectorySpool(),
        )
        return watched

    async def stored_chunks(self, document_id: uuid.UUID, count: int) -> list[tuple[int, str]]:
        document = await self.document(document_id)
        ids = [vector_id(document_id, i) for i in range(count + 100)]
        async with self.uow() as uow:
            assert await uow.chunks.count(document_id) == count
            chunks = await uow.chunks.get_many(
                ids,
                dealership_id=document.dealership_id,  # type: ignore[attr-defined]
            )
        return [(c.index, c.text) for c in chunks]


@pytest.mark.parametrize("sections", [60, 600])
async def test_passages_and_vectors_alive_at_once_stay_bounded_whatever_the_document_size(
    sections: int,
) -> None:
    world = StreamingWorld()
    extractor = LazyExtractor(sections)
    index = world.use(extractor, batch=16, embed_batch=4)
    document_id = await world.upload_text(await world.admin(), "placeholder")

    outcome = await world.ingest(document_id)

    assert outcome.status == "ready"
    assert outcome.chunk_count == index.chunker.produced >= 3 * sections
    assert index.calls == -(-outcome.chunk_count // 16)  # one upsert per batch of 16
    assert index.most_vectors_alive <= 16
    # A batch plus what one section's chunking made ahead of it.
    assert index.most_passages_alive <= 16 + index.chunker.most_per_call
    assert index.embedder.largest_request <= 4
    assert extractor.pulled == sections


async def test_the_first_batch_is_stored_before_the_rest_of_the_file_is_read() -> None:
    world = StreamingWorld()
    extractor = LazyExtractor(600)
    index = world.use(extractor, batch=16)
    pulled_at_upsert: list[int] = []
    upsert = index.inner.upsert

    async def noting(namespace: str, records: Sequence[VectorRecord]) -> None:
        pulled_at_upsert.append(extractor.pulled)
        await upsert(namespace, records)

    index.inner.upsert = noting  # type: ignore[method-assign]
    document_id = await world.upload_text(await world.admin(), "placeholder")

    assert (await world.ingest(document_id)).status == "ready"

    assert pulled_at_upsert[0] <= 16 // 3 + 2
    assert pulled_at_upsert == sorted(pulled_at_upsert)


async def test_progress_rises_batch_by_batch_and_each_stage_is_timed_once() -> None:
    world = StreamingWorld()
    index = world.use(LazyExtractor(200), batch=32)
    document_id = await world.upload_text(await world.admin(), "placeholder")
    seen: list[tuple[object, float]] = []
    upsert = index.inner.upsert

    async def noting(namespace: str, records: Sequence[VectorRecord]) -> None:
        document = await world.document(document_id)
        seen.append((document.stage, document.progress))  # type: ignore[attr-defined]
        await upsert(namespace, records)

    index.inner.upsert = noting  # type: ignore[method-assign]

    assert (await world.ingest(document_id)).status == "ready"

    progress = [value for _, value in seen]
    assert len(progress) > 10
    assert progress == sorted(progress)
    assert 0 < progress[0] < 0.1 < progress[-1] < 1
    assert {stage for stage, _ in seen} == {Stage.INDEXING}
    assert world.telemetry.stages == [
        Stage.EXTRACTING,
        Stage.CHUNKING,
        Stage.EMBEDDING,
        Stage.INDEXING,
        Stage.STORING,
    ]
    document = await world.document(document_id)
    assert document.progress == 1.0  # type: ignore[attr-defined]


async def test_a_file_found_unreadable_half_way_fails_and_keeps_no_passage_or_vector() -> None:
    world = StreamingWorld()
    index = world.use(LazyExtractor(300, fail_after=150), batch=16)
    principal = await world.admin()
    document_id = await world.upload_text(principal, "placeholder")

    outcome = await world.ingest(document_id)

    assert (outcome.status, outcome.error_code) == ("failed", "too_large")
    assert index.upserted > 100  # earlier batches were stored, then discarded
    assert await index.count(str(principal.dealership_id), document_id=document_id) == 0
    async with world.uow() as uow:
        assert await uow.chunks.count(document_id) == 0
    document = await world.document(document_id)
    assert document.status is DocumentStatus.FAILED  # type: ignore[attr-defined]


async def test_a_document_deleted_between_batches_stops_the_run_and_leaves_no_vectors() -> None:
    world = StreamingWorld()
    index = world.use(LazyExtractor(300), batch=16)
    principal = await world.admin()
    document_id = await world.upload_text(principal, "placeholder")
    upsert = index.inner.upsert

    async def deleting_at_the_third(namespace: str, records: Sequence[VectorRecord]) -> None:
        await upsert(namespace, records)
        if index.calls == 3:
            async with world.uow() as uow:
                current = await uow.documents.get_for_update(document_id)
                assert current is not None
                await uow.documents.update(
                    msgspec.structs.replace(current, status=DocumentStatus.DELETING)
                )
                await uow.commit()

    index.inner.upsert = deleting_at_the_third  # type: ignore[method-assign]

    assert (await world.ingest(document_id)).status == "deleted"
    assert index.calls == 3
    assert await index.count(str(principal.dealership_id), document_id=document_id) == 0


async def test_a_transient_failure_mid_document_is_retried_to_one_set() -> None:
    world = StreamingWorld()
    index = world.use(LazyExtractor(100), batch=16)
    principal = await world.admin()
    document_id = await world.upload_text(principal, "placeholder")
    embed = index.embedder.inner.embed
    calls = 0

    async def failing_once(texts: Sequence[str]) -> list[list[float]]:
        nonlocal calls
        calls += 1
        if calls == 9:
            raise EmbedderUnavailable("embedding service is down")
        return await embed(texts)

    index.embedder.inner.embed = failing_once  # type: ignore[method-assign]
    with pytest.raises(EmbedderUnavailable):
        await world.ingest(document_id)
    outcome = await world.ingest(document_id)

    assert outcome.status == "ready"
    namespace = str(principal.dealership_id)
    expected = [vector_id(document_id, i) for i in range(outcome.chunk_count)]
    assert await index.ids(namespace, document_id) == expected
    assert len(await world.stored_chunks(document_id, outcome.chunk_count)) == len(expected)


async def _ingest_cleanly(sections: int, chunk_size: int) -> tuple[list[tuple[int, str]], int]:
    world = StreamingWorld()
    world.use(LazyExtractor(sections), chunk_size_tokens=chunk_size)
    document_id = await world.upload_text(await world.admin(), "placeholder")
    outcome = await world.ingest(document_id)
    return await world.stored_chunks(document_id, outcome.chunk_count), outcome.chunk_count


async def _redrive(
    sections: int, batch: int, die_at: int, after_upsert: bool, sizes: tuple[int, int]
) -> None:
    """The first run dies at its upsert number `die_at` (past its last: it finishes)."""
    world = StreamingWorld()
    principal = await world.admin()
    document_id = await world.upload_text(principal, "placeholder")
    namespace = str(principal.dealership_id)
    first_size, second_size = sizes

    index = world.use(LazyExtractor(sections), chunk_size_tokens=first_size, batch=batch)
    index.die_at, index.die_after_upsert = die_at, after_upsert
    try:
        await world.ingest(document_id)
        died = False
    except WorkerDied:
        died = True
    if died:
        half = await world.document(document_id)
        assert half.status is DocumentStatus.PROCESSING  # type: ignore[attr-defined]
        # The dead worker's lease lapses unrenewed; only then is the document re-driven.
        world.clock.advance(ingestion_options().lease_s)
    index.die_at = None
    # The re-drive, perhaps by a worker chunking differently (a new release).
    world.use(LazyExtractor(sections), chunk_size_tokens=second_size, batch=batch, index=index)
    outcome = await world.ingest(document_id)

    expected, count = await _ingest_cleanly(sections, second_size)
    if not died:  # the first run finished: the re-drive is a no-op
        expected, count = await _ingest_cleanly(sections, first_size)
        assert outcome.status == "skipped"
    else:
        assert (outcome.status, outcome.chunk_count) == ("ready", count)
    assert await index.ids(namespace, document_id) == [
        vector_id(document_id, i) for i in range(count)
    ]
    assert await world.stored_chunks(document_id, count) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sections=st.integers(min_value=1, max_value=30),
    batch=st.integers(min_value=1, max_value=12),
    died_at_share=st.floats(min_value=0.0, max_value=1.0),
    after_upsert=st.booleans(),
    sizes=st.sampled_from([(20, 20), (20, 12), (12, 20)]),
)
@example(sections=1, batch=12, died_at_share=0.0, after_upsert=True, sizes=(12, 20))
@example(sections=2, batch=3, died_at_share=0.75, after_upsert=True, sizes=(12, 20))
@example(sections=10, batch=3, died_at_share=0.6, after_upsert=True, sizes=(12, 20))
def test_a_redriven_half_stored_document_ends_with_exactly_its_own_passages_and_vectors(
    sections: int, batch: int, died_at_share: float, after_upsert: bool, sizes: tuple[int, int]
) -> None:
    _, passages = asyncio.run(_ingest_cleanly(sections, sizes[0]))
    upserts = -(-passages // batch)
    die_at = 1 + int(died_at_share * upserts)  # past the last upsert: no death
    asyncio.run(_redrive(sections, batch, die_at, after_upsert, sizes))


@pytest.mark.parametrize(
    ("batch", "at", "stored"),
    [(16, 2, 16), (100_000, 1, 0)],  # taken over between batches; before `ready`
)
async def test_a_run_whose_lease_is_taken_over_stops_writing_and_is_superseded(
    batch: int, at: int, stored: int
) -> None:
    world = StreamingWorld()
    index = world.use(LazyExtractor(60), batch=batch)
    principal = await world.admin()
    document_id = await world.upload_text(principal, "placeholder")
    upsert = index.inner.upsert
    taker = uuid.uuid4()
    stored_at_takeover: list[int] = []

    async def taken_over(namespace: str, records: Sequence[VectorRecord]) -> None:
        await upsert(namespace, records)
        if index.calls == at:
            # This worker's lease lapsed unrenewed (a long pause) and another claimed it.
            world.clock.advance(ingestion_options().lease_s)
            async with world.uow() as uow:
                current = await uow.documents.get_for_update(document_id)
                assert current is not None
                await uow.documents.update(
                    current.claimed(token=taker, now=world.clock.now(), lease=timedelta(seconds=60))
                )
                stored_at_takeover.append(await uow.chunks.count(document_id))
                await uow.commit()

    index.inner.upsert = taken_over  # type: ignore[method-assign]

    outcome = await world.ingest(document_id)

    assert outcome.status == "superseded"
    assert index.calls == at, "no batch is upserted once the lease is gone"
    document = await world.document(document_id)
    assert document.status is DocumentStatus.PROCESSING  # type: ignore[attr-defined]
    assert document.lease_token == taker  # type: ignore[attr-defined]
    assert (document.stage, document.progress) == (Stage.EXTRACTING, 0.0)  # type: ignore[attr-defined]
    async with world.uow() as uow:
        assert await uow.chunks.count(document_id) == stored_at_takeover[0] == stored

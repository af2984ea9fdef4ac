"""Re-embedding a knowledge base into another vector profile while search keeps serving
(issue 16; rules in domain/vectors.py), on the in-memory world.

The target profile's model is `MirroredEmbedder`: feature hashing with every vector
reversed. Its vectors rank passages exactly as the configured hashing model's do
against its own queries, and are incomparable with them: a query of one model against
passages of the other would rank garbage, so a search that mixes the two is caught by
its results.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest

from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.memory.queue import InMemoryTaskQueue
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex
from avataradam.domain.access import Principal
from avataradam.domain.errors import InvalidInput
from avataradam.domain.filetypes import MARKDOWN
from avataradam.domain.model import Dealership, Role, Topic
from avataradam.domain.ports.knowledge import Embedder, EmbedderUnavailable, VectorRecord
from avataradam.domain.tasks import REEMBED_KNOWLEDGE_BASE
from avataradam.domain.usecases.documents import UploadedFile, UploadRequest
from avataradam.domain.usecases.search import SearchQuery
from avataradam.domain.usecases.vector_targets import VectorTarget, check_targets
from avataradam.domain.vectors import (
    ActiveVectors,
    KnowledgeBaseState,
    ReembeddingRunning,
    ReembeddingStatus,
    VectorGenerationChanged,
    namespace,
)
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.profiles import warm_profiles_in_use
from avataradam.entrypoints.settings import load_settings
from tests.support.fakes import ManualClock
from tests.support.world import in_memory_container

DOCUMENTS = {
    "gap.md": "# GAP waiver\n\nGAP pays the loan balance after a total loss.\n",
    "vsc.md": "# Service contract\n\nThe VSC covers engine and transmission repairs.\n",
    "tire.md": "# Tire and wheel\n\nTire and wheel protection repairs curb damage to rims.\n",
}
QUESTIONS = {
    "who pays the loan balance after a total loss": "gap.md",
    "does the service contract cover transmission repairs": "vsc.md",
    "are rims with curb damage repaired": "tire.md",
}
TARGET = "local:title_section"


class MirroredEmbedder:
    """Implements `Embedder`: hashing vectors reversed (a model of its own)."""

    model_name = "mirrored-hashing-384"
    dimension = 384

    def __init__(self) -> None:
        self._inner = HashingEmbedder(dimension=384)
        self.texts: list[str] = []
        self.warmed = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return [vector[::-1] for vector in await self._inner.embed(texts)]

    def warm_up(self) -> None:
        self.warmed += 1


class World:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.queue = InMemoryTaskQueue()
        self.index = InMemoryVectorIndex(384)
        self.mirrored = MirroredEmbedder()
        settings = load_settings(
            {
                "AVATARADAM_EMBEDDER": "hashing",
                "AVATARADAM_CACHE_ENABLED": "false",
                "AVATARADAM_INGESTION_REEMBED_RETIRE_AFTER_S": "0",
            },
            env_file=None,
        )
        self.container: Container = in_memory_container(
            settings,
            clock=self.clock,
            queue=self.queue,
            index=self.index,
            embedders=self._build,
        )

    def _build(self, name: str) -> Embedder:
        if name == "openai":
            raise EmbedderUnavailable("no key in this test")
        assert name == "local", name
        return self.mirrored

    async def dealership(self) -> tuple[Dealership, Principal]:
        dealership = await self.container.create_dealership.create("Store")
        admin = Principal(
            user_id=uuid.uuid4(), role=Role.DEALERSHIP_ADMIN, dealership_id=dealership.id
        )
        return dealership, admin

    async def ingest(self, admin: Principal, filename: str, text: str) -> uuid.UUID:
        data = text.encode()

        async def parts() -> AsyncIterator[bytes]:
            yield data

        async def scan() -> UploadedFile:
            return UploadedFile(
                filename=filename,
                content_type=MARKDOWN,
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )

        uploaded = await self.container.upload_document(
            admin, UploadRequest(topic=Topic.PRODUCT_KNOWLEDGE), scan, parts
        )
        outcome = await self.container.ingest_document(uploaded.value.id)
        assert outcome.status == "ready"
        return uploaded.value.id

    async def answers(self, admin: Principal) -> dict[str, str]:
        """Each question's best passage's file."""
        found = {}
        for question in QUESTIONS:
            result = await self.container.search(admin, SearchQuery(query=question, top_k=1))
            found[question] = result.hits[0].filename
        return found

    async def state(self, dealership: Dealership) -> KnowledgeBaseState:
        state = await self.container.generations.state(dealership.id)
        assert state is not None
        return state


@pytest.fixture
async def world() -> World:
    return World()


async def test_a_reembedding_switches_search_to_the_new_model_once_every_document_is_in(
    world: World,
) -> None:
    dealership, admin = await world.dealership()
    for filename, text in DOCUMENTS.items():
        await world.ingest(admin, filename, text)
    configured = world.container.knowledge.profiles.configured
    assert configured == "hashing:title_section"
    assert (await world.state(dealership)).vectors == ActiveVectors(profile=configured)
    assert await world.answers(admin) == QUESTIONS

    started = await world.container.start_reembedding(dealership.id, TARGET)

    assert (started.generation, started.status, started.documents_total) == (
        1,
        ReembeddingStatus.RUNNING,
        3,
    )
    assert [(t.task, t.payload) for t in world.queue.sent][-1] == (
        REEMBED_KNOWLEDGE_BASE,
        {"dealership_id": str(dealership.id), "generation": "1"},
    )
    # Search keeps reading generation 0 with the configured model meanwhile.
    assert await world.answers(admin) == QUESTIONS
    assert world.mirrored.texts == []
    # A document made ready while it runs goes into both generations.
    extra = await world.ingest(
        admin, "key.md", "# Key replacement\n\nLost smart keys are replaced up to $800.\n"
    )
    assert await world.index.count(namespace(dealership.id, 1), document_id=extra) == 1

    status = await world.container.run_reembedding(dealership.id, 1)

    state = await world.state(dealership)
    assert status == "completed"
    assert state.vectors == ActiveVectors(generation=1, profile=TARGET)
    assert state.generation > 0
    finished = (await world.container.list_reembeddings(dealership.id))[1][0]
    assert (finished.status, finished.documents_done, finished.progress) == (
        ReembeddingStatus.COMPLETED,
        3,
        1.0,
    )
    assert finished.chunks_done == 3
    # The new generation was embedded with the title and heading path ingestion used.
    assert any(t.startswith("Title: GAP waiver\n") for t in world.mirrored.texts)
    # Queries now go through the new model, and find the same passages.
    before = len(world.mirrored.texts)
    assert await world.answers(admin) == QUESTIONS
    assert world.mirrored.texts[before:] == list(QUESTIONS)
    # The old generation is gone; the new one holds every passage.
    assert await world.index.count(namespace(dealership.id, 0)) == 0
    assert await world.index.count(namespace(dealership.id, 1)) == 4
    registry = world.container.metrics_registry
    assert registry is not None
    sample = registry.get_sample_value(
        "avataradam_reembedded_total", {"profile": TARGET, "unit": "passages"}
    )
    assert sample == 3


async def test_search_never_mixes_models_a_mixed_search_would_rank_garbage(
    world: World,
) -> None:
    """The test's own premise: querying mirrored passages with the configured model
    (what a mix-up does) does not find the right passages."""
    dealership, admin = await world.dealership()
    for filename, text in DOCUMENTS.items():
        await world.ingest(admin, filename, text)
    await world.container.start_reembedding(dealership.id, TARGET)
    await world.container.run_reembedding(dealership.id, 1)
    plain = HashingEmbedder(dimension=384)

    wrong = 0
    for question, filename in QUESTIONS.items():
        [vector] = await plain.embed([question])
        [best] = await world.index.query(namespace(dealership.id, 1), vector, top_k=1)
        wrong += best.document_id != await _document_of(world, dealership, filename)

    assert wrong >= 2


async def _document_of(world: World, dealership: Dealership, filename: str) -> uuid.UUID:
    async with world.container.uow(read_only=True) as uow:
        documents = await uow.documents.list_page(
            dealership_id=dealership.id, topic=None, status=None, cursor=None, limit=50
        )
    return next(d.id for d in documents if d.filename == filename)


async def test_a_run_that_dies_is_resumed_where_it_stopped_by_another(world: World) -> None:
    dealership, admin = await world.dealership()
    for filename, text in DOCUMENTS.items():
        await world.ingest(admin, filename, text)
    await world.container.start_reembedding(dealership.id, TARGET)
    real_upsert, calls = world.index.upsert, []

    async def dies_on_the_second(space: str, records: Sequence[VectorRecord]) -> None:
        calls.append(space)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        await real_upsert(space, records)

    world.index.upsert = dies_on_the_second  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError, match="worker killed"):
        await world.container.run_reembedding(dealership.id, 1)
    world.index.upsert = real_upsert  # type: ignore[method-assign]
    [half] = (await world.container.list_reembeddings(dealership.id))[1]
    assert (half.status, half.documents_done) == (ReembeddingStatus.RUNNING, 1)

    # Held by the dead run's lease: neither re-queued nor run again.
    assert await world.container.reconcile_reembeddings() == []
    assert await world.container.run_reembedding(dealership.id, 1) == "skipped"
    world.clock.advance(world.container.settings.ingestion.reembed_lease_s + 1)
    assert [r.generation for r in await world.container.reconcile_reembeddings()] == [1]
    embedded_before = len(world.mirrored.texts)
    assert await world.container.run_reembedding(dealership.id, 1) == "completed"

    [done] = (await world.container.list_reembeddings(dealership.id))[1]
    assert (done.status, done.documents_done, done.chunks_done) == (
        ReembeddingStatus.COMPLETED,
        3,
        3,
    )
    assert len(world.mirrored.texts) - embedded_before == 2  # the first one not again
    assert await world.answers(admin) == QUESTIONS


async def test_starting_refuses_what_cannot_or_need_not_run(world: World) -> None:
    dealership, admin = await world.dealership()
    await world.ingest(admin, "gap.md", DOCUMENTS["gap.md"])

    with pytest.raises(InvalidInput, match="one of"):
        await world.container.start_reembedding(dealership.id, "word2vec:none")
    with pytest.raises(InvalidInput, match="already embedded"):
        await world.container.start_reembedding(dealership.id, "hashing:title_section")
    await world.container.start_reembedding(dealership.id, TARGET)
    with pytest.raises(ReembeddingRunning) as running:
        await world.container.start_reembedding(dealership.id, "hashing:none")
    assert running.value.details == {"generation": 1}


async def test_a_document_indexed_into_the_old_generation_is_not_made_ready_after_a_switch(
    world: World,
) -> None:
    """A document whose run wrote only generation 0 (it began before the re-embedding)
    must not become ready once search reads generation 1: its run is retried."""
    dealership, admin = await world.dealership()
    await world.ingest(admin, "gap.md", DOCUMENTS["gap.md"])
    await world.container.start_reembedding(dealership.id, TARGET)
    await world.container.run_reembedding(dealership.id, 1)
    async with world.container.uow() as uow:
        document = await uow.documents.get(
            await _document_of(world, dealership, "gap.md"), dealership_id=None
        )
        assert document is not None
        old = VectorTarget(
            generation=0,
            profile="hashing:title_section",
            namespace=namespace(dealership.id, 0),
            embedder=HashingEmbedder(),
            passage_text=world.container.knowledge.passage_text,
        )
        with pytest.raises(VectorGenerationChanged):
            await check_targets(uow, document, [old])


async def test_a_queued_reembedding_is_run_at_once_and_requeued_only_if_never_taken(
    world: World,
) -> None:
    dealership, admin = await world.dealership()
    await world.ingest(admin, "gap.md", DOCUMENTS["gap.md"])
    await world.container.start_reembedding(dealership.id, TARGET)

    assert await world.container.reconcile_reembeddings() == []  # its message is queued
    world.clock.advance(world.container.settings.ingestion.reembed_lease_s + 1)
    assert [r.generation for r in await world.container.reconcile_reembeddings()] == [1]
    assert await world.container.run_reembedding(dealership.id, 1) == "completed"
    assert await world.container.run_reembedding(dealership.id, 1) == "skipped"
    assert await world.container.reconcile_reembeddings() == []


async def test_a_process_loads_at_start_the_models_of_the_profiles_dealerships_are_on(
    world: World,
) -> None:
    dealership, admin = await world.dealership()
    await world.ingest(admin, "gap.md", DOCUMENTS["gap.md"])
    await world.container.start_reembedding(dealership.id, TARGET)
    await world.container.run_reembedding(dealership.id, 1)
    other, _ = await world.dealership()
    async with world.container.uow() as uow:
        await uow.dealerships.record_vector_profile(other.id, "openai:none")
        await uow.commit()

    loaded = await warm_profiles_in_use(world.container.uow, world.container.knowledge.profiles)

    assert loaded == [TARGET]  # the configured one is not another; openai has no key
    assert world.mirrored.warmed == 1

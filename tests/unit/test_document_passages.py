"""Reading a cited passage (GetPassage) in the in-memory world: its text whole, for
anyone of the document's dealership, and NotFound for everything else alike."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from avataradam.domain.access import Principal
from avataradam.domain.errors import NotFound
from avataradam.domain.filetypes import MARKDOWN
from avataradam.domain.model import Role, Topic
from avataradam.domain.usecases.documents import UploadedFile, UploadRequest
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings import load_settings
from tests.support.world import in_memory_container

GUIDE = (
    "# GAP waiver basics\n\n"
    "GAP covers the gap between the loan and the car's value.\n\n"
    "## Claims\n\n"
    "It pays the loan balance after a total loss, less the deductible.\n\n"
    "Claims need the insurer's settlement letter.\n"
)


@dataclass
class Store:
    container: Container
    admin: Principal
    trainee: Principal

    async def upload(self, text: str, filename: str = "gap.md") -> uuid.UUID:
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
            self.admin, UploadRequest(topic=Topic.PLAYBOOKS), scan, parts
        )
        return uploaded.value.id

    async def ingested(self, text: str = GUIDE) -> uuid.UUID:
        document_id = await self.upload(text)
        outcome = await self.container.ingest_document(document_id)
        assert outcome.status == "ready"
        return document_id


async def _store(container: Container, name: str) -> Store:
    dealership = await container.create_dealership.create(name)
    return Store(
        container,
        Principal(user_id=uuid.uuid4(), role=Role.DEALERSHIP_ADMIN, dealership_id=dealership.id),
        Principal(user_id=uuid.uuid4(), role=Role.USER, dealership_id=dealership.id),
    )


@pytest.fixture
def container() -> Container:
    return in_memory_container(load_settings({"AVATARADAM_EMBEDDER": "hashing"}, env_file=None))


async def test_a_trainee_reads_every_passage_of_a_ready_document_whole(
    container: Container,
) -> None:
    store = await _store(container, "Store")
    document_id = await store.ingested()
    async with container.uow() as uow:
        stored = await uow.chunks.of_document(document_id)

    read = [await container.get_passage(store.trainee, document_id, c.index) for c in stored]

    assert stored
    assert read == stored
    assert all(p.document_id == document_id and p.filename == "gap.md" for p in read)
    assert "Claims need the insurer's settlement letter." in read[-1].text
    assert read[-1].section == "Claims"


async def test_a_super_admin_reads_any_dealerships_passage(container: Container) -> None:
    store = await _store(container, "Store")
    document_id = await store.ingested()
    root = Principal(user_id=uuid.uuid4(), role=Role.SUPER_ADMIN, dealership_id=None)

    passage = await container.get_passage(root, document_id, 0)

    assert passage.text in GUIDE
    assert passage.dealership_id == store.admin.dealership_id


async def test_another_dealerships_passage_answers_like_a_missing_one(
    container: Container,
) -> None:
    victim = await _store(container, "Victim")
    attacker = await _store(container, "Attacker")
    document_id = await victim.ingested()

    for principal in (attacker.admin, attacker.trainee):
        with pytest.raises(NotFound) as foreign:
            await container.get_passage(principal, document_id, 0)
        with pytest.raises(NotFound) as missing:
            await container.get_passage(principal, uuid.uuid4(), 0)
        assert foreign.value.message == missing.value.message == "document not found"


@pytest.mark.parametrize("index", [-1, 10_000, 2**40])
async def test_an_index_past_the_document_is_not_found(container: Container, index: int) -> None:
    store = await _store(container, "Store")
    document_id = await store.ingested()

    with pytest.raises(NotFound, match="passage not found"):
        await container.get_passage(store.trainee, document_id, index)


async def test_passages_of_a_document_not_ready_are_not_served(container: Container) -> None:
    store = await _store(container, "Store")
    queued = await store.upload("Menu selling presents every product.\n", filename="menu.md")
    deleting = await store.ingested()
    await container.delete_document(store.admin, deleting)

    for document_id, status in ((queued, "queued"), (deleting, "deleting")):
        with pytest.raises(NotFound, match=f"the document is {status}"):
            await container.get_passage(store.trainee, document_id, 0)
    async with container.uow() as uow:
        assert await uow.chunks.count(deleting) > 0  # kept until the purge: still refused

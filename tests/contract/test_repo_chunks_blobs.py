"""Contract of the chunk and blob repositories, run against every adapter.

The PostgreSQL database is shared by the whole session, so every test makes its own
dealership and ids (uuid4) and never assumes a table is empty. The `uow` fixture (one
per adapter) is in `conftest.py`, the builders in `builders.py`.
"""

from __future__ import annotations

import hashlib
import os
from uuid import uuid4

import msgspec
import pytest

from avataradam.domain.errors import Conflict, NotFound
from avataradam.domain.model import (
    DocumentStatus,
)
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import (
    MIB,
    chunk,
    document,
    parts,
    seed,
)

# ---- chunks -------------------------------------------------------------------------


async def test_replacing_chunks_twice_leaves_one_set(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    doc = document(d.id, status=DocumentStatus.READY)
    chunks = [chunk(doc, i, f"passage {i}") for i in range(5)]
    async with uow() as work:
        await work.documents.add(doc)
        await work.chunks.replace(doc.id, chunks)
        await work.commit()
    async with uow() as work:
        await work.chunks.replace(doc.id, chunks)
        await work.commit()
    async with uow() as work:
        assert await work.chunks.count(doc.id) == 5
        stored = await work.chunks.get_many([c.id for c in chunks], dealership_id=d.id)
        assert stored == chunks
        await work.chunks.replace(doc.id, chunks[:2])
        assert await work.chunks.count(doc.id) == 2


async def test_a_chunks_heading_path_round_trips_and_of_document_lists_them_in_order(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    doc = document(d.id, status=DocumentStatus.PROCESSING)
    paths: list[tuple[str, ...] | None] = [
        ("Products", "GAP", "Claims"),
        (),
        None,
        ("Ñandú \u2019x\u2019",),
    ]
    chunks = [
        msgspec.structs.replace(chunk(doc, i, f"passage {i}"), section_path=path)
        for i, path in enumerate(paths)
    ]
    async with uow() as work:
        await work.documents.add(doc)
        await work.chunks.put(doc.id, list(reversed(chunks)))
        await work.commit()
    async with uow(read_only=True) as work:
        stored = await work.chunks.of_document(doc.id)

    assert [c.section_path for c in stored] == paths
    assert stored == chunks  # whatever the document's status


async def test_two_chunks_sharing_an_index_are_a_conflict(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    doc = document(d.id, status=DocumentStatus.READY)
    async with uow() as work:
        await work.documents.add(doc)
        await work.commit()
    twins = [chunk(doc, 0, "first"), msgspec.structs.replace(chunk(doc, 1, "again"), index=0)]
    for write in ("replace", "put"):
        async with uow() as work:
            with pytest.raises(Conflict):
                await getattr(work.chunks, write)(doc.id, twins)


async def test_putting_chunks_overwrites_by_index_and_delete_from_trims_the_rest(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    doc = document(d.id, status=DocumentStatus.READY)
    first = [chunk(doc, i, f"first run {i}") for i in range(6)]
    second = [chunk(doc, i, f"second run {i}") for i in range(4)]
    async with uow() as work:
        await work.documents.add(doc)
        await work.chunks.put(doc.id, first[:3])
        await work.commit()
    async with uow() as work:
        await work.chunks.put(doc.id, first[3:])
        await work.chunks.put(doc.id, second[:2])
        await work.commit()
    async with uow() as work:
        await work.chunks.put(doc.id, second[2:])
        assert await work.chunks.delete_from(doc.id, 4) == 2
        assert await work.chunks.delete_from(doc.id, 4) == 0
        await work.commit()
    async with uow() as work:
        assert await work.chunks.count(doc.id) == 4
        stored = await work.chunks.get_many([c.id for c in first], dealership_id=d.id)
        assert stored == second


async def test_chunks_come_back_in_the_order_asked_and_only_for_their_dealership(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    doc = document(d.id, status=DocumentStatus.READY)
    foreign = document(other.id, status=DocumentStatus.READY)
    async with uow() as work:
        await work.documents.add(doc)
        await work.documents.add(foreign)
        await work.chunks.replace(doc.id, [chunk(doc, i) for i in range(3)])
        await work.chunks.replace(foreign.id, [chunk(foreign, 0)])
        await work.commit()
    async with uow() as work:
        asked = [f"{doc.id}:2", f"{foreign.id}:0", "missing:0", f"{doc.id}:0"]
        got = await work.chunks.get_many(asked, dealership_id=d.id)
        assert [c.id for c in got] == [f"{doc.id}:2", f"{doc.id}:0"]
        await work.chunks.delete_document(doc.id)
        assert await work.chunks.count(doc.id) == 0
        assert await work.chunks.count(foreign.id) == 1


async def test_chunks_of_a_document_not_ready_are_never_served(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    docs = {status: document(d.id, status=status) for status in DocumentStatus}
    async with uow() as work:
        for doc in docs.values():
            await work.documents.add(doc)
            await work.chunks.replace(doc.id, [chunk(doc, 0)])
        await work.commit()
    async with uow() as work:
        got = await work.chunks.get_many(
            [f"{doc.id}:0" for doc in docs.values()], dealership_id=d.id
        )
    assert [c.document_id for c in got] == [docs[DocumentStatus.READY].id]


# ---- blobs --------------------------------------------------------------------------


async def test_multi_part_blob_round_trips_in_bounded_parts(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    doc = document(d.id)
    data = os.urandom(3 * MIB + MIB // 2)
    sizes = [1, 700_000, 3 * MIB // 2, 12345, 64 * 1024] * 3
    async with uow() as work:
        size = await work.blobs.write(doc.id, parts(data, sizes))
        await work.documents.add(msgspec.structs.replace(doc, size_bytes=size))
        await work.commit()
    assert size == len(data)
    async with uow(read_only=True) as work:
        read = [part async for part in work.blobs.read(doc.id)]
    assert all(len(p) <= MIB for p in read)
    assert len(read) == 4
    assert hashlib.sha256(b"".join(read)).hexdigest() == hashlib.sha256(data).hexdigest()


async def test_rewriting_a_blob_replaces_it_and_delete_removes_it(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    doc = document(d.id)
    async with uow() as work:
        await work.documents.add(doc)
        await work.blobs.write(doc.id, parts(os.urandom(2 * MIB), [MIB // 3]))
        assert await work.blobs.write(doc.id, parts(b"short", [2])) == 5
        await work.commit()
    async with uow() as work:
        assert b"".join([p async for p in work.blobs.read(doc.id)]) == b"short"
        await work.blobs.delete(doc.id)
        assert [p async for p in work.blobs.read(doc.id)] == []
        assert [p async for p in work.blobs.read(uuid4())] == []


async def test_a_blob_without_its_document_cannot_be_committed(uow: UnitOfWorkFactory) -> None:
    orphan = uuid4()
    async with uow() as work:
        await work.blobs.write(orphan, parts(b"bytes", [5]))
        with pytest.raises(NotFound):
            await work.commit()

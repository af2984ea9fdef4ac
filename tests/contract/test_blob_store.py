"""Blob stores behind uploads: rows in PostgreSQL and files in a directory."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from avataradam.adapters.filesystem.blobs import FilesystemBlobRepository
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain.errors import DependencyUnavailable
from tests.contract.builders import document, seed


@pytest.fixture(params=["postgres", "filesystem"])
async def uow(
    request: pytest.FixtureRequest, contract_database_url: str, tmp_path: Path
) -> AsyncIterator[PostgresUnitOfWorkFactory]:
    database = PostgresDatabase(
        contract_database_url,
        min_size=1,
        max_size=2,
        command_timeout_s=10,
        statement_cache_size=100,
    )
    await database.start()
    blobs = FilesystemBlobRepository(tmp_path / "blobs") if request.param == "filesystem" else None
    yield PostgresUnitOfWorkFactory(database, blobs=blobs)
    await database.close()


async def _parts(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_multi_part_blob_round_trips_in_parts_of_at_most_one_mib(
    uow: PostgresUnitOfWorkFactory,
) -> None:
    dealership, _ = await seed(uow)
    doc = document(dealership.id)
    data = os.urandom(3 * 1024 * 1024 + 12345)
    async with uow() as work:
        await work.documents.add(doc)
        assert await work.blobs.write(doc.id, _parts(data, 700_000)) == len(data)
        await work.commit()
    async with uow() as work:
        parts = [part async for part in work.blobs.read(doc.id)]
    assert max(len(p) for p in parts) <= 1024 * 1024
    assert hashlib.sha256(b"".join(parts)).digest() == hashlib.sha256(data).digest()
    async with uow() as work:
        await work.blobs.delete(doc.id)
        await work.commit()
    async with uow() as work:
        assert [part async for part in work.blobs.read(doc.id)] == []


async def test_an_unknown_blob_reads_as_empty(uow: PostgresUnitOfWorkFactory) -> None:
    async with uow() as work:
        assert [part async for part in work.blobs.read(uuid.uuid4())] == []


async def test_a_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    store = FilesystemBlobRepository(tmp_path)

    async def broken() -> AsyncIterator[bytes]:
        yield b"first part"
        raise OSError(5, "disk gone")

    with pytest.raises(DependencyUnavailable):
        await store.write(uuid.uuid4(), broken())
    assert await asyncio.to_thread(os.listdir, tmp_path) == []

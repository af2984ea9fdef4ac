"""Blob stores behind uploads: rows in PostgreSQL, files in a directory, and objects in an
S3-compatible bucket (moto's standalone server, a real S3 protocol server process)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from avataradam.adapters.filesystem.blobs import FilesystemBlobRepository
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.adapters.s3.blobs import S3BlobRepository
from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.ports.repositories.documents import BlobRepository
from ops.harness.services import PrivateS3
from tests.contract.builders import MIB, document, seed
from tests.support.s3_objects import (
    blob_store,
    new_bucket,
    object_etag,
    object_keys,
    pending_multipart_uploads,
)

PART = 5 * MIB
"""The S3 stores' part size here: S3's smallest."""


@pytest.fixture(params=["postgres", "filesystem", "s3"])
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
    blobs: BlobRepository | None = None
    if request.param == "filesystem":
        blobs = FilesystemBlobRepository(tmp_path / "blobs")
    elif request.param == "s3":
        server: PrivateS3 = request.getfixturevalue("s3_server")
        blobs = blob_store(server, new_bucket(server), part_size_bytes=PART)
    yield PostgresUnitOfWorkFactory(database, blobs=blobs)
    if isinstance(blobs, S3BlobRepository):
        await blobs.aclose()
    await database.close()


@pytest.fixture
async def s3_bucket(s3_server: PrivateS3) -> AsyncIterator[tuple[S3BlobRepository, str]]:
    """The S3 store on a bucket of its own, parts of PART bytes."""
    bucket = new_bucket(s3_server)
    store = blob_store(s3_server, bucket, part_size_bytes=PART)
    yield store, bucket
    await store.aclose()


async def _parts(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _read(store: BlobRepository, blob_id: uuid.UUID) -> bytes:
    return b"".join([part async for part in store.read(blob_id)])


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


async def test_a_second_write_replaces_the_blob(uow: PostgresUnitOfWorkFactory) -> None:
    dealership, _ = await seed(uow)
    doc = document(dealership.id)
    async with uow() as work:
        await work.documents.add(doc)
        await work.blobs.write(doc.id, _parts(b"first version, longer than the second", 8))
        await work.commit()
    async with uow() as work:
        assert await work.blobs.write(doc.id, _parts(b"second version", 5)) == 14
        await work.commit()
    async with uow() as work:
        assert await _read(work.blobs, doc.id) == b"second version"


async def test_deleting_an_unknown_blob_is_no_error(uow: PostgresUnitOfWorkFactory) -> None:
    async with uow() as work:
        await work.blobs.delete(uuid.uuid4())
        await work.commit()


async def test_a_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    store = FilesystemBlobRepository(tmp_path)

    async def broken() -> AsyncIterator[bytes]:
        yield b"first part"
        raise OSError(5, "disk gone")

    with pytest.raises(DependencyUnavailable):
        await store.write(uuid.uuid4(), broken())
    assert await asyncio.to_thread(os.listdir, tmp_path) == []


@pytest.mark.parametrize("size", [2 * PART, 2 * PART + 3 * MIB + 123])
async def test_a_blob_over_the_part_size_goes_up_part_by_part_as_it_is_read(
    s3_server: PrivateS3, s3_bucket: tuple[S3BlobRepository, str], size: int
) -> None:
    """Given a file of whole parts or more than two, when it is written in 1 MiB parts,
    then the first part is in the bucket (a multipart upload under way) before the
    file's last MiB has been read, and the object is one multipart upload of all parts."""
    store, bucket = s3_bucket
    blob_id = uuid.uuid4()
    data = os.urandom(size)
    in_flight_before_the_end: list[str] = []

    async def spooled() -> AsyncIterator[bytes]:
        for start in range(0, size, MIB):
            if start + MIB >= size:
                in_flight_before_the_end.extend(await pending_multipart_uploads(s3_server, bucket))
            yield data[start : start + MIB]

    assert await store.write(blob_id, spooled()) == size
    assert in_flight_before_the_end == [store.key(blob_id)]
    etag = await object_etag(s3_server, bucket, store.key(blob_id))
    assert etag is not None
    assert etag.endswith(f"-{-(-size // PART)}")  # S3's ETag of an upload in N parts
    assert await pending_multipart_uploads(s3_server, bucket) == []
    assert hashlib.sha256(await _read(store, blob_id)).digest() == hashlib.sha256(data).digest()


async def test_a_blob_under_the_part_size_is_one_plain_object(
    s3_server: PrivateS3, s3_bucket: tuple[S3BlobRepository, str]
) -> None:
    store, bucket = s3_bucket
    blob_id = uuid.uuid4()
    assert await store.write(blob_id, _parts(os.urandom(PART - 1), MIB)) == PART - 1
    etag = await object_etag(s3_server, bucket, store.key(blob_id))
    assert etag is not None
    assert "-" not in etag
    assert await object_keys(s3_server, bucket) == [f"documents/{blob_id}"]


async def test_a_write_failing_midway_aborts_its_upload_and_stores_nothing(
    s3_server: PrivateS3, s3_bucket: tuple[S3BlobRepository, str]
) -> None:
    """The spool's own error comes through unchanged, after the upload is aborted."""
    store, bucket = s3_bucket

    async def broken() -> AsyncIterator[bytes]:
        for _ in range(7):
            yield os.urandom(MIB)
        raise OSError(5, "spool file unreadable")

    with pytest.raises(OSError, match="spool file unreadable"):
        await store.write(uuid.uuid4(), broken())
    assert await pending_multipart_uploads(s3_server, bucket) == []
    assert await object_keys(s3_server, bucket) == []


async def test_deleting_a_blob_removes_its_object(
    s3_server: PrivateS3, s3_bucket: tuple[S3BlobRepository, str]
) -> None:
    store, bucket = s3_bucket
    kept, deleted = uuid.uuid4(), uuid.uuid4()
    await store.write(kept, _parts(b"kept", 4))
    await store.write(deleted, _parts(b"deleted", 4))
    await store.delete(deleted)
    assert await object_keys(s3_server, bucket) == [f"documents/{kept}"]
    assert await _read(store, deleted) == b""


async def test_a_missing_bucket_is_dependency_unavailable(s3_server: PrivateS3) -> None:
    store = blob_store(s3_server, f"avataradam-absent-{uuid.uuid4().hex[:8]}")
    try:
        with pytest.raises(DependencyUnavailable, match="NoSuchBucket"):
            await store.write(uuid.uuid4(), _parts(b"bytes", 5))
        with pytest.raises(DependencyUnavailable, match="NoSuchBucket"):
            await _read(store, uuid.uuid4())
    finally:
        await store.aclose()


async def test_with_the_s3_server_stopped_every_call_is_dependency_unavailable() -> None:
    """Given a store that has worked, when its S3 server is stopped, then writing,
    reading and deleting each raise DependencyUnavailable within their retries."""
    server = PrivateS3().start()
    store = blob_store(server, new_bucket(server), timeout_s=2, max_attempts=2)
    try:
        blob_id = uuid.uuid4()
        await store.write(blob_id, _parts(b"stored before the outage", 8))
        server.stop()
        started = time.monotonic()
        with pytest.raises(DependencyUnavailable, match="object storage could not write"):
            await store.write(uuid.uuid4(), _parts(os.urandom(PART + MIB), MIB))
        with pytest.raises(DependencyUnavailable, match="object storage could not read"):
            await _read(store, blob_id)
        with pytest.raises(DependencyUnavailable, match="object storage could not delete"):
            await store.delete(blob_id)
        assert time.monotonic() - started < 30
    finally:
        await store.aclose()
        server.stop()

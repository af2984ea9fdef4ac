"""PineconeVectorIndex against a real Pinecone index (cosine metric).

Runs only when PINECONE_API_KEY and PINECONE_INDEX_HOST (the index's data-plane host,
e.g. https://my-index-abc123.svc.aped-1234.pinecone.io) are set; the dimension is read
from the index. Everything happens in a fresh namespace that is emptied afterwards.
Pinecone is eventually consistent, so reads poll until the writes show.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from pinecone import AsyncIndex

from avataradam.adapters.vectors.pinecone import PineconeVectorIndex
from avataradam.domain.model import Topic
from avataradam.domain.ports.knowledge import VectorRecord, vector_id

API_KEY = os.environ.get("PINECONE_API_KEY", "")
INDEX_HOST = os.environ.get("PINECONE_INDEX_HOST", "")

pytestmark = pytest.mark.skipif(
    not (API_KEY and INDEX_HOST),
    reason="live Pinecone test needs PINECONE_API_KEY and PINECONE_INDEX_HOST",
)


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail("Pinecone did not reach the expected state in time")
        await asyncio.sleep(2)


@pytest.fixture
async def live_index() -> AsyncIterator[tuple[PineconeVectorIndex, str]]:
    async with AsyncIndex(host=INDEX_HOST, api_key=API_KEY) as raw:
        stats = await raw.describe_index_stats()
        assert stats.dimension is not None
        namespace = f"avataradam-live-test-{uuid.uuid4()}"
        index = PineconeVectorIndex(host=INDEX_HOST, api_key=API_KEY, dimension=stats.dimension)
        try:
            yield index, namespace
        finally:
            await index.close()
            await raw.delete(delete_all=True, namespace=namespace)


async def test_live_upsert_query_filter_and_delete(
    live_index: tuple[PineconeVectorIndex, str],
) -> None:
    index, namespace = live_index
    dimension = index.dimension
    books, videos = uuid.uuid4(), uuid.uuid4()

    def wave(seed: int) -> list[float]:
        return [math.sin(seed * 7.3 + k * 0.37) for k in range(dimension)]

    records = [
        VectorRecord(id=vector_id(books, i), values=wave(i), document_id=books, topic=Topic.BOOKS)
        for i in range(3)
    ] + [
        VectorRecord(
            id=vector_id(videos, 0), values=wave(9), document_id=videos, topic=Topic.VIDEOS
        )
    ]

    await index.upsert(namespace, records)
    await index.upsert(namespace, records)

    async def all_indexed() -> bool:
        return await index.count(namespace) == 4

    await eventually(all_indexed)
    assert await index.count(namespace, document_id=books) == 3
    matches = await index.query(namespace, wave(1), top_k=2)
    assert matches[0].id == vector_id(books, 1)
    assert matches[0].score == pytest.approx(1.0, abs=1e-3)
    only_videos = await index.query(namespace, wave(1), top_k=4, topics=[Topic.VIDEOS])
    assert [m.document_id for m in only_videos] == [videos]

    await index.delete_document(namespace, books)

    async def books_gone() -> bool:
        return await index.count(namespace) == 1

    await eventually(books_gone)
    assert await index.count(namespace, document_id=videos) == 1

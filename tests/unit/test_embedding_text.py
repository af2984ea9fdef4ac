"""The text embedded for a passage: its document's title and section, then its text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from avataradam.adapters.chunking import word_token_counter
from avataradam.domain.embedding_text import (
    AS_IS,
    MAX_SECTION_CHARS,
    MAX_TITLE_CHARS,
    EmbeddingContext,
    PassageText,
    context_prefix,
    document_title,
    readable_filename,
    vector_space,
)
from avataradam.domain.ports.knowledge import ChunkDraft

PASSAGE = "It pays the loan balance after a total loss."


def _titled(max_prefix_tokens: int | None = None) -> PassageText:
    return PassageText(
        EmbeddingContext.TITLE_SECTION,
        count_tokens=word_token_counter,
        max_prefix_tokens=max_prefix_tokens,
    )


@pytest.mark.parametrize(
    ("filename", "readable"),
    [
        ("gap_rate-card.v2.pdf", "gap rate card v2"),
        ("F&I Menu Selling.docx", "F&I Menu Selling"),
        ("uploads/2026/Warranty  Guide.md", "Warranty Guide"),
        ("C:\\docs\\vsc_terms.txt", "vsc terms"),
        ("README", "README"),
        (".md", "md"),
        ("___.pdf", ""),
    ],
)
def test_a_filename_reads_as_words_without_folders_or_extension(
    filename: str, readable: str
) -> None:
    assert readable_filename(filename) == readable


def test_the_title_is_the_files_own_then_its_opening_heading_then_its_filename() -> None:
    found = document_title(title="GAP  rate\ncard", opening_heading="Intro", filename="x.pdf")
    heading = document_title(title="  ", opening_heading="Menu selling", filename="x.md")
    named = document_title(title=None, opening_heading=None, filename="vsc_terms-2026.pdf")

    assert (found, heading, named) == ("GAP rate card", "Menu selling", "vsc terms 2026")


def test_a_long_title_is_cut_at_a_word_to_the_limit() -> None:
    title = document_title(title="warranty " * 40, opening_heading=None, filename="x.pdf")

    assert len(title) <= MAX_TITLE_CHARS
    assert title.endswith("warranty")


def test_the_prefix_names_title_and_section_on_their_own_lines() -> None:
    assert context_prefix("GAP basics", "Claims") == "Title: GAP basics\nSection: Claims\n\n"
    assert context_prefix("GAP basics", None) == "Title: GAP basics\n\n"
    assert context_prefix("GAP basics", "  ") == "Title: GAP basics\n\n"
    assert context_prefix("", "Claims") == ""


def test_a_section_is_one_line_of_bounded_length() -> None:
    prefix = context_prefix("T", "Claims\n\nand " + "limits " * 50)

    section = prefix.split("\n")[1]
    assert section.startswith("Section: Claims and limits")
    assert len(section.removeprefix("Section: ")) <= MAX_SECTION_CHARS


def test_the_passage_is_embedded_after_its_title_and_section() -> None:
    embedded = _titled().embedded(PASSAGE, title="GAP basics", section="Claims")

    assert embedded == f"Title: GAP basics\nSection: Claims\n\n{PASSAGE}"


def test_without_context_the_passage_is_embedded_as_it_is() -> None:
    none = PassageText(EmbeddingContext.NONE, count_tokens=len, max_prefix_tokens=0)

    assert none.embedded(PASSAGE, title="GAP basics", section="Claims") == PASSAGE
    assert AS_IS.batch([ChunkDraft(text=PASSAGE, section="Claims")], "GAP") == [PASSAGE]


def test_a_prefix_over_the_room_loses_section_words_first_then_title_words() -> None:
    title, section = "GAP waiver basics", "Claims after a total loss"  # 3 and 5 words

    # "Title:" and "Section:" count as words too.
    fitted = {
        room: _titled(room).embedded(PASSAGE, title=title, section=section).removesuffix(PASSAGE)
        for room in (10, 7, 6, 3, 2, 1, 0)
    }

    assert fitted == {
        10: "Title: GAP waiver basics\nSection: Claims after a total loss\n\n",
        7: "Title: GAP waiver basics\nSection: Claims after\n\n",
        6: "Title: GAP waiver basics\nSection: Claims\n\n",
        3: "Title: GAP waiver\n\n",
        2: "Title: GAP\n\n",
        1: "",
        0: "",
    }


def test_a_heading_path_is_embedded_without_the_headings_that_repeat_the_title() -> None:
    path = ("GAP waiver basics", "Claims", "Total loss")

    embedded = _titled().embedded(
        PASSAGE, title="GAP waiver basics", section=None, section_path=path
    )

    assert embedded == f"Title: GAP waiver basics\nSection: Claims > Total loss\n\n{PASSAGE}"


def test_a_path_over_the_room_loses_its_outer_headings_first() -> None:
    path = ("Products", "GAP waiver", "Claims after a total loss")

    fitted = {
        room: _titled(room)
        .embedded(PASSAGE, title="Guide", section="x", section_path=path)
        .removesuffix(PASSAGE)
        for room in (13, 11, 8, 4, 3)
    }

    assert fitted == {
        13: "Title: Guide\nSection: Products > GAP waiver > Claims after a total loss\n\n",
        11: "Title: Guide\nSection: GAP waiver > Claims after a total loss\n\n",
        8: "Title: Guide\nSection: Claims after a total loss\n\n",
        4: "Title: Guide\nSection: Claims\n\n",
        3: "Title: Guide\n\n",
    }


def test_the_same_format_gives_the_same_text_every_time() -> None:
    drafts = [ChunkDraft(text=PASSAGE, section="Claims"), ChunkDraft(text="Rates.", section=None)]

    first = _titled(8).batch(drafts, "GAP waiver basics")

    assert first == _titled(8).batch(drafts, "GAP waiver basics")
    assert first[1] == "Title: GAP waiver basics\n\nRates."


@given(
    title=st.text(max_size=300),
    section=st.none() | st.text(max_size=300),
    text=st.text(min_size=1, max_size=200),
    room=st.none() | st.integers(min_value=0, max_value=60),
)
def test_the_passage_text_is_always_embedded_whole_after_a_prefix_within_the_room(
    title: str, section: str | None, text: str, room: int | None
) -> None:
    embedded = _titled(room).embedded(text, title=title, section=section)

    assert embedded.endswith(text)
    prefix = embedded[: len(embedded) - len(text)]
    assert room is None or word_token_counter(prefix) <= room
    assert prefix == "" or (prefix.startswith("Title: ") and prefix.endswith("\n\n"))
    assert len(prefix) <= len("Title: \nSection: \n\n") + MAX_TITLE_CHARS + MAX_SECTION_CHARS


def test_vectors_of_another_format_are_in_another_space() -> None:
    model = "sentence-transformers/all-MiniLM-L6-v2"

    assert vector_space(model, EmbeddingContext.NONE) == model
    assert vector_space(model, EmbeddingContext.TITLE_SECTION) == f"{model}+title_section.v1"
    assert _titled().vector_space(model) == vector_space(model, EmbeddingContext.TITLE_SECTION)

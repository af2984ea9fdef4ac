"""PDF outlines and HTML headings give passages the heading paths embedded with them,
and HTML and DOCX name a document by the heading they open with where they have no
title; the passages stored are their own text (issue 16)."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from avataradam.adapters.chunking import word_token_counter
from avataradam.adapters.extract import (
    DocxTextExtractor,
    HtmlTextExtractor,
    PlainTextExtractor,
    PypdfTextExtractor,
)
from avataradam.adapters.extract.outline import MAX_SEARCHED_PER_PAGE
from avataradam.domain.embedding_text import EmbeddingContext, PassageText
from avataradam.domain.filetypes import DOCX, HTML, MARKDOWN, PDF, PLAIN_TEXT
from tests.fixtures import corpus_pdf
from tests.fixtures.hostile import minimal_pdf, write_docx
from tests.fixtures.pipeline import Pipeline


def _page(*lines: str) -> bytes:
    """A one-page PDF showing `lines`, one under the other."""
    shown = b" 0 -30 Td ".join(b"(%s) Tj" % line.encode("latin-1") for line in lines)
    return minimal_pdf(b"BT /F1 18 Tf 72 700 Td " + shown + b" ET")


def _outlined_pdf(pages: list[tuple[str, ...]], outline: list[tuple[str, int, int]]) -> bytes:
    """A PDF of `pages` (each its lines; none: a page without text) whose outline has
    the (title, 0-based page, parent's index in `outline` or -1) entries."""
    writer = pypdf.PdfWriter()
    for lines in pages:
        page = pypdf.PdfReader(io.BytesIO(_page(*lines) if lines else _page())).pages[0]
        writer.add_page(page)
    items: list[pypdf.generic.IndirectObject] = []
    for title, page_index, parent in outline:
        items.append(
            writer.add_outline_item(
                title=title,
                page_number=page_index,
                parent=items[parent] if parent >= 0 else None,
            )
        )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


GUIDE_PAGES = [
    ("F and I guide", "Read this first."),
    ("1 GAP waiver", "GAP covers the gap.", "1.1 Claims", "It pays after a total loss."),
    ("The claim needs the police report.",),
    ("2. Service contracts", "A VSC repairs the car."),
    ("Tires are covered by road hazard.",),  # an entry whose title is not on the page
]
GUIDE_OUTLINE = [
    ("GAP waiver", 1, -1),
    ("Claims", 1, 0),
    ("Service contracts", 3, -1),
    ("Road hazard", 4, 2),
]


def _sections(tmp_path: Path, data: bytes) -> list[tuple[int | None, str, tuple[str, ...]]]:
    path = tmp_path / "guide.pdf"
    path.write_bytes(data)
    extraction = PypdfTextExtractor().extract(path, PDF)
    return [(s.page, s.text.split("\n")[0], s.section_path) for s in extraction.sections]


def test_pdf_pages_lie_under_the_outline_entries_that_start_on_or_before_them(
    tmp_path: Path,
) -> None:
    sections = _sections(tmp_path, _outlined_pdf(GUIDE_PAGES, GUIDE_OUTLINE))

    assert sections == [
        (1, "F and I guide", ()),
        (2, "1 GAP waiver", ("GAP waiver",)),  # the title after a section number
        (2, "1.1 Claims", ("GAP waiver", "Claims")),  # cut mid-page at the title's line
        (3, "The claim needs the police report.", ("GAP waiver", "Claims")),
        (4, "2. Service contracts", ("Service contracts",)),
        (5, "Tires are covered by road hazard.", ("Service contracts", "Road hazard")),
    ]


def test_an_entry_on_a_page_without_text_covers_the_pages_after_it(tmp_path: Path) -> None:
    pages = [("Intro.",), (), ("Rates apply to new cars.",)]

    sections = _sections(tmp_path, _outlined_pdf(pages, [("Rates", 1, -1)]))

    assert sections == [(1, "Intro.", ()), (3, "Rates apply to new cars.", ("Rates",))]


def test_only_the_first_entries_of_a_page_are_looked_for_in_its_lines(tmp_path: Path) -> None:
    outline = [(f"H{number}", 0, -1) for number in range(MAX_SEARCHED_PER_PAGE + 5)]
    path = tmp_path / "many.pdf"
    path.write_bytes(_outlined_pdf([("Intro.", "H1", "One.", "H22", "Late.")], outline))

    sections = list(PypdfTextExtractor().extract(path, PDF).sections)

    last = (f"H{MAX_SEARCHED_PER_PAGE + 4}",)
    assert [(s.text, s.section_path) for s in sections] == [
        ("Intro.", ("H0",)),  # an entry whose title no line reads covers what follows
        ("H1\nOne.\nH22\nLate.", last),  # H22, not looked for, does not cut the page
    ]


def test_a_pdf_without_outline_has_pages_without_headings(tmp_path: Path) -> None:
    sections = _sections(tmp_path, _outlined_pdf(GUIDE_PAGES, []))

    assert [(page, path) for page, _, path in sections] == [(n, ()) for n in range(1, 6)]
    assert (
        len(list(PypdfTextExtractor().extract(corpus_pdf("pdflatex-4-pages.pdf"), PDF).sections))
        == 4
    )


def test_a_real_outline_names_chapters_and_their_sections() -> None:
    extraction = PypdfTextExtractor().extract(corpus_pdf("GeoTopo-komprimiert.pdf"), PDF)

    paths: dict[tuple[str, ...], int | None] = {}
    for section in extraction.sections:
        paths.setdefault(section.section_path, section.page)  # where each path starts

    assert paths[("1 Topologische Grundbegriffe",)] == 6
    assert paths[("1 Topologische Grundbegriffe", "1.2 Metrische Räume")] == 10


def test_an_outline_too_deep_to_read_is_skipped_with_a_warning(tmp_path: Path) -> None:
    outline = [(f"Level {depth}", 0, depth - 1) for depth in range(120)]
    path = tmp_path / "deep.pdf"
    path.write_bytes(_outlined_pdf([("Body text.",)], outline))

    extraction = PypdfTextExtractor().extract(path, PDF)

    assert [(s.text, s.section_path) for s in extraction.sections] == [("Body text.", ())]
    assert extraction.warnings == [
        "the outline (bookmarks) is unreadable: pages read without headings"
    ]


PAGE = """<html><head><title>Menu selling</title></head><body>
<nav>Home | Products</nav>
<main><h1>Menu <em>selling</em></h1><p>Show all options.</p>
<section><h2>GAP</h2><p>GAP covers the gap.</p>
<div><h4>Claims</h4><p>It pays after a total loss.</p></div></section>
<h3></h3><p>Still about GAP claims.</p>
<h2>Service contracts</h2><p>A VSC repairs the car.</p>
<h1>Rates</h1><p>Rates apply to new cars.</p></main></body></html>
"""


def test_html_headings_nest_by_level_wherever_they_sit(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(PAGE, encoding="utf-8")

    extraction = HtmlTextExtractor().extract(path, HTML)

    assert [(s.text, s.section, s.section_path) for s in extraction.sections] == [
        ("Menu selling\n\nHome | Products", None, ()),
        ("Menu selling\n\nShow all options.", "Menu selling", ("Menu selling",)),
        ("GAP\n\nGAP covers the gap.", "GAP", ("Menu selling", "GAP")),
        (
            "Claims\n\nIt pays after a total loss.\n\nStill about GAP claims.",
            "Claims",
            ("Menu selling", "GAP", "Claims"),
        ),
        (
            "Service contracts\n\nA VSC repairs the car.",
            "Service contracts",
            ("Menu selling", "Service contracts"),
        ),
        ("Rates\n\nRates apply to new cars.", "Rates", ("Rates",)),
    ]
    assert (extraction.title, extraction.opening_heading) == ("Menu selling", "Menu selling")


def test_html_without_title_is_named_by_its_first_h1(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<p>Intro.</p><h2>Rates</h2><p>Low.</p><h1> GAP  guide </h1><p>x</p>")

    extraction = HtmlTextExtractor().extract(path, HTML)

    assert (extraction.title, extraction.opening_heading) == (None, "GAP guide")


def test_a_heading_marker_in_the_page_itself_does_not_cut_it(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<h1>A</h1><p>\ue0000\ue001 and \ue000ff0\ue001 stay text.</p>", encoding="utf-8"
    )

    [section] = list(HtmlTextExtractor().extract(path, HTML).sections)

    assert section.section_path == ("A",)
    assert "stay text" in section.text


@pytest.mark.parametrize(
    ("blocks", "opening"),
    [
        (
            [("Title", " Sales  playbook "), ("Heading 1", "GAP"), ("Normal", "A.")],
            "Sales playbook",
        ),
        ([("Heading 2", "Claims"), ("Normal", "A.")], "Claims"),
        ([("Normal", "Intro."), ("Heading 1", "GAP")], None),
        ([("Normal", ""), ("Heading 1", "GAP"), ("Normal", "A.")], "GAP"),  # past empty ones
    ],
)
def test_a_docx_body_opening_with_a_heading_is_named_by_it(
    tmp_path: Path, blocks: list[tuple[str, str]], opening: str | None
) -> None:
    extraction = DocxTextExtractor().extract(write_docx(tmp_path / "d.docx", blocks), DOCX)

    assert (extraction.title, extraction.opening_heading) == (None, opening)


SETEXT = """Sales guide
===========

Intro.

GAP
---
Covers the gap.

- a list item
---

```
not a heading
=============
```

## Claims
Pays.

Two lines
of a paragraph
---
"""


def test_markdown_setext_headings_name_sections_as_atx_headings_do(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(SETEXT, encoding="utf-8")

    extraction = PlainTextExtractor().extract(path, MARKDOWN)
    sections = list(extraction.sections)

    assert [(s.text.split("\n")[0], s.section_path) for s in sections] == [
        ("Sales guide", ("Sales guide",)),
        ("GAP", ("Sales guide", "GAP")),  # a list item and fenced code underlined are not
        ("## Claims", ("Sales guide", "Claims")),  # nor a paragraph of two lines
    ]
    assert extraction.opening_heading == "Sales guide"
    lines = [line for section in sections for line in section.text.splitlines()]
    assert [line for line in lines if line] == [line for line in SETEXT.splitlines() if line]


def test_setext_underlines_in_plain_text_are_text(tmp_path: Path) -> None:
    path = tmp_path / "guide.txt"
    path.write_text(SETEXT, encoding="utf-8")

    extraction = PlainTextExtractor().extract(path, PLAIN_TEXT)

    assert [s.section_path for s in extraction.sections] == [()]
    assert extraction.opening_heading is None


def _titled() -> PassageText:
    return PassageText(
        EmbeddingContext.TITLE_SECTION, count_tokens=word_token_counter, max_prefix_tokens=None
    )


def _guide_pdf() -> bytes:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(_outlined_pdf(GUIDE_PAGES, GUIDE_OUTLINE)))
    writer.add_metadata({"/Title": "F&I guide"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "content_type", "filename", "title", "section_lines"),
    [
        (
            _guide_pdf(),
            PDF,
            "guide.pdf",
            "F&I guide",
            [
                "",
                "GAP waiver",
                "GAP waiver > Claims",
                "GAP waiver > Claims",
                "Service contracts",
                "Service contracts > Road hazard",
            ],
        ),
        (
            PAGE.encode(),
            HTML,
            "page.html",
            "Menu selling",  # the h1 that repeats the title is not repeated
            ["", "", "GAP", "GAP > Claims", "Service contracts", "Rates"],
        ),
    ],
)
async def test_stored_passages_are_their_own_text_and_only_the_embedded_gain_the_path(
    data: bytes, content_type: str, filename: str, title: str, section_lines: list[str]
) -> None:
    plain, titled = Pipeline(), Pipeline(passage_text=_titled())

    _, plain_document = await plain.run(data, content_type, filename)
    outcome, document = await titled.run(data, content_type, filename)

    assert outcome.status == "ready"
    stored = [chunk.text for chunk in await titled.chunks(document)]
    assert stored == [chunk.text for chunk in await plain.chunks(plain_document)]
    assert plain.recorder.texts == stored
    assert not any("Title:" in text or "Section:" in text for text in stored)
    expected = [
        f"Title: {title}\n" + (f"Section: {section}\n" if section else "") + f"\n{text}"
        for section, text in zip(section_lines, stored, strict=True)
    ]
    assert titled.recorder.texts == expected

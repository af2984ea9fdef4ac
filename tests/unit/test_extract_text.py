from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from avataradam.adapters.extract import (
    CompositeTextExtractor,
    HtmlTextExtractor,
    PlainTextExtractor,
)
from avataradam.domain.codes import EMPTY_TEXT, TOO_LARGE, UNDECODABLE_TEXT, UNSUPPORTED_TYPE
from avataradam.domain.filetypes import DOCX, HTML, MARKDOWN, PDF, PLAIN_TEXT
from avataradam.domain.ports.knowledge import ExtractedSection, ExtractionFailed
from tests.fixtures import corpus_pdf
from tests.fixtures.hostile import write_docx
from tests.support.filetypes import sniff_file

HTML_PAGE = """<!DOCTYPE html>
<html><head><title>Menu selling</title>
<style>body { color: red; }</style>
<script>var secret = "tracking-code";</script></head>
<body><h1>Menu selling</h1>
<p>Present <b>three</b> options &amp; let the customer choose.</p>
<ul><li>Platinum</li><li>Gold</li></ul></body></html>
"""

LATIN1_TEXT = (
    "Einwandbehandlung für Verkäufer.\n"
    "Der Kunde sagt: Die Garantieverlängerung ist mir zu teuer. "
    "Überzeugen Sie ihn mit den Reparaturkosten nach Ablauf der Herstellergarantie, "
    "zum Beispiel für Getriebe, Klimaanlage und Elektronik. Größere Schäden kosten "
    "schnell mehr als die gesamte Prämie.\n"
)

MARKDOWN_TEXT = """Intro line before any heading.

# Objections

Listen first.

```
# not a heading inside code
```

## Price ##

Break the cost down per month.
"""


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_html_yields_visible_text_without_scripts_or_styles(tmp_path: Path) -> None:
    path = _write(tmp_path, "page.html", HTML_PAGE.encode())

    [head, section] = list(HtmlTextExtractor().extract(path, HTML).sections)

    assert head.text == "Menu selling"  # the <title>, before the page's first heading
    assert section.text.startswith("Menu selling\n\nPresent three")
    assert "Present three options & let the customer choose." in section.text
    assert "Platinum" in section.text
    assert "tracking-code" not in section.text
    assert "color" not in section.text
    assert "<" not in section.text


def test_html_without_visible_text_fails_as_empty(tmp_path: Path) -> None:
    path = _write(tmp_path, "blank.html", b"<html><script>x()</script></html>")
    with pytest.raises(ExtractionFailed) as failure:
        list(HtmlTextExtractor().extract(path, HTML).sections)
    assert failure.value.reason == EMPTY_TEXT


def test_latin1_text_is_decoded_without_mojibake(tmp_path: Path) -> None:
    path = _write(tmp_path, "einwand.txt", LATIN1_TEXT.encode("latin-1"))

    [section] = list(PlainTextExtractor().extract(path, PLAIN_TEXT).sections)

    assert section.text == LATIN1_TEXT.strip()


def test_utf16_text_with_bom_is_decoded(tmp_path: Path) -> None:
    path = _write(tmp_path, "gap.txt", "GAP pays the difference.\r\n".encode("utf-16"))

    [section] = list(PlainTextExtractor().extract(path, PLAIN_TEXT).sections)

    assert section.text == "GAP pays the difference."


def test_nul_and_control_characters_are_removed(tmp_path: Path) -> None:
    path = _write(tmp_path, "dirty.txt", "a\u0001b\tc\nd\u007f".encode())

    [section] = list(PlainTextExtractor().extract(path, PLAIN_TEXT).sections)

    assert section.text == "ab\tc\nd"


def test_markdown_headings_name_sections_but_code_fences_do_not(tmp_path: Path) -> None:
    path = _write(tmp_path, "objections.md", MARKDOWN_TEXT.encode())

    sections = list(PlainTextExtractor().extract(path, MARKDOWN).sections)

    assert [section.section for section in sections] == [None, "Objections", "Price"]
    assert "# not a heading inside code" in sections[1].text
    assert sections[2].text == "## Price ##\n\nBreak the cost down per month."


def test_markdown_heading_markers_in_plain_text_do_not_split(tmp_path: Path) -> None:
    path = _write(tmp_path, "objections.txt", MARKDOWN_TEXT.encode())

    sections = list(PlainTextExtractor().extract(path, PLAIN_TEXT).sections)

    assert len(sections) == 1
    assert sections[0].section is None


def test_whitespace_only_text_fails_as_empty(tmp_path: Path) -> None:
    path = _write(tmp_path, "blank.txt", b" \n\t\n")
    with pytest.raises(ExtractionFailed) as failure:
        list(PlainTextExtractor().extract(path, PLAIN_TEXT).sections)
    assert failure.value.reason == EMPTY_TEXT


def test_text_file_over_the_byte_limit_is_too_large_without_reading(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.txt", b"word " * 1000)
    with pytest.raises(ExtractionFailed) as failure:
        list(PlainTextExtractor(max_bytes=1000).extract(path, PLAIN_TEXT).sections)
    assert failure.value.reason == TOO_LARGE


def test_undecodable_binary_is_refused_as_undecodable_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "noise.txt", bytes(range(256)) * 8)
    with pytest.raises(ExtractionFailed) as failure:
        list(PlainTextExtractor().extract(path, PLAIN_TEXT).sections)
    assert failure.value.reason == UNDECODABLE_TEXT


def test_a_large_text_streams_as_sections_cut_at_paragraph_breaks(tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {number} on menu selling and GAP." for number in range(400)]
    path = _write(tmp_path, "long.txt", "\n\n".join(paragraphs).encode())

    sections = list(PlainTextExtractor(section_chars=1000).extract(path, PLAIN_TEXT).sections)

    assert len(sections) > 10
    assert all(len(section.text) <= 2100 for section in sections)
    assert "\n\n".join(section.text for section in sections) == "\n\n".join(paragraphs)


def test_a_text_without_line_breaks_still_streams_in_bounded_sections(tmp_path: Path) -> None:
    text = "warranty " * 2000
    path = _write(tmp_path, "one-line.txt", text.encode())

    sections = list(PlainTextExtractor(section_chars=1000).extract(path, PLAIN_TEXT).sections)

    assert all(len(section.text) <= 2000 for section in sections)
    assert " ".join(section.text for section in sections).split() == text.split()


def test_a_markdown_section_longer_than_the_bound_keeps_its_heading(tmp_path: Path) -> None:
    body = "\n\n".join(f"Step {number}: present the menu." for number in range(200))
    path = _write(tmp_path, "long.md", f"# Menu\n\n{body}\n".encode())

    sections = list(PlainTextExtractor(section_chars=500).extract(path, MARKDOWN).sections)

    assert len(sections) > 5
    assert {section.section for section in sections} == {"Menu"}


def test_html_title_names_the_document_and_images_are_counted(tmp_path: Path) -> None:
    page = HTML_PAGE.replace("<ul>", '<img src="car.png"><img src="data:image/png;base64,AA"><ul>')
    extraction = HtmlTextExtractor().extract(_write(tmp_path, "p.html", page.encode()), HTML)
    list(extraction.sections)

    assert extraction.title == "Menu selling"
    assert extraction.warnings == ["2 images without text skipped"]


def test_composite_dispatches_each_sniffed_file_to_its_extractor(tmp_path: Path) -> None:
    pdf = shutil.copyfile(corpus_pdf("google-doc-document.pdf"), tmp_path / "zen.pdf")
    word = write_docx(tmp_path / "guide.docx", [("Heading 1", "GAP"), ("Normal", "Gap cover")])
    page = _write(tmp_path, "page.html", HTML_PAGE.encode())
    notes = _write(tmp_path, "notes.md", MARKDOWN_TEXT.encode())
    extractor = CompositeTextExtractor.default()

    results: dict[str, list[ExtractedSection]] = {}
    for path in (pdf, word, page, notes):
        content_type = sniff_file(path, path.name)
        assert content_type is not None
        results[content_type] = list(extractor.extract(path, content_type).sections)

    assert set(results) == {PDF, DOCX, HTML, MARKDOWN}
    assert "Beautiful is better than ugly" in results[PDF][0].text
    assert results[DOCX][0].section == "GAP"
    assert "Platinum" in results[HTML][-1].text
    assert results[MARKDOWN][1].section == "Objections"


def test_composite_ignores_content_type_parameters(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.txt", b"hello")

    sections = list(
        CompositeTextExtractor.default().extract(path, "Text/Plain; charset=utf-8").sections
    )

    assert sections == [ExtractedSection(text="hello")]


def test_composite_refuses_an_unregistered_type(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.png", b"\x89PNG")
    with pytest.raises(ExtractionFailed) as failure:
        list(CompositeTextExtractor.default().extract(path, "image/png").sections)
    assert failure.value.reason == UNSUPPORTED_TYPE

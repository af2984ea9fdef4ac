from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from avataradam.adapters.extract import CORRUPT_FILE, EMPTY_TEXT, TOO_LARGE, DocxTextExtractor
from avataradam.domain.filetypes import DOCX
from avataradam.domain.ports.knowledge import ExtractionFailed
from tests.fixtures.hostile import docx_with_document_xml, docx_zip_bomb, write_docx

PLAYBOOK = [
    ("Normal", "Read this before your first deal."),
    ("Title", "F&I Playbook"),
    ("Normal", "Welcome to the desk."),
    ("Heading 1", "Price objections"),
    ("Normal", "Acknowledge the concern, then reframe the monthly cost."),
    ("table", "GAP|Covers the loan gap"),
    ("Heading 2", "Service contracts"),
    ("Normal", "Explain repair costs after the factory warranty."),
]


def _reason(extractor: DocxTextExtractor, path: Path) -> str:
    with pytest.raises(ExtractionFailed) as failure:
        list(extractor.extract(path, DOCX).sections)
    return failure.value.reason


@pytest.fixture
def playbook(tmp_path: Path) -> Path:
    return write_docx(tmp_path / "playbook.docx", PLAYBOOK)


def test_docx_is_split_into_sections_named_by_their_heading(playbook: Path) -> None:
    sections = list(DocxTextExtractor().extract(playbook, DOCX).sections)

    assert [section.section for section in sections] == [
        None,
        "F&I Playbook",
        "Price objections",
        "Service contracts",
    ]
    assert sections[0].text == "Read this before your first deal."
    assert sections[2].text.startswith("Price objections\nAcknowledge the concern")
    assert all(section.page is None for section in sections)


def test_docx_table_cells_are_kept_in_their_section(playbook: Path) -> None:
    sections = list(DocxTextExtractor().extract(playbook, DOCX).sections)

    price = next(section for section in sections if section.section == "Price objections")
    assert "GAP | Covers the loan gap" in price.text


def test_docx_zip_bomb_is_refused_before_parsing(playbook: Path, tmp_path: Path) -> None:
    bomb = docx_zip_bomb(playbook, tmp_path / "bomb.docx", inflated_mib=64)
    assert bomb.stat().st_size < 1024 * 1024

    started = time.monotonic()
    reason = _reason(DocxTextExtractor(), bomb)

    assert reason == TOO_LARGE
    assert time.monotonic() - started < 1


def test_docx_declaring_more_uncompressed_bytes_than_allowed_is_too_large(
    playbook: Path,
) -> None:
    assert _reason(DocxTextExtractor(max_uncompressed_bytes=10_000), playbook) == TOO_LARGE


def test_docx_with_too_many_entries_is_too_large(playbook: Path) -> None:
    assert _reason(DocxTextExtractor(max_entries=3), playbook) == TOO_LARGE


def test_truncated_docx_is_corrupt(playbook: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(playbook.read_bytes()[:1500])
    assert _reason(DocxTextExtractor(), truncated) == CORRUPT_FILE


def test_zip_without_a_word_document_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "other.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a word file")
    assert _reason(DocxTextExtractor(), path) == CORRUPT_FILE


def test_docx_without_text_fails_as_empty(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "blank.docx", [("Normal", "   ")])
    assert _reason(DocxTextExtractor(), path) == EMPTY_TEXT


def test_docx_with_entity_expansion_does_not_expand(playbook: Path, tmp_path: Path) -> None:
    entities = "".join(f'<!ENTITY e{level} "{f"&e{level - 1};" * 10}">' for level in range(1, 10))
    document_xml = (
        '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY e0 "lol">'
        + entities
        + ']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&e9;</w:t></w:r></w:p></w:body></w:document>"
    ).encode()
    path = docx_with_document_xml(playbook, tmp_path / "laughs.docx", document_xml)

    started = time.monotonic()
    with pytest.raises(ExtractionFailed) as failure:
        list(DocxTextExtractor().extract(path, DOCX).sections)

    assert failure.value.reason in {CORRUPT_FILE, EMPTY_TEXT}
    assert time.monotonic() - started < 2

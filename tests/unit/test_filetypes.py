from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from avataradam.domain.filetypes import (
    ALLOWED_CONTENT_TYPES,
    DOCX,
    FALLBACK_FILENAME,
    HTML,
    MARKDOWN,
    MAX_FILENAME_CHARS,
    PDF,
    PLAIN_TEXT,
    SNIFF_HEAD_BYTES,
    confirm_content_type,
    is_docx,
    safe_filename,
    sniff_content_type,
)
from tests.fixtures import corpus_pdf
from tests.support.filetypes import sniff_file


def _docx_bytes() -> bytes:
    document = docx.Document()
    document.add_paragraph("Hello")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _zip_bytes(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return buffer.getvalue()


def test_pdf_is_recognised_by_magic_bytes_whatever_its_name() -> None:
    assert sniff_content_type(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "notes.txt") == PDF


def test_real_corpus_pdf_is_sniffed_as_pdf() -> None:
    pdf = corpus_pdf("pdflatex-4-pages.pdf")
    assert sniff_file(pdf, "x.bin") == PDF


def test_executable_renamed_to_pdf_is_refused() -> None:
    exe_head = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48
    assert sniff_content_type(exe_head, "invoice.pdf") is None


@pytest.mark.parametrize(
    "head",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        b"GIF89a\x01\x00\x01\x00",
        b"\x1f\x8b\x08\x00",
        b"\x7fELF\x02\x01\x01",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    ],
)
def test_binary_formats_are_refused_even_with_a_text_name(head: bytes) -> None:
    assert sniff_content_type(head, "notes.txt") is None


def test_docx_head_is_a_candidate_that_the_spooled_file_confirms(tmp_path: Path) -> None:
    data = _docx_bytes()
    path = tmp_path / "guide.docx"
    path.write_bytes(data)

    sniffed = sniff_content_type(data[:SNIFF_HEAD_BYTES], "guide.docx")

    assert sniffed == DOCX
    assert confirm_content_type(path, sniffed) == DOCX
    assert sniff_file(path, "renamed.bin") == DOCX


def test_plain_zip_named_docx_is_refused_after_confirmation(tmp_path: Path) -> None:
    data = _zip_bytes(["readme.txt", "payload.exe"])
    path = tmp_path / "fake.docx"
    path.write_bytes(data)

    sniffed = sniff_content_type(data[:SNIFF_HEAD_BYTES], "fake.docx")

    assert sniffed == DOCX
    assert confirm_content_type(path, sniffed) is None
    assert is_docx(path) is False


def test_plain_zip_without_docx_hints_is_refused_from_its_head() -> None:
    assert sniff_content_type(_zip_bytes(["a.txt"]), "archive.zip") is None


def test_is_docx_is_false_for_a_truncated_zip(tmp_path: Path) -> None:
    path = tmp_path / "cut.docx"
    path.write_bytes(_docx_bytes()[:200])
    assert is_docx(path) is False


@pytest.mark.parametrize(
    "head",
    [
        b"<!DOCTYPE html><html><body>x</body></html>",
        b"\xef\xbb\xbf  \n<!doctype HTML>\n<html>",
        b"\n\t<html lang='en'><head>",
        "<html><body>ü</body></html>".encode("utf-16"),
    ],
)
def test_html_is_recognised_after_bom_and_whitespace(head: bytes) -> None:
    assert sniff_content_type(head, "page.txt") == HTML


def test_text_mentioning_html_is_not_html() -> None:
    assert sniff_content_type(b"How to write <html> tags", "a.html") == PLAIN_TEXT


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("notes.md", MARKDOWN),
        ("NOTES.MARKDOWN", MARKDOWN),
        ("notes.txt", PLAIN_TEXT),
        ("notes", PLAIN_TEXT),
        ("../../notes.md", MARKDOWN),
    ],
)
def test_text_type_follows_the_markdown_filename_suffix(filename: str, expected: str) -> None:
    assert sniff_content_type(b"# Title\n\nBody text.\n", filename) == expected


def test_latin1_text_without_nul_bytes_is_plain_text() -> None:
    head = "Preis für die Garantie: 12 € — Überzeugung".encode("cp1252")
    assert sniff_content_type(head, "objections.txt") == PLAIN_TEXT


def test_utf16_text_with_bom_is_plain_text() -> None:
    assert sniff_content_type("GAP covers the gap.".encode("utf-16"), "gap.txt") == PLAIN_TEXT


def test_utf8_character_cut_at_the_end_of_the_head_is_still_text() -> None:
    head = ("a" * (SNIFF_HEAD_BYTES - 1) + "€").encode()[:SNIFF_HEAD_BYTES]
    assert sniff_content_type(head, "x.txt") == PLAIN_TEXT


def test_text_with_nul_bytes_is_refused() -> None:
    assert sniff_content_type(b"hello\x00world", "x.txt") is None


def test_empty_file_is_refused() -> None:
    assert sniff_content_type(b"", "x.txt") is None


@given(st.text(min_size=1).filter(lambda s: "\x00" not in s and s.isprintable()))
def test_printable_utf8_text_is_always_accepted_as_text(text: str) -> None:
    assert sniff_content_type(text.encode(), "doc.txt") in {PLAIN_TEXT, HTML}


def test_every_sniffed_type_is_allowed() -> None:
    assert {PDF, DOCX, HTML, PLAIN_TEXT, MARKDOWN} <= ALLOWED_CONTENT_TYPES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\adam\\guide.pdf", "guide.pdf"),
        ("..", FALLBACK_FILENAME),
        ("", FALLBACK_FILENAME),
        ("   ", FALLBACK_FILENAME),
        ("a/b/", FALLBACK_FILENAME),
        ("report\x00\r\n.pdf", "report.pdf"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ("Preisgespräch.docx", "Preisgespräch.docx"),
    ],
)
def test_safe_filename_strips_paths_and_control_characters(raw: str, expected: str) -> None:
    assert safe_filename(raw) == expected


def test_safe_filename_bounds_length_and_keeps_the_extension() -> None:
    name = safe_filename("x" * 1000 + ".pdf")
    assert len(name) <= MAX_FILENAME_CHARS
    assert name.endswith(".pdf")


@given(st.text())
def test_safe_filename_never_yields_a_path(raw: str) -> None:
    name = safe_filename(raw)
    assert name
    assert "/" not in name
    assert "\\" not in name
    assert name not in {".", ".."}
    assert len(name) <= MAX_FILENAME_CHARS
    assert all(ch >= " " for ch in name)

from __future__ import annotations

import contextvars
import io
import time
from collections.abc import Generator
from pathlib import Path

import pypdf
import pytest

from avataradam.adapters.extract import PypdfTextExtractor
from avataradam.domain.codes import CORRUPT_FILE, EMPTY_TEXT, ENCRYPTED_PDF, TOO_LARGE
from avataradam.domain.filetypes import PDF
from avataradam.domain.ports.knowledge import ExtractionFailed
from tests.fixtures import case_file, corpus_pdf
from tests.fixtures.hostile import brotli_pdf, minimal_pdf, pdf_flate_bomb, text_pdf


def _reason(extractor: PypdfTextExtractor, path: Path) -> str:
    with pytest.raises(ExtractionFailed) as failure:
        list(extractor.extract(path, PDF).sections)
    return failure.value.reason


def _encrypted(tmp_path: Path, *, user_password: str) -> Path:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(text_pdf("Warranty terms")))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    path = tmp_path / "encrypted.pdf"
    with path.open("wb") as file:
        writer.write(file)
    return path


def test_multi_page_pdf_yields_one_section_per_page_in_order() -> None:
    sections = list(PypdfTextExtractor().extract(corpus_pdf("pdflatex-4-pages.pdf"), PDF).sections)

    assert [section.page for section in sections] == [1, 2, 3, 4]
    assert sections[0].text.startswith("Hello, here is some text without a meaning")
    assert all(len(section.text) > 1000 for section in sections)


def test_large_compressed_german_pdf_extracts_every_page_with_text() -> None:
    sections = list(
        PypdfTextExtractor().extract(corpus_pdf("GeoTopo-komprimiert.pdf"), PDF).sections
    )

    pages = [page for section in sections if (page := section.page) is not None]
    assert len(pages) == len(sections)  # every section knows its page
    assert pages == sorted(pages)
    assert len(pages) > 100
    assert pages[-1] is not None
    assert pages[-1] <= 117
    assert "Topologie" in " ".join(section.text for section in sections)


def test_password_protected_corpus_pdf_fails_as_encrypted() -> None:
    path = corpus_pdf("libreoffice-writer-password.pdf")
    assert _reason(PypdfTextExtractor(), path) == ENCRYPTED_PDF


def test_pdf_with_user_password_fails_as_encrypted(tmp_path: Path) -> None:
    path = _encrypted(tmp_path, user_password="secret")
    assert _reason(PypdfTextExtractor(), path) == ENCRYPTED_PDF


def test_pdf_protected_only_by_owner_password_is_read(tmp_path: Path) -> None:
    path = _encrypted(tmp_path, user_password="")

    sections = list(PypdfTextExtractor().extract(path, PDF).sections)

    assert sections[0].text == "Warranty terms"


def test_zero_byte_pdf_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    assert _reason(PypdfTextExtractor(), path) == CORRUPT_FILE


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    original = corpus_pdf("pdflatex-4-pages.pdf").read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(original[: len(original) // 2])
    assert _reason(PypdfTextExtractor(), path) == CORRUPT_FILE


def test_pdf_without_text_fails_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.pdf"
    path.write_bytes(minimal_pdf(b"0 0 m 100 100 l S"))
    assert _reason(PypdfTextExtractor(), path) == EMPTY_TEXT


def test_flate_decompression_bomb_stops_at_the_stream_cap_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pdf"
    path.write_bytes(pdf_flate_bomb(inflated_mib=300))
    assert path.stat().st_size < 1024 * 1024

    started = time.monotonic()
    reason = _reason(PypdfTextExtractor(max_stream_bytes=16 * 1024 * 1024), path)

    assert reason == TOO_LARGE
    assert time.monotonic() - started < 5


def test_stream_cap_does_not_leak_into_other_pypdf_users(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pdf"
    path.write_bytes(pdf_flate_bomb(inflated_mib=2))
    before = pypdf.get_configuration().zlib_maximum_output_length

    _reason(PypdfTextExtractor(max_stream_bytes=1024 * 1024), path)

    assert pypdf.get_configuration().zlib_maximum_output_length == before


def test_pdf_with_more_pages_than_allowed_is_too_large() -> None:
    path = corpus_pdf("GeoTopo-komprimiert.pdf")
    assert _reason(PypdfTextExtractor(max_pages=50), path) == TOO_LARGE


def test_pdf_with_more_text_than_allowed_is_too_large() -> None:
    path = corpus_pdf("pdflatex-4-pages.pdf")
    assert _reason(PypdfTextExtractor(max_text_chars=5_000), path) == TOO_LARGE


def test_renamed_non_pdf_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_bytes(b"MZ\x90\x00" + b"\x00" * 500)
    assert _reason(PypdfTextExtractor(), path) == CORRUPT_FILE


def _protected(tmp_path: Path, *, algorithm: str, user_password: str) -> Path:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(text_pdf(f"Rate card {algorithm}")))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm=algorithm)
    path = tmp_path / f"{algorithm}-{'user' if user_password else 'owner'}.pdf"
    with path.open("wb") as file:
        writer.write(file)
    return path


@pytest.mark.parametrize(
    ("name", "marker"),
    [
        ("06b-owner-only-aes256.pdf", "GANNET-AES-2208"),
        ("06c-owner-only-aes128.pdf", "GANNET-AES-2209"),
    ],
)
def test_owner_only_aes_case_files_are_read(name: str, marker: str) -> None:
    [section] = list(PypdfTextExtractor().extract(case_file(name), PDF).sections)

    assert marker in section.text


def test_user_password_aes256_case_file_fails_as_encrypted() -> None:
    assert _reason(PypdfTextExtractor(), case_file("06e-user-password-aes256.pdf")) == ENCRYPTED_PDF


@pytest.mark.parametrize("algorithm", ["RC4-40", "RC4-128", "AES-128", "AES-256-R5", "AES-256"])
def test_every_owner_only_encryption_opens_and_every_user_password_does_not(
    tmp_path: Path, algorithm: str
) -> None:
    owner_only = _protected(tmp_path, algorithm=algorithm, user_password="")
    locked = _protected(tmp_path, algorithm=algorithm, user_password="secret")

    [section] = list(PypdfTextExtractor().extract(owner_only, PDF).sections)

    assert section.text == f"Rate card {algorithm}"
    assert _reason(PypdfTextExtractor(), locked) == ENCRYPTED_PDF


def test_brotli_compressed_page_is_read(tmp_path: Path) -> None:
    path = tmp_path / "brotli.pdf"
    path.write_bytes(brotli_pdf("Brotli compressed rate card"))

    [section] = list(PypdfTextExtractor().extract(path, PDF).sections)

    assert section.text == "Brotli compressed rate card"


def test_pages_without_text_and_images_are_counted_in_warnings() -> None:
    extraction = PypdfTextExtractor().extract(corpus_pdf("google-doc-document.pdf"), PDF)
    list(extraction.sections)

    assert extraction.warnings == ["1 image without text skipped"]


def test_a_page_without_text_is_named_in_the_warnings(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(text_pdf("Page with text")))
    writer.add_blank_page()
    writer.add_blank_page()
    path = tmp_path / "scanned.pdf"
    with path.open("wb") as file:
        writer.write(file)

    extraction = PypdfTextExtractor().extract(path, PDF)

    assert [section.page for section in extraction.sections] == [1]
    assert extraction.warnings == [
        "2 pages without extractable text skipped (scanned? OCR it first)"
    ]


def test_the_pdfs_own_title_names_it(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(text_pdf("Body")))
    writer.add_metadata({"/Title": "  GAP   rate card  "})
    path = tmp_path / "titled.pdf"
    with path.open("wb") as file:
        writer.write(file)

    assert PypdfTextExtractor().extract(path, PDF).title == "GAP rate card"
    assert PypdfTextExtractor().extract(corpus_pdf("pdflatex-4-pages.pdf"), PDF).title is None


def test_sections_abandoned_mid_file_close_cleanly_in_another_context() -> None:
    """A reader that stops after the first page leaves the generator to be closed later,
    possibly in another context (another task, the garbage collector): pypdf's limits,
    a context variable, must not be held across pages, or the reset raises there."""
    sections = PypdfTextExtractor().extract(corpus_pdf("pdflatex-4-pages.pdf"), PDF).sections
    first = next(sections)
    assert isinstance(sections, Generator)  # an abandoned generator, closed later

    contextvars.Context().run(sections.close)  # raised ValueError while limits spanned pages

    assert first.page == 1

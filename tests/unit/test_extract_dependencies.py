"""A library missing on the server is the operator's problem, never the user's corrupt file.

Each extractor parses untrusted files behind a broad `except` (a hostile file can make a
parser raise anything); an `ImportError` or a library's own missing-dependency error must
not fall into it. Found members of the kind: pypdf's AES (needs `cryptography`) and
BrotliDecode (needs `brotli`) raise `DependencyError` at parse time; HTML and DOCX parse
behind the same guard.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import NoReturn

import pytest
from pypdf.errors import DependencyError

from avataradam.adapters.extract import DocxTextExtractor, HtmlTextExtractor, PypdfTextExtractor
from avataradam.adapters.extract import html as html_adapter
from avataradam.adapters.extract import word as word_adapter
from avataradam.adapters.extract.limits import parsing
from avataradam.domain.codes import CORRUPT_FILE, ENCRYPTED_PDF, TOO_LARGE
from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.filetypes import DOCX, HTML, PDF
from avataradam.domain.model import DocumentStatus
from avataradam.domain.ports.knowledge import Extraction, ExtractionFailed, ExtractorUnavailable
from tests.fixtures import case_file
from tests.fixtures.hostile import brotli_pdf, write_docx
from tests.fixtures.isolation import extract_without
from tests.fixtures.pipeline import Pipeline


def _missing(*_: object, **__: object) -> NoReturn:
    raise ModuleNotFoundError("No module named 'lxml_html_clean'")


@pytest.mark.parametrize(
    "error",
    [ImportError("cannot import name 'x'"), ModuleNotFoundError("no module named 'y'")],
)
def test_an_import_error_while_parsing_is_an_unavailable_extractor(error: Exception) -> None:
    with pytest.raises(ExtractorUnavailable) as raised, parsing("PDF"):
        raise error

    assert isinstance(raised.value, DependencyUnavailable)
    assert raised.value.code == "extractor_unavailable"


def test_a_librarys_own_missing_dependency_error_is_an_unavailable_extractor() -> None:
    with pytest.raises(ExtractorUnavailable), parsing("PDF", missing=(DependencyError,)):
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")


def test_anything_else_a_parser_raises_is_the_files_fault() -> None:
    with pytest.raises(ExtractionFailed) as raised, parsing("PDF"):
        raise ValueError("bad xref")

    assert raised.value.reason == CORRUPT_FILE


def test_listed_errors_get_their_reason_and_extraction_failures_pass_through() -> None:
    with (
        pytest.raises(ExtractionFailed) as raised,
        parsing("PDF", reasons={OverflowError: ("too big", TOO_LARGE)}),
    ):
        raise OverflowError
    assert raised.value.reason == TOO_LARGE

    with pytest.raises(ExtractionFailed) as passed, parsing("PDF"):
        raise ExtractionFailed("locked", reason=ENCRYPTED_PDF)
    assert passed.value.reason == ENCRYPTED_PDF


def test_aes_pdf_on_a_server_without_cryptography_is_unavailable_not_corrupt() -> None:
    path = case_file("06b-owner-only-aes256.pdf")

    without = extract_without(["cryptography", "Crypto"], path, PDF)
    installed = extract_without([], path, PDF)

    assert without.startswith("unavailable extractor_unavailable"), without
    assert "cryptography" in without
    assert installed.startswith("read")
    assert "GANNET-AES-2208" in installed


def test_aes128_pdf_on_a_server_without_cryptography_is_unavailable_not_corrupt() -> None:
    path = case_file("06c-owner-only-aes128.pdf")

    assert extract_without(["cryptography", "Crypto"], path, PDF).startswith(
        "unavailable extractor_unavailable"
    )


def test_brotli_pdf_on_a_server_without_brotli_is_unavailable_not_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "brotli.pdf"
    path.write_bytes(brotli_pdf("Compressed with Brotli"))

    without = extract_without(["brotli"], path, PDF)

    assert without.startswith("unavailable extractor_unavailable"), without
    assert extract_without([], path, PDF) == "read Compressed with Brotli"


def test_html_parser_missing_a_module_is_unavailable_not_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "page.html"
    path.write_text("<html><body><p>Menu selling</p></body></html>")
    monkeypatch.setattr(html_adapter, "html_text", SimpleNamespace(parse_html=_missing))

    with pytest.raises(ExtractorUnavailable):
        HtmlTextExtractor().extract(path, HTML)


def test_docx_parser_missing_a_module_is_unavailable_not_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_docx(tmp_path / "guide.docx", [("Normal", "GAP basics")])
    monkeypatch.setattr(word_adapter, "docx", SimpleNamespace(Document=_missing))

    with pytest.raises(ExtractorUnavailable):
        DocxTextExtractor().extract(path, DOCX)


def test_a_pdf_read_lazily_still_tells_a_missing_dependency_apart(tmp_path: Path) -> None:
    """The page loop runs while the pipeline consumes the sections; its guard is the same."""
    shutil.copyfile(case_file("06c-owner-only-aes128.pdf"), tmp_path / "a.pdf")

    extraction = PypdfTextExtractor().extract(tmp_path / "a.pdf", PDF)

    assert isinstance(extraction, Extraction)
    assert "GANNET-AES-2209" in " ".join(section.text for section in extraction.sections)


class _UnavailableExtractor:
    """Implements `TextExtractor`: the server lacks a library for every file."""

    def extract(self, path: Path, content_type: str) -> Extraction:
        del path, content_type
        raise ExtractorUnavailable("reading PDF needs a library this server lacks")


async def test_ingestion_retries_an_unavailable_extractor_instead_of_failing_the_file() -> None:
    pipeline = Pipeline(extractor=_UnavailableExtractor())
    uploaded = await pipeline.upload(b"%PDF-1.7 rate card", PDF)

    with pytest.raises(DependencyUnavailable):
        await pipeline.ingest(uploaded.id)

    document = await pipeline.document(uploaded)
    assert document.status is DocumentStatus.PROCESSING
    assert document.error is not None
    assert document.error.code == "extractor_unavailable"

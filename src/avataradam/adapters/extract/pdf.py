"""PDF text with pypdf, one section per page, under decompression and size limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pypdf
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

from avataradam.adapters.extract.limits import (
    CORRUPT_FILE,
    DEFAULT_MAX_TEXT_CHARS,
    ENCRYPTED_PDF,
    TOO_LARGE,
    bounded_sections,
    clean_text,
)
from avataradam.domain.ports.knowledge import ExtractedSection, Extraction, ExtractionFailed


class PypdfTextExtractor:
    """Implements `TextExtractor` for PDF.

    Every decoder's output is capped per stream (`max_stream_bytes`) through pypdf's
    `Configuration`, so a FlateDecode bomb stops at the cap with `too_large` instead of
    inflating into memory. Pages and total text are capped too. Only PDFs that open with
    the empty user password are read; any other encryption is `encrypted_pdf`.
    """

    def __init__(
        self,
        *,
        max_pages: int = 2_000,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        max_stream_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self._max_pages = max_pages
        self._max_text_chars = max_text_chars
        self._max_stream_bytes = max_stream_bytes

    def extract(
        self,
        path: Path,
        content_type: str,  # noqa: ARG002 - the adapter reads its one type only
    ) -> Extraction:
        cap = self._max_stream_bytes
        with pypdf.apply_configuration(
            disable_legacy_handling=True,
            maximum_declared_stream_length=cap,
            array_based_stream_maximum_output_length=cap,
            zlib_maximum_output_length=cap,
            lzw_maximum_output_length=cap,
            run_length_maximum_output_length=cap,
            brotli_maximum_output_length=cap,
            jbig2_maximum_output_length=cap,
            image_maximum_buffer_size=cap,
            stream_decoding_work_maximum_length=4 * cap,
        ):
            try:
                return Extraction.of(bounded_sections(self._pages(path), self._max_text_chars))
            except ExtractionFailed:
                raise
            except LimitReachedError as exc:
                raise ExtractionFailed("PDF exceeds a decoding limit", reason=TOO_LARGE) from exc
            except FileNotDecryptedError as exc:
                raise ExtractionFailed("PDF is encrypted", reason=ENCRYPTED_PDF) from exc
            except Exception as exc:  # a hostile PDF can raise anything inside pypdf
                raise ExtractionFailed("PDF cannot be parsed", reason=CORRUPT_FILE) from exc

    def _pages(self, path: Path) -> Iterator[ExtractedSection]:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted:
            _decrypt_with_empty_password(reader)
        page_count = len(reader.pages)
        if page_count > self._max_pages:
            raise ExtractionFailed(
                f"PDF has {page_count} pages, more than {self._max_pages}", reason=TOO_LARGE
            )
        for number, page in enumerate(reader.pages, start=1):
            yield ExtractedSection(text=clean_text(page.extract_text() or ""), page=number)


def _decrypt_with_empty_password(reader: pypdf.PdfReader) -> None:
    """Owner-only protection (printing/copy flags) still opens; a user password does not."""
    try:
        result = reader.decrypt("")
    except (DependencyError, NotImplementedError) as exc:
        raise ExtractionFailed("PDF encryption is not supported", reason=ENCRYPTED_PDF) from exc
    if result == pypdf.PasswordType.NOT_DECRYPTED:
        raise ExtractionFailed("PDF is password-protected", reason=ENCRYPTED_PDF)

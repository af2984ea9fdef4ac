"""PDF text with pypdf, one section per page (cut at its outline's headings), under
decompression and size limits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

from avataradam.adapters.extract.limits import DEFAULT_MAX_TEXT_CHARS, parsing
from avataradam.adapters.extract.outline import OutlineHeading, PagePaths, outline_headings
from avataradam.adapters.extract.prose import readable_sections
from avataradam.domain.codes import ENCRYPTED_PDF, TOO_LARGE
from avataradam.domain.ports.knowledge import ExtractedSection, Extraction, ExtractionFailed

_MAX_TITLE_CHARS = 500


class PypdfTextExtractor:
    """Implements `TextExtractor` for PDF.

    Every decoder's output is capped per stream (`max_stream_bytes`) through pypdf's
    `Configuration`, so a FlateDecode bomb stops at the cap with `too_large` instead of
    inflating into memory. Pages and total text are capped too. PDFs that open with the
    empty user password (no protection, or an owner password only: RC4 or AES-128/256,
    decrypted with `cryptography`) are read; any other is `encrypted_pdf`. A library
    pypdf needs and this server lacks is `ExtractorUnavailable`, not the file's fault.
    Pages without text (scanned) and images are counted in the warnings; the document
    information's `/Title` names the document. The outline (bookmarks), where there is
    one, gives the pages' text its heading paths (see `outline`); an outline that cannot
    be read is skipped with a warning, never fails the document.
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
        with self._limits(), _pdf_errors():
            reader = pypdf.PdfReader(path)
            if reader.is_encrypted:
                _decrypt_with_empty_password(reader)
            page_count = len(reader.pages)
            title = _title(reader)
        if page_count > self._max_pages:
            raise ExtractionFailed(
                f"PDF has {page_count} pages, more than {self._max_pages}", reason=TOO_LARGE
            )
        warnings: list[str] = []
        headings = self._outline(reader, warnings)
        pages_read = [0]
        return Extraction(
            sections=readable_sections(
                self._pages(reader, PagePaths(headings), warnings, pages_read),
                max_text_chars=self._max_text_chars,
                warnings=warnings,
            ),
            title=title,
            warnings=warnings,
            read_share=lambda: pages_read[0] / page_count if page_count else 1.0,
        )

    def _outline(self, reader: pypdf.PdfReader, warnings: list[str]) -> list[OutlineHeading]:
        try:
            with self._limits(), _pdf_errors():
                return outline_headings(reader)
        except ExtractionFailed:
            warnings.append("the outline (bookmarks) is unreadable: pages read without headings")
            return []

    def _pages(
        self,
        reader: pypdf.PdfReader,
        paths: PagePaths,
        warnings: list[str],
        pages_read: list[int],
    ) -> Iterator[ExtractedSection]:
        blank = images = 0
        # pypdf's limits are a context variable: set and reset around each page, never
        # held across a `yield` (a reader that stops early would have the generator
        # closed in another context, where the reset fails).
        for index in range(len(reader.pages)):
            number = index + 1
            with self._limits(), _pdf_errors():
                page = reader.pages[index]
                pages_read[0] = number
                text = page.extract_text() or ""
                images += _image_count(page)
            parts = list(paths.parts(index, text))
            if not parts:
                blank += 1
            for part, path in parts:
                yield ExtractedSection(
                    text=part, page=number, section=path[-1] if path else None, section_path=path
                )
        if blank:
            warnings.append(
                f"{blank} page{'' if blank == 1 else 's'} without extractable text skipped"
                " (scanned? OCR it first)"
            )
        if images:
            warnings.append(f"{images} image{'' if images == 1 else 's'} without text skipped")

    def _limits(self) -> contextlib.AbstractContextManager[Any]:
        cap = self._max_stream_bytes
        return pypdf.apply_configuration(
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
        )


def _pdf_errors() -> contextlib.AbstractContextManager[None]:
    """pypdf's failures: limits are `too_large`, a password is `encrypted_pdf`, a
    missing crypto/brotli library is the server's, anything else the file's."""
    return parsing(
        "PDF",
        missing=(DependencyError,),
        reasons={
            LimitReachedError: ("PDF exceeds a decoding limit", TOO_LARGE),
            FileNotDecryptedError: ("PDF is encrypted", ENCRYPTED_PDF),
        },
    )


def _decrypt_with_empty_password(reader: pypdf.PdfReader) -> None:
    """Owner-only protection (printing/copy flags) still opens; a user password does not."""
    try:
        result = reader.decrypt("")
    except NotImplementedError as exc:
        raise ExtractionFailed("PDF encryption is not supported", reason=ENCRYPTED_PDF) from exc
    if result == pypdf.PasswordType.NOT_DECRYPTED:
        raise ExtractionFailed("PDF is password-protected", reason=ENCRYPTED_PDF)


def _title(reader: pypdf.PdfReader) -> str | None:
    metadata = reader.metadata
    title = metadata.title if metadata is not None else None
    return " ".join(str(title).split())[:_MAX_TITLE_CHARS] or None if title else None


def _image_count(page: pypdf.PageObject) -> int:
    """Image XObjects the page's resources name (counted, never decoded)."""
    resources = page.get("/Resources")
    objects = resources.get_object().get("/XObject") if resources is not None else None
    if objects is None:
        return 0
    return sum(
        1 for ref in objects.get_object().values() if ref.get_object().get("/Subtype") == "/Image"
    )

"""HTML text with html-text: visible text only (no scripts, styles or markup)."""

from __future__ import annotations

from pathlib import Path

import html_text

from avataradam.adapters.extract.limits import (
    CORRUPT_FILE,
    DEFAULT_MAX_TEXT_CHARS,
    DEFAULT_MAX_TEXT_FILE_BYTES,
    bounded_sections,
    clean_text,
    decode_text,
    read_limited,
)
from avataradam.domain.ports.knowledge import ExtractedSection, Extraction, ExtractionFailed


class HtmlTextExtractor:
    """Implements `TextExtractor` for HTML; the page becomes one section."""

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_TEXT_FILE_BYTES,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    ) -> None:
        self._max_bytes = max_bytes
        self._max_text_chars = max_text_chars

    def extract(
        self,
        path: Path,
        content_type: str,  # noqa: ARG002 - the adapter reads its one type only
    ) -> Extraction:
        markup = decode_text(read_limited(path, self._max_bytes))
        try:
            text = html_text.extract_text(markup, guess_layout=True)
        except Exception as exc:  # lxml raises several unrelated types
            raise ExtractionFailed("HTML cannot be parsed", reason=CORRUPT_FILE) from exc
        return Extraction.of(
            bounded_sections([ExtractedSection(text=clean_text(text))], self._max_text_chars)
        )

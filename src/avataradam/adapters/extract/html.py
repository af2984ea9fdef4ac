"""HTML text with html-text: visible text only (no scripts, styles or markup)."""

from __future__ import annotations

from pathlib import Path

import html_text

from avataradam.adapters.extract.encoding import decoded_text, open_text
from avataradam.adapters.extract.limits import (
    DEFAULT_MAX_TEXT_CHARS,
    DEFAULT_MAX_TEXT_FILE_BYTES,
    parsing,
)
from avataradam.adapters.extract.prose import readable_sections
from avataradam.domain.ports.knowledge import ExtractedSection, Extraction

MAX_TITLE_CHARS = 500


class HtmlTextExtractor:
    """Implements `TextExtractor` for HTML; the page becomes one section.

    The encoding is the page's own `<meta charset>` when the bytes agree, else what
    `detect_encoding` tells. `<title>` names the document; images (which carry no text
    of their own) are counted in a warning.
    """

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
        encoding = open_text(path, self._max_bytes, html=True)
        markup = "".join(decoded_text(path, encoding))
        with parsing("HTML"):
            tree = html_text.parse_html(markup)
            title = " ".join((tree.findtext(".//title") or "").split())[:MAX_TITLE_CHARS]
            images = len(tree.xpath("//img"))
            text = html_text.extract_text(tree, guess_layout=True)
        warnings = [f"{images} image{'' if images == 1 else 's'} without text skipped"]
        warnings = warnings if images else []
        return Extraction(
            sections=readable_sections(
                [ExtractedSection(text=text)],
                max_text_chars=self._max_text_chars,
                warnings=warnings,
            ),
            title=title or None,
            warnings=warnings,
        )

"""Plain text and Markdown in any common encoding; Markdown headings name sections."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from avataradam.adapters.extract.limits import (
    DEFAULT_MAX_TEXT_CHARS,
    DEFAULT_MAX_TEXT_FILE_BYTES,
    bounded_sections,
    clean_text,
    decode_text,
    read_limited,
)
from avataradam.domain.filetypes import MARKDOWN
from avataradam.domain.ports.knowledge import ExtractedSection, Extraction

_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<title>.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


class PlainTextExtractor:
    """Implements `TextExtractor` for text/plain and text/markdown.

    The encoding is read from a BOM, else UTF-8, else detected by charset-normalizer
    (Latin-1/Windows-1252 files from older tools are common).
    """

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_TEXT_FILE_BYTES,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    ) -> None:
        self._max_bytes = max_bytes
        self._max_text_chars = max_text_chars

    def extract(self, path: Path, content_type: str) -> Extraction:
        text = decode_text(read_limited(path, self._max_bytes))
        if content_type == MARKDOWN:
            return Extraction.of(bounded_sections(_markdown_sections(text), self._max_text_chars))
        return Extraction.of(
            bounded_sections([ExtractedSection(text=clean_text(text))], self._max_text_chars)
        )


def _markdown_sections(text: str) -> Iterator[ExtractedSection]:
    """Split before each ATX heading outside fenced code; the heading stays in its text."""
    heading: str | None = None
    lines: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _ATX_HEADING.match(line)
        if match is not None:
            if lines:
                yield ExtractedSection(text=clean_text("\n".join(lines)), section=heading)
            heading = clean_text(match["title"]) or heading
            lines = [line]
        else:
            lines.append(line)
    if lines:
        yield ExtractedSection(text=clean_text("\n".join(lines)), section=heading)

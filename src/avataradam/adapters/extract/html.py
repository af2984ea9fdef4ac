"""HTML text with html-text: visible text only (no scripts, styles or markup), one
section per heading (`h1` to `h6`), named by the headings it lies under."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


class HtmlTextExtractor:
    """Implements `TextExtractor` for HTML; the page is cut before each heading.

    The encoding is the page's own `<meta charset>` when the bytes agree, else what
    `detect_encoding` tells. `<title>` names the document (else its first `<h1>`, as the
    heading its text opens with); headings nest by level as Markdown's do, wherever they
    sit in the tree, and stay in their section's text. Images (which carry no text of
    their own) are counted in a warning.
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
            title = _one_line(tree.findtext(".//title") or "")
            images = len(tree.xpath("//img"))
            marker, headings = _mark_headings(tree)
            text = html_text.extract_text(tree, guess_layout=True)
        warnings = [f"{images} image{'' if images == 1 else 's'} without text skipped"]
        warnings = warnings if images else []
        opening = next((name for level, name in headings if level == 1), None)
        return Extraction(
            sections=readable_sections(
                _sections(marker.split(text), headings),
                max_text_chars=self._max_text_chars,
                warnings=warnings,
            ),
            title=title or None,
            opening_heading=opening,
            warnings=warnings,
        )


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_TITLE_CHARS]


def _mark_headings(tree: Any) -> tuple[re.Pattern[str], list[tuple[int, str]]]:
    """Marks the start of each heading with text in `tree` by a marker the page cannot
    hold (a random nonce), so the text html-text extracts can be cut there; the marker's
    pattern (its group the heading's index) and the (level, name) of each heading."""
    nonce = secrets.token_hex(8)
    headings: list[tuple[int, str]] = []
    for element in tree.iter(*_HEADINGS):
        name = _one_line(element.text_content())
        if name:
            element.text = f"\ue000{nonce}{len(headings)}\ue001{element.text or ''}"
            headings.append((int(element.tag[1]), name))
    return re.compile(f"\ue000{nonce}(\\d+)\ue001"), headings


def _sections(parts: list[str], headings: list[tuple[int, str]]) -> Iterator[ExtractedSection]:
    """Sections of the text cut at the markers: `parts` alternate text and heading index
    (`re.split`), the text before the first heading under none."""
    yield ExtractedSection(text=parts[0])
    path: list[tuple[int, str]] = []
    for index in range(1, len(parts), 2):
        level, name = headings[int(parts[index])]
        path = [*(entry for entry in path if entry[0] < level), (level, name)]
        names = tuple(heading for _, heading in path)
        yield ExtractedSection(text=parts[index + 1], section=name, section_path=names)

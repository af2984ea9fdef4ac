"""DOCX text with python-docx, one section per heading, after a zip-bomb check."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from avataradam.adapters.extract.limits import (
    CORRUPT_FILE,
    DEFAULT_MAX_TEXT_CHARS,
    TOO_LARGE,
    bounded_sections,
    clean_text,
)
from avataradam.domain.ports.knowledge import ExtractedSection, Extraction, ExtractionFailed

# Below this size a high compression ratio is normal (repetitive XML) and harmless.
_RATIO_CHECK_MIN_BYTES = 1024 * 1024


class DocxTextExtractor:
    """Implements `TextExtractor` for DOCX.

    Before parsing, the ZIP's central directory is checked: entry count, total declared
    uncompressed size and per-entry compression ratio. The check is sound because
    Python's `zipfile`, which python-docx reads through, never inflates an entry past its
    declared size. python-docx's XML parser does not resolve entities.
    """

    def __init__(
        self,
        *,
        max_uncompressed_bytes: int = 200 * 1024 * 1024,
        max_compression_ratio: float = 100.0,
        max_entries: int = 10_000,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    ) -> None:
        self._max_uncompressed_bytes = max_uncompressed_bytes
        self._max_compression_ratio = max_compression_ratio
        self._max_entries = max_entries
        self._max_text_chars = max_text_chars

    def extract(
        self,
        path: Path,
        content_type: str,  # noqa: ARG002 - the adapter reads its one type only
    ) -> Extraction:
        self._check_archive(path)
        try:
            document = docx.Document(str(path))
            sections = list(_sections(document.iter_inner_content()))
        except Exception as exc:  # malformed OOXML fails in many ways
            raise ExtractionFailed("DOCX cannot be parsed", reason=CORRUPT_FILE) from exc
        return Extraction.of(bounded_sections(sections, self._max_text_chars))

    def _check_archive(self, path: Path) -> None:
        try:
            with zipfile.ZipFile(path) as archive:
                entries = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ExtractionFailed("DOCX is not a readable ZIP", reason=CORRUPT_FILE) from exc
        if len(entries) > self._max_entries:
            raise ExtractionFailed(f"DOCX has {len(entries)} entries", reason=TOO_LARGE)
        total = sum(entry.file_size for entry in entries)
        if total > self._max_uncompressed_bytes:
            raise ExtractionFailed(f"DOCX inflates to {total} bytes", reason=TOO_LARGE)
        for entry in entries:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size >= _RATIO_CHECK_MIN_BYTES and ratio > self._max_compression_ratio:
                raise ExtractionFailed(
                    f"DOCX entry compressed {ratio:.0f}:1 looks like a zip bomb", reason=TOO_LARGE
                )


def _sections(blocks: Iterator[Paragraph | Table]) -> Iterator[ExtractedSection]:
    heading: str | None = None
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph) and _is_heading(block):
            if lines:
                yield ExtractedSection(text=clean_text("\n".join(lines)), section=heading)
            heading = clean_text(block.text) or heading
            lines = [block.text]
        else:
            lines.extend(_block_lines(block))
    if lines:
        yield ExtractedSection(text=clean_text("\n".join(lines)), section=heading)


def _is_heading(paragraph: Paragraph) -> bool:
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    return bool(paragraph.text.strip()) and (name.startswith("Heading") or name == "Title")


def _block_lines(block: Paragraph | Table) -> list[str]:
    if isinstance(block, Paragraph):
        return [block.text]
    lines: list[str] = []
    for row in block.rows:
        cells = [clean_text(cell.text) for cell in row.cells]
        lines.append(" | ".join(cell for cell in cells if cell))
    return lines

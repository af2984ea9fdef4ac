"""DOCX text: every run a reader sees, in reading order, one section per heading.

python-docx opens the package (after a zip-bomb check) and parses its parts with its own
safe XML parser; the text is read by walking the WordprocessingML itself, because
python-docx's API sees only top-level paragraphs and tables, mammoth drops `w:fldSimple`,
headers and footers, and docx2python indexes hidden text, tracked moves and both sides
of `mc:AlternateContent`. What the walk reads (ECMA-376 Part 1, §17):

- paragraphs and tables, nested to any depth, inside content controls (`w:sdt`, block,
  row, cell and inline), custom XML, smart tags, hyperlinks, bidi containers;
- tracked insertions and moves-to (`w:ins`, `w:moveTo`), never deletions or moves-from
  (`w:del`, `w:moveFrom`, `w:delText`) nor deleted table rows;
- field results (`w:fldSimple`, and complex fields between `separate` and `end`), never
  field instructions (`w:instrText`);
- text boxes (`w:txbxContent`) after the paragraph that anchors them, once: of an
  `mc:AlternateContent` only the first `mc:Choice` is read, its `mc:Fallback` repeats it;
- math (`m:t`), tabs and breaks;
- headers and footers (each distinct text once), footnotes and endnotes.

Skipped: hidden runs (`w:vanish`), content-control placeholder text, symbol-font glyphs
(`w:sym`), comments; pictures, charts, embedded objects and documents are counted in
the extraction's warnings.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.parser import parse_xml

from avataradam.adapters.extract.limits import DEFAULT_MAX_TEXT_CHARS, parsing
from avataradam.adapters.extract.prose import readable_sections
from avataradam.adapters.extract.wordml import (
    NOTE_SEPARATORS,
    R,
    Skipped,
    Story,
    W,
    blocks,
    outline_level,
)
from avataradam.domain.codes import CORRUPT_FILE, TOO_LARGE
from avataradam.domain.ports.knowledge import ExtractedSection, Extraction, ExtractionFailed

# Below this size a high compression ratio is normal (repetitive XML) and harmless.
_RATIO_CHECK_MIN_BYTES = 1024 * 1024
_MAX_TITLE_CHARS = 500


class DocxTextExtractor:
    """Implements `TextExtractor` for DOCX.

    Before parsing, the ZIP's central directory is checked: entry count, total declared
    uncompressed size and per-entry compression ratio. The check is sound because
    Python's `zipfile`, which python-docx reads through, never inflates an entry past its
    declared size. python-docx's XML parser does not resolve entities. The core
    properties' title names the document, else the heading its body opens with (a
    `Title` or heading paragraph).
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
        with parsing("DOCX"):
            document = docx.Document(str(path))
            title = " ".join((document.core_properties.title or "").split())
            headings = _heading_styles(document)
            opening = _opening_heading(document.element.body, headings)
        warnings: list[str] = []
        return Extraction(
            sections=readable_sections(
                _read(document, headings, warnings),
                max_text_chars=self._max_text_chars,
                warnings=warnings,
            ),
            title=title[:_MAX_TITLE_CHARS] or None,
            opening_heading=opening,
            warnings=warnings,
        )

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


def _read(
    document: Any, headings: Mapping[str, int], warnings: list[str]
) -> Iterator[ExtractedSection]:
    """Header, body sections by heading, notes, footer; the skipped things to `warnings`."""
    skipped = Skipped()
    with parsing("DOCX"):
        body = document.element.body
        headers, footers = _margin_parts(document, body)
        yield from _margin_section("Header", headers, skipped)
        yield from _body_sections(body, headings, skipped)
        for reltype, name in ((RT.FOOTNOTES, "Footnotes"), (RT.ENDNOTES, "Endnotes")):
            yield from _notes_section(document, reltype, name, skipped)
        yield from _margin_section("Footer", footers, skipped)
    warnings.extend(skipped.notes())


def _opening_heading(body: Any, headings: Mapping[str, int]) -> str | None:
    """The heading the body opens with: its first paragraph with text, if a heading."""
    for text, level in blocks(body, Story(), Skipped(), headings):
        if text.strip():
            return " ".join(text.split())[:_MAX_TITLE_CHARS] if level is not None else None
    return None


def _body_sections(
    body: Any, headings: Mapping[str, int], skipped: Skipped
) -> Iterator[ExtractedSection]:
    path: list[tuple[int, str]] = []  # (level, heading) of the headings enclosing a block
    lines: list[str] = []
    for text, level in blocks(body, Story(), skipped, headings):
        if level is not None and text.strip():
            if lines:
                yield _section(lines, path)
            path = [*(entry for entry in path if entry[0] < level), (level, " ".join(text.split()))]
            lines = []
        lines.append(text)
    if lines:
        yield _section(lines, path)


def _section(lines: list[str], path: list[tuple[int, str]]) -> ExtractedSection:
    """A section named by its innermost heading, `section_path` all of them."""
    names = tuple(name for _, name in path)
    return ExtractedSection(
        text="\n".join(lines), section=names[-1] if names else None, section_path=names
    )


def _margin_section(name: str, parts: list[Any], skipped: Skipped) -> Iterator[ExtractedSection]:
    """One section of every distinct header (or footer) text: first-page, even and
    default headers, and each section's, usually repeat each other."""
    seen: set[str] = set()
    lines: list[str] = []
    for root in parts:
        text = "\n".join(line for line, _ in blocks(root, Story(), skipped, {}))
        key = " ".join(text.split())
        if key and key not in seen:
            seen.add(key)
            lines.append(text)
    if lines:
        yield ExtractedSection(text="\n".join(lines), section=name)


def _notes_section(
    document: Any, reltype: str, name: str, skipped: Skipped
) -> Iterator[ExtractedSection]:
    lines: list[str] = []
    for root in _related_roots(document.part, reltype):
        for note in root:
            if note.get(f"{W}type") in NOTE_SEPARATORS:
                continue
            lines.extend(line for line, _ in blocks(note, Story(), skipped, {}))
    if any(line.strip() for line in lines):
        yield ExtractedSection(text="\n".join(lines), section=name)


def _margin_parts(document: Any, body: Any) -> tuple[list[Any], list[Any]]:
    """Header and footer roots in the order the document's sections reference them."""
    found: dict[str, list[Any]] = {"header": [], "footer": []}
    for properties in body.iter(f"{W}sectPr"):
        for reference in properties:
            kind = reference.tag.removeprefix(W).removesuffix("Reference")
            if kind in found:
                part = document.part.related_parts[reference.get(f"{R}id")]
                found[kind].append(_root(part))
    return found["header"], found["footer"]


def _related_roots(part: Any, reltype: str) -> Iterator[Any]:
    for relationship in part.rels.values():
        if relationship.reltype == reltype and not relationship.is_external:
            yield _root(relationship.target_part)


def _root(part: Any) -> Any:
    element = getattr(part, "element", None)
    return element if element is not None else parse_xml(part.blob)


def _heading_styles(document: Any) -> dict[str, int]:
    """Levels of the paragraph styles that make a heading, by style id: Title 0, Heading
    n n, a style with an outline level that level (or based on one of these)."""
    levels: dict[str, int] = {}
    for style in document.styles:
        current, depth = style, 0
        while current is not None and depth < 10:
            level = _style_level(current)
            if level is not None:
                levels[style.style_id] = level
                break
            current, depth = getattr(current, "base_style", None), depth + 1
    return levels


def _style_level(style: Any) -> int | None:
    name = (style.name or "").lower()
    if name == "title":
        return 0
    level = outline_level(style.element.find(f"{W}pPr/{W}outlineLvl"))
    if level is not None:
        return level
    if name.startswith("heading"):
        number = name.removeprefix("heading").strip()
        return int(number) if number.isdigit() else 1
    return None

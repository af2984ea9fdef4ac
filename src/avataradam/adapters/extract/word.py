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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.parser import parse_xml

from avataradam.adapters.extract.limits import DEFAULT_MAX_TEXT_CHARS, parsing
from avataradam.adapters.extract.prose import readable_sections
from avataradam.domain.codes import CORRUPT_FILE, TOO_LARGE
from avataradam.domain.ports.knowledge import ExtractedSection, Extraction, ExtractionFailed

# Below this size a high compression ratio is normal (repetitive XML) and harmless.
_RATIO_CHECK_MIN_BYTES = 1024 * 1024
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_V = "{urn:schemas-microsoft-com:vml}"
_O = "{urn:schemas-microsoft-com:office:office}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_MAX_TITLE_CHARS = 500

_SKIPPED = frozenset(
    f"{_W}{name}"
    for name in (
        "del",
        "moveFrom",
        "delText",
        "delInstrText",
        "instrText",
        "rPr",
        "pPr",
        "sdtPr",
        "sdtEndPr",
        "trPr",
        "tcPr",
        "tblPr",
        "tblGrid",
        "sectPr",
        "sym",
        "commentReference",
        "footnoteReference",
        "endnoteReference",
    )
)
_CHARACTERS = {
    f"{_W}tab": "\t",
    f"{_W}ptab": "\t",
    f"{_W}br": "\n",
    f"{_W}cr": "\n",
    f"{_W}noBreakHyphen": "-",
}
_WRAPPERS = frozenset((f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml"))
_OFF = frozenset(("0", "false", "off"))
_NOTE_SEPARATORS = frozenset(("separator", "continuationSeparator", "continuationNotice"))
_SKIPPED_KINDS = {
    "image": "image without text",
    "chart": "chart",
    "object": "embedded object",
    "document": "embedded document",
}


@dataclass
class _Story:
    """Walk state of one story (body, a header, the notes): open complex fields and
    text boxes waiting for their anchoring paragraph to end."""

    fields: list[bool] = field(default_factory=list)
    """One entry per open complex field: True once past its `separate`."""
    floating: list[Any] = field(default_factory=list)

    @property
    def in_instruction(self) -> bool:
        return not all(self.fields)


@dataclass
class _Skipped:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def notes(self) -> list[str]:
        return [
            f"{count} {_SKIPPED_KINDS[kind]}{'' if count == 1 else 's'} skipped"
            if kind != "image"
            else f"{count} image{'' if count == 1 else 's'} without text skipped"
            for kind, count in self.counts.items()
        ]


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
        with parsing("DOCX"):
            document = docx.Document(str(path))
            title = " ".join((document.core_properties.title or "").split())
        warnings: list[str] = []
        return Extraction(
            sections=readable_sections(
                _read(document, warnings),
                max_text_chars=self._max_text_chars,
                warnings=warnings,
            ),
            title=title[:_MAX_TITLE_CHARS] or None,
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


def _read(document: Any, warnings: list[str]) -> Iterator[ExtractedSection]:
    """Header, body sections by heading, notes, footer; the skipped things to `warnings`."""
    skipped = _Skipped()
    with parsing("DOCX"):
        headings = _heading_styles(document)
        body = document.element.body
        headers, footers = _margin_parts(document, body)
        yield from _margin_section("Header", headers, skipped)
        yield from _body_sections(body, headings, skipped)
        for reltype, name in ((RT.FOOTNOTES, "Footnotes"), (RT.ENDNOTES, "Endnotes")):
            yield from _notes_section(document, reltype, name, skipped)
        yield from _margin_section("Footer", footers, skipped)
    warnings.extend(skipped.notes())


def _body_sections(
    body: Any, headings: frozenset[str], skipped: _Skipped
) -> Iterator[ExtractedSection]:
    heading: str | None = None
    lines: list[str] = []
    for text, is_heading in _blocks(body, _Story(), skipped, headings):
        if is_heading and text.strip():
            if lines:
                yield ExtractedSection(text="\n".join(lines), section=heading)
            heading, lines = " ".join(text.split()), []
        lines.append(text)
    if lines:
        yield ExtractedSection(text="\n".join(lines), section=heading)


def _margin_section(name: str, parts: list[Any], skipped: _Skipped) -> Iterator[ExtractedSection]:
    """One section of every distinct header (or footer) text: first-page, even and
    default headers, and each section's, usually repeat each other."""
    seen: set[str] = set()
    lines: list[str] = []
    for root in parts:
        text = "\n".join(line for line, _ in _blocks(root, _Story(), skipped, frozenset()))
        key = " ".join(text.split())
        if key and key not in seen:
            seen.add(key)
            lines.append(text)
    if lines:
        yield ExtractedSection(text="\n".join(lines), section=name)


def _notes_section(
    document: Any, reltype: str, name: str, skipped: _Skipped
) -> Iterator[ExtractedSection]:
    lines: list[str] = []
    for root in _related_roots(document.part, reltype):
        for note in root:
            if note.get(f"{_W}type") in _NOTE_SEPARATORS:
                continue
            lines.extend(line for line, _ in _blocks(note, _Story(), skipped, frozenset()))
    if any(line.strip() for line in lines):
        yield ExtractedSection(text="\n".join(lines), section=name)


def _margin_parts(document: Any, body: Any) -> tuple[list[Any], list[Any]]:
    """Header and footer roots in the order the document's sections reference them."""
    found: dict[str, list[Any]] = {"header": [], "footer": []}
    for properties in body.iter(f"{_W}sectPr"):
        for reference in properties:
            kind = reference.tag.removeprefix(_W).removesuffix("Reference")
            if kind in found:
                part = document.part.related_parts[reference.get(f"{_R}id")]
                found[kind].append(_root(part))
    return found["header"], found["footer"]


def _related_roots(part: Any, reltype: str) -> Iterator[Any]:
    for relationship in part.rels.values():
        if relationship.reltype == reltype and not relationship.is_external:
            yield _root(relationship.target_part)


def _root(part: Any) -> Any:
    element = getattr(part, "element", None)
    return element if element is not None else parse_xml(part.blob)


def _heading_styles(document: Any) -> frozenset[str]:
    """Ids of paragraph styles that make a heading: named Heading n or Title (or based on
    one), or carrying an outline level."""
    ids: set[str] = set()
    for style in document.styles:
        current, depth = style, 0
        while current is not None and depth < 10:
            name = (current.name or "").lower()
            outline = current.element.find(f"{_W}pPr/{_W}outlineLvl")
            if name.startswith("heading") or name == "title" or outline is not None:
                ids.add(style.style_id)
                break
            current, depth = getattr(current, "base_style", None), depth + 1
    return frozenset(ids)


def _blocks(
    container: Any, story: _Story, skipped: _Skipped, headings: frozenset[str]
) -> Iterator[tuple[str, bool]]:
    """(text, is heading) of each paragraph and table row under a block container."""
    for element in container:
        tag = element.tag
        if tag == f"{_W}p":
            yield _paragraph(element, story, skipped, headings)
            floating, story.floating = story.floating, []
            for box in floating:
                yield from _blocks(box, story, skipped, headings)
        elif tag == f"{_W}tbl":
            yield from ((row, False) for row in _rows(element, story, skipped))
        elif tag == f"{_W}altChunk":
            skipped.add("document")
        elif tag in _WRAPPERS and not _is_placeholder(element):
            yield from _blocks(element, story, skipped, headings)
        elif tag == f"{_MC}AlternateContent":
            yield from _blocks(_chosen(element), story, skipped, headings)


def _paragraph(
    element: Any, story: _Story, skipped: _Skipped, headings: frozenset[str]
) -> tuple[str, bool]:
    parts: list[str] = []
    _inline(element, parts, story, skipped)
    style = element.find(f"{_W}pPr/{_W}pStyle")
    outline = element.find(f"{_W}pPr/{_W}outlineLvl")
    is_heading = outline is not None or (style is not None and style.get(f"{_W}val") in headings)
    return "".join(parts), is_heading


def _rows(table: Any, story: _Story, skipped: _Skipped) -> Iterator[str]:
    for row in _unwrapped(table, f"{_W}tr"):
        if row.find(f"{_W}trPr/{_W}del") is not None:
            continue
        cells = []
        for cell in _unwrapped(row, f"{_W}tc"):
            lines = [text for text, _ in _blocks(cell, story, skipped, frozenset())]
            cells.append(" ".join(" ".join(line.split()) for line in lines if line.strip()))
        yield " | ".join(cell for cell in cells if cell)


def _unwrapped(parent: Any, tag: str) -> Iterator[Any]:
    """Children `tag` of `parent`, also those wrapped in content controls or custom XML."""
    for child in parent:
        if child.tag == tag:
            yield child
        elif child.tag in _WRAPPERS and not _is_placeholder(child):
            yield from _unwrapped(child, tag)


def _inline(element: Any, parts: list[str], story: _Story, skipped: _Skipped) -> None:
    """Appends the visible text under `element` (a paragraph or inline container)."""
    for child in element:
        _inline_child(child, parts, story, skipped)


def _inline_child(child: Any, parts: list[str], story: _Story, skipped: _Skipped) -> None:
    tag = child.tag
    if not isinstance(tag, str) or tag in _SKIPPED:
        return
    if tag == f"{_W}r":
        _run(child, parts, story, skipped)
    elif tag in (f"{_W}t", f"{_M}t"):
        if not story.in_instruction:
            parts.append(child.text or "")
    elif tag == f"{_MC}AlternateContent":
        _inline(_chosen(child), parts, story, skipped)
    elif tag == f"{_W}txbxContent":
        story.floating.append(child)
    elif not _is_placeholder(child) and not _counted_as_skipped(tag, skipped):
        _inline(child, parts, story, skipped)


def _run(run: Any, parts: list[str], story: _Story, skipped: _Skipped) -> None:
    if _hidden(run):
        return
    for child in run:
        tag = child.tag
        if tag == f"{_W}fldChar":
            _field_char(child.get(f"{_W}fldCharType"), story)
        elif tag in _CHARACTERS:
            if not story.in_instruction:
                parts.append(_CHARACTERS[tag])
        else:
            _inline_child(child, parts, story, skipped)


def _field_char(kind: str | None, story: _Story) -> None:
    if kind == "begin":
        story.fields.append(False)
    elif kind == "separate" and story.fields:
        story.fields[-1] = True
    elif kind == "end" and story.fields:
        story.fields.pop()


def _counted_as_skipped(tag: str, skipped: _Skipped) -> bool:
    """Pictures, charts and embedded objects: counted, and nothing under them read
    (their text boxes excepted, which are found before this is asked)."""
    if tag in (f"{_A}blip", f"{_V}imagedata"):
        skipped.add("image")
        return True
    if tag == f"{_C}chart":
        skipped.add("chart")
        return True
    if tag == f"{_O}OLEObject":
        skipped.add("object")
        return True
    return False


def _hidden(run: Any) -> bool:
    vanish = run.find(f"{_W}rPr/{_W}vanish")
    return vanish is not None and vanish.get(f"{_W}val", "true").lower() not in _OFF


def _is_placeholder(sdt: Any) -> bool:
    """A content control still showing its placeholder ("Click here to enter text.")."""
    return sdt.tag == f"{_W}sdt" and sdt.find(f"{_W}sdtPr/{_W}showingPlcHdr") is not None


def _chosen(alternate: Any) -> Any:
    """The first `mc:Choice` of an `mc:AlternateContent` (else its `mc:Fallback`)."""
    choice = alternate.find(f"{_MC}Choice")
    if choice is not None:
        return choice
    fallback = alternate.find(f"{_MC}Fallback")
    return fallback if fallback is not None else alternate.makeelement("empty")

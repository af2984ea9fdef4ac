"""The WordprocessingML walk behind `word.DocxTextExtractor`: which elements hold text
a reader sees (ECMA-376 Part 1, §17), and what is counted as skipped."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_V = "{urn:schemas-microsoft-com:vml}"
_O = "{urn:schemas-microsoft-com:office:office}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"

_SKIPPED = frozenset(
    f"{W}{name}"
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
    f"{W}tab": "\t",
    f"{W}ptab": "\t",
    f"{W}br": "\n",
    f"{W}cr": "\n",
    f"{W}noBreakHyphen": "-",
}
_WRAPPERS = frozenset((f"{W}sdt", f"{W}sdtContent", f"{W}customXml"))
_OFF = frozenset(("0", "false", "off"))
NOTE_SEPARATORS = frozenset(("separator", "continuationSeparator", "continuationNotice"))
_SKIPPED_KINDS = {
    "image": "image without text",
    "chart": "chart",
    "object": "embedded object",
    "document": "embedded document",
}


@dataclass
class Story:
    """Walk state of one story (body, a header, the notes): open complex fields and
    text boxes waiting for their anchoring paragraph to end."""

    fields: list[bool] = field(default_factory=list)
    """One entry per open complex field: True once past its `separate`."""
    floating: list[Any] = field(default_factory=list)

    @property
    def in_instruction(self) -> bool:
        return not all(self.fields)


@dataclass
class Skipped:
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


def blocks(
    container: Any, story: Story, skipped: Skipped, headings: Mapping[str, int]
) -> Iterator[tuple[str, int | None]]:
    """(text, heading level or None) of each paragraph and table row under a block
    container; `headings` maps the ids of heading styles to their levels (Title 0)."""
    for element in container:
        tag = element.tag
        if tag == f"{W}p":
            yield _paragraph(element, story, skipped, headings)
            floating, story.floating = story.floating, []
            for box in floating:
                yield from blocks(box, story, skipped, headings)
        elif tag == f"{W}tbl":
            yield from ((row, None) for row in _rows(element, story, skipped))
        elif tag == f"{W}altChunk":
            skipped.add("document")
        elif tag in _WRAPPERS and not _is_placeholder(element):
            yield from blocks(element, story, skipped, headings)
        elif tag == f"{_MC}AlternateContent":
            yield from blocks(_chosen(element), story, skipped, headings)


def _paragraph(
    element: Any, story: Story, skipped: Skipped, headings: Mapping[str, int]
) -> tuple[str, int | None]:
    parts: list[str] = []
    _inline(element, parts, story, skipped)
    style = element.find(f"{W}pPr/{W}pStyle")
    outline = element.find(f"{W}pPr/{W}outlineLvl")
    level = outline_level(outline)
    if level is None and style is not None:
        level = headings.get(style.get(f"{W}val"))
    return "".join(parts), level


def outline_level(outline: Any) -> int | None:
    """The heading level a `w:outlineLvl` element gives (its value is 0-based), None
    without one; a value it cannot read is the lowest level."""
    if outline is None:
        return None
    value = outline.get(f"{W}val") or ""
    return int(value) + 1 if value.isdigit() else 10


def _rows(table: Any, story: Story, skipped: Skipped) -> Iterator[str]:
    for row in _unwrapped(table, f"{W}tr"):
        if row.find(f"{W}trPr/{W}del") is not None:
            continue
        cells = []
        for cell in _unwrapped(row, f"{W}tc"):
            lines = [text for text, _ in blocks(cell, story, skipped, {})]
            cells.append(" ".join(" ".join(line.split()) for line in lines if line.strip()))
        yield " | ".join(cell for cell in cells if cell)


def _unwrapped(parent: Any, tag: str) -> Iterator[Any]:
    """Children `tag` of `parent`, also those wrapped in content controls or custom XML."""
    for child in parent:
        if child.tag == tag:
            yield child
        elif child.tag in _WRAPPERS and not _is_placeholder(child):
            yield from _unwrapped(child, tag)


def _inline(element: Any, parts: list[str], story: Story, skipped: Skipped) -> None:
    """Appends the visible text under `element` (a paragraph or inline container)."""
    for child in element:
        _inline_child(child, parts, story, skipped)


def _inline_child(child: Any, parts: list[str], story: Story, skipped: Skipped) -> None:
    tag = child.tag
    if not isinstance(tag, str) or tag in _SKIPPED:
        return
    if tag == f"{W}r":
        _run(child, parts, story, skipped)
    elif tag in (f"{W}t", f"{_M}t"):
        if not story.in_instruction:
            parts.append(child.text or "")
    elif tag == f"{_MC}AlternateContent":
        _inline(_chosen(child), parts, story, skipped)
    elif tag == f"{W}txbxContent":
        story.floating.append(child)
    elif not _is_placeholder(child) and not _counted_as_skipped(tag, skipped):
        _inline(child, parts, story, skipped)


def _run(run: Any, parts: list[str], story: Story, skipped: Skipped) -> None:
    if _hidden(run):
        return
    for child in run:
        tag = child.tag
        if tag == f"{W}fldChar":
            _field_char(child.get(f"{W}fldCharType"), story)
        elif tag in _CHARACTERS:
            if not story.in_instruction:
                parts.append(_CHARACTERS[tag])
        else:
            _inline_child(child, parts, story, skipped)


def _field_char(kind: str | None, story: Story) -> None:
    if kind == "begin":
        story.fields.append(False)
    elif kind == "separate" and story.fields:
        story.fields[-1] = True
    elif kind == "end" and story.fields:
        story.fields.pop()


def _counted_as_skipped(tag: str, skipped: Skipped) -> bool:
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
    vanish = run.find(f"{W}rPr/{W}vanish")
    return vanish is not None and vanish.get(f"{W}val", "true").lower() not in _OFF


def _is_placeholder(sdt: Any) -> bool:
    """A content control still showing its placeholder ("Click here to enter text.")."""
    return sdt.tag == f"{W}sdt" and sdt.find(f"{W}sdtPr/{W}showingPlcHdr") is not None


def _chosen(alternate: Any) -> Any:
    """The first `mc:Choice` of an `mc:AlternateContent` (else its `mc:Fallback`)."""
    choice = alternate.find(f"{_MC}Choice")
    if choice is not None:
        return choice
    fallback = alternate.find(f"{_MC}Fallback")
    return fallback if fallback is not None else alternate.makeelement("empty")

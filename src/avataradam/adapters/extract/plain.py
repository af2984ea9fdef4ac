"""Plain text and Markdown in any common encoding, read as a stream of bounded sections.

Markdown headings (ATX `# Title`, and Setext: a one-line paragraph underlined with `=`
or `-`) name sections; front matter is metadata (see `frontmatter`). The text
is decoded block by block and cut into sections at paragraph breaks once a section
holds `section_chars` characters, so a large file never sits whole in memory.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

from avataradam.adapters.extract.encoding import (
    BLOCK_BYTES,
    TextEncoding,
    decoded_text,
    open_text,
)
from avataradam.adapters.extract.frontmatter import read_front_matter
from avataradam.adapters.extract.limits import DEFAULT_MAX_TEXT_CHARS, DEFAULT_MAX_TEXT_FILE_BYTES
from avataradam.adapters.extract.prose import readable_sections
from avataradam.domain.filetypes import MARKDOWN
from avataradam.domain.ports.knowledge import ExtractedSection, Extraction

_ATX_HEADING = re.compile(r"^ {0,3}(?P<marks>#{1,6})[ \t]+(?P<title>.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?P<mark>=+|-+)[ \t]*$")
_NOT_SETEXT_TEXT = re.compile(r"^(?: {4}|\t| {0,3}(?:[-*+>]|\d{1,9}[.)])(?:[ \t]|$))")
"""Lines an underline does not make a heading: indented code, list items, quotes."""
_UNDERLINE_MARKS = frozenset("=-")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_IMAGE = re.compile(r"!\[[^\]\n]*\]\(")
DEFAULT_SECTION_CHARS = 64 * 1024
_OPENING_LINES = 20
"""Blank lines looked past for the heading a Markdown text opens with."""


class PlainTextExtractor:
    """Implements `TextExtractor` for text/plain and text/markdown.

    The encoding is told by `detect_encoding` (BOM, UTF-16, UTF-8, Windows-1252, then a
    confident detector); a file it cannot tell fails as `undecodable_text`.
    """

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_TEXT_FILE_BYTES,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        section_chars: int = DEFAULT_SECTION_CHARS,
    ) -> None:
        self._max_bytes = max_bytes
        self._max_text_chars = max_text_chars
        self._section_chars = section_chars

    def extract(self, path: Path, content_type: str) -> Extraction:
        encoding = open_text(path, self._max_bytes)
        read = _ReadShare(path.stat().st_size)
        lines = _lines(path, encoding, max_line_chars=self._section_chars, read=read)
        warnings: list[str] = []
        title = opening = None
        if content_type == MARKDOWN:
            front, lines = read_front_matter(lines)
            title = front.title
            warnings.extend(front.warnings)
            opening, lines = _opening_heading(lines)
        markdown = content_type == MARKDOWN
        sections = _sections(lines, self._section_chars, markdown=markdown)
        if markdown:
            sections = _counting_images(sections, warnings)
        return Extraction(
            sections=readable_sections(
                sections, max_text_chars=self._max_text_chars, warnings=warnings
            ),
            title=title,
            opening_heading=opening,
            warnings=warnings,
            read_share=read,
        )


class _ReadShare:
    """The share of the file's bytes decoded so far (block by block)."""

    def __init__(self, size: int) -> None:
        self.size, self.read = size, 0

    def __call__(self) -> float:
        return min(1.0, self.read / self.size) if self.size else 1.0


def _lines(
    path: Path, encoding: TextEncoding, *, max_line_chars: int, read: _ReadShare
) -> Iterator[str]:
    """Lines ending in `\\n` (the last perhaps not); a line longer than `max_line_chars`
    is cut (after a space where there is one), so a file without line breaks streams."""
    pending = ""
    for block in decoded_text(path, encoding):
        read.read += BLOCK_BYTES
        pending += block
        *complete, pending = pending.split("\n")
        for line in complete:
            yield from _cut(line + "\n", max_line_chars)
        while len(pending) > max_line_chars:
            cut = _cut_point(pending, max_line_chars)
            yield pending[:cut]
            pending = pending[cut:]
    if pending:
        yield pending


def _opening_heading(lines: Iterator[str]) -> tuple[str | None, Iterator[str]]:
    """The ATX heading the text opens with (past at most `_OPENING_LINES` blank lines),
    if any, and the lines unchanged."""
    seen: list[str] = []
    heading = None
    for line in lines:
        seen.append(line)
        if line.strip():
            match = _ATX_HEADING.match(line.rstrip("\n"))
            if match is None:
                following = next(lines, None)
                seen += [following] if following is not None else []
                level = _setext_level(line, following, in_fence=bool(_FENCE.match(line)))
                heading = " ".join(line.split()) if level else None
            else:
                heading = " ".join(match["title"].split()) or None
            break
        if len(seen) >= _OPENING_LINES:
            break
    return heading, itertools.chain(seen, lines)


def _setext_level(line: str, following: str | None, *, in_fence: bool) -> int | None:
    """1 or 2 when `line`, a paragraph's first line, is a Setext heading: text that
    `following` underlines with `=` (1) or `-` (2)."""
    if in_fence or following is None or following.lstrip(" ")[:1] not in _UNDERLINE_MARKS:
        return None  # most lines: what follows is no underline
    underline = _SETEXT_UNDERLINE.match(following.rstrip("\n"))
    if underline is None or not line.strip() or _NOT_SETEXT_TEXT.match(line):
        return None
    if _SETEXT_UNDERLINE.match(line.rstrip("\n")) or _FENCE.match(line):
        return None
    return 1 if underline["mark"][0] == "=" else 2


def _with_next(lines: Iterator[str]) -> Iterator[tuple[str, str | None]]:
    """Each line with the one after it (None after the last)."""
    previous = next(lines, None)
    if previous is None:
        return
    for line in lines:
        yield previous, line
        previous = line
    yield previous, None


def _cut(line: str, size: int) -> Iterator[str]:
    while len(line) > size:
        cut = _cut_point(line, size)
        yield line[:cut]
        line = line[cut:]
    if line:
        yield line


def _cut_point(text: str, size: int) -> int:
    """Where to cut `text` to at most `size` characters: after its last space in the
    second half of that span, else at `size` (one enormous word)."""
    space = max(text.rfind(" ", size // 2, size), text.rfind("\t", size // 2, size))
    return space + 1 if space >= 0 else size


def _sections(lines: Iterator[str], size: int, *, markdown: bool) -> Iterator[ExtractedSection]:
    """Sections cut at the first paragraph break past `size` characters, and never longer
    than `2 * size` (lines are at most `size`); in Markdown also before each ATX heading
    outside fenced code, and before each one-line paragraph a Setext underline follows
    (the heading names the section and stays in its text)."""
    path: list[tuple[int, str]] = []  # (level, heading) of the headings enclosing a line
    buffer: list[str] = []
    length = 0
    in_fence = False
    paragraph_start = True  # the line follows a blank line (or none)
    for line, following in _with_next(lines):
        if markdown and _FENCE.match(line):
            in_fence = not in_fence
        level, heading = (
            _heading(line, following, in_fence=in_fence, start=paragraph_start)
            if markdown
            else (None, "")
        )
        paragraph_start = not line.strip()
        full = (length >= size and not line.strip()) or length + len(line) > 2 * size
        if buffer and (level is not None or full):
            yield _section("".join(buffer), path)
            buffer, length = [], 0
        if level is not None and heading:
            path = [*(entry for entry in path if entry[0] < level), (level, heading)]
        buffer.append(line)
        length += len(line)
    if buffer:
        yield _section("".join(buffer), path)


def _heading(
    line: str, following: str | None, *, in_fence: bool, start: bool
) -> tuple[int | None, str]:
    """(level, heading) when `line` of Markdown is a heading (an ATX heading may be
    empty), else (None, "")."""
    if in_fence:
        return None, ""
    match = _ATX_HEADING.match(line.rstrip("\n")) if "#" in line else None
    if match is not None:
        return len(match["marks"]), " ".join(match["title"].split())
    level = _setext_level(line, following, in_fence=False) if start else None
    return (level, " ".join(line.split())) if level is not None else (None, "")


def _section(text: str, path: list[tuple[int, str]]) -> ExtractedSection:
    headings = tuple(heading for _, heading in path)
    return ExtractedSection(
        text=text, section=headings[-1] if headings else None, section_path=headings
    )


def _counting_images(
    sections: Iterator[ExtractedSection], warnings: list[str]
) -> Iterator[ExtractedSection]:
    """The sections unchanged; Markdown images (`![alt](…)`, only their alt text is
    read) are counted into `warnings` at the end."""
    images = 0
    for section in sections:
        images += len(_IMAGE.findall(section.text))
        yield section
    if images:
        warnings.append(f"{images} image{'' if images == 1 else 's'} without text skipped")

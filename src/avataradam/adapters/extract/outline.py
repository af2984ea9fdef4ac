"""A PDF's outline (its bookmarks) as the heading paths of its pages' text.

Each outline entry names a heading and the page it starts on; its path is the titles of
the entries it is nested under, then its own. A page's text lies under the last entry
that starts before it; an entry that starts on the page cuts the page's text at the line
that reads as its title (whitespace and case aside, a section number before it allowed),
or, where no line does, covers the rest of the page. No outline, no paths: headings are
never guessed from the text's look (font sizes).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pypdf

MAX_HEADING_CHARS: Final = 500
MAX_NUMBERING_CHARS: Final = 12
_NUMBERING = re.compile(rf"[\d.:)(\-\u2013§]{{0,{MAX_NUMBERING_CHARS}}}")
"""What may stand before a title on its heading's line ("2.1", "3)", "§4")."""
MAX_SEARCHED_PER_PAGE: Final = 20
"""Entries of one page whose title is looked for in its lines; any more (a hostile
outline of thousands on a page) cover the rest of the page unsought."""


@dataclass(frozen=True, slots=True)
class OutlineHeading:
    page: int
    """The page the entry starts on, 0-based."""
    path: tuple[str, ...]


def outline_headings(reader: pypdf.PdfReader) -> list[OutlineHeading]:
    """The outline's entries that point at one of the document's pages, in the order the
    pages are read (entries of one page in outline order); entries without a title are
    left out, their children lie under the entries above them."""
    headings: list[OutlineHeading] = []

    def walk(items: Sequence[Any], parents: tuple[str, ...]) -> None:
        previous = parents  # a nested list holds the children of the entry before it
        for item in items:
            if isinstance(item, list):
                walk(item, previous)
                continue
            title = " ".join(str(item.title or "").split())[:MAX_HEADING_CHARS]
            if not title:
                previous = parents
                continue
            previous = (*parents, title)
            page = reader.get_destination_page_number(item)
            if page is not None and page >= 0:
                headings.append(OutlineHeading(page=page, path=previous))

    walk(reader.outline, ())
    headings.sort(key=lambda heading: heading.page)  # stable: outline order within a page
    return headings


class PagePaths:
    """Cuts pages' text, given in page order, into parts under their heading paths."""

    def __init__(self, headings: Sequence[OutlineHeading]) -> None:
        self._headings = headings
        self._next = 0
        self.path: tuple[str, ...] = ()
        """The path the text read last lies under."""

    def parts(self, index: int, text: str) -> Iterator[tuple[str, tuple[str, ...]]]:
        """(text, heading path) of the page `index` (0-based), in order; parts without
        text are left out. Pages without text must be passed too (their entries count)."""
        lines = text.splitlines(keepends=True)
        compact: list[str] | None = None  # the lines compared, made once for the page
        searched = start = 0
        while self._next < len(self._headings) and self._headings[self._next].page <= index:
            heading = self._headings[self._next]
            self._next += 1
            if heading.page < index:  # on a page before this one (never given text)
                self.path = heading.path
                continue
            searched += 1
            if searched > MAX_SEARCHED_PER_PAGE:
                self.path = heading.path
                continue
            compact = compact if compact is not None else [_compact(line) for line in lines]
            found = _title_line(compact, start, _compact(heading.path[-1]))
            if found is not None:
                part = "".join(lines[start:found])
                if part.strip():
                    yield part, self.path
                start = found
            self.path = heading.path
        part = "".join(lines[start:])
        if part.strip():
            yield part, self.path


def _title_line(lines: Sequence[str], start: int, title: str) -> int | None:
    """The first of the (compacted) `lines` from `start` that reads as the (compacted)
    `title` alone, or with the next line (a title wrapped over two), perhaps after a
    section number."""
    for index in range(start, len(lines)):
        line = lines[index]
        if _reads_as(line, title):
            return index
        wrapped = index + 1 < len(lines) and len(line) < len(title)
        if wrapped and _reads_as(line + lines[index + 1], title):
            return index
    return None


def _reads_as(line: str, title: str) -> bool:
    extra = len(line) - len(title)
    return (
        0 <= extra <= MAX_NUMBERING_CHARS
        and line.endswith(title)
        and _NUMBERING.fullmatch(line[:extra]) is not None
    )


def _compact(text: str) -> str:
    """`text` without whitespace, ligatures and case ("Grundbegriﬀe" reads "grundbegriffe")."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()

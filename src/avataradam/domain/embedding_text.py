"""The text embedded for a passage: its document's title and section, then its own text.

A passage rarely says what it is about ("it pays the balance after a total loss" never
names GAP); its document's title and section do. They go into the text that is
embedded only: the stored passage (what search returns and citations show) is the
chunk's text alone, and questions are embedded as asked. Issue 16 measured the gain
offline: MRR@10 0.63 -> 0.71 with all-MiniLM-L6-v2 on labelled F&I questions.

The format (`EmbeddingContext.TITLE_SECTION`, `FORMATS` names its version)::

    Title: <title>
    Section: <outer heading> > <inner heading>   <- only when the passage has a section
    <empty line>
    <passage text>

The section is the passage's heading path where the extractor knows it (Markdown, DOCX,
HTML, a PDF's outline), else its section's name; headings that repeat the title are left out. Title
and section are single lines of at most `MAX_TITLE_CHARS` / `MAX_SECTION_CHARS`
characters, and the whole prefix is cut to the tokens the embedder's window leaves
beside a passage (`PassageText.max_prefix_tokens`), so the prefix never pushes the
passage's own words out of what the model reads. Vectors made with another format are
not comparable: `vector_space` names the model and the format together.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePosixPath
from typing import Final

from avataradam.domain.ports.knowledge import ChunkDraft

MAX_TITLE_CHARS: Final = 120
MAX_SECTION_CHARS: Final = 120
_SEPARATORS = re.compile(r"[\s_.-]+")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


class EmbeddingContext(enum.StrEnum):
    """What is embedded with a passage (setting `AVATARADAM_EMBEDDING_CONTEXT`)."""

    TITLE_SECTION = "title_section"
    NONE = "none"


FORMATS: Final = {EmbeddingContext.TITLE_SECTION: "title_section.v1", EmbeddingContext.NONE: ""}
"""The versioned name of each embedded-text format; change the version with the format."""


def vector_space(model_name: str, context: EmbeddingContext) -> str:
    """What a passage vector's meaning depends on: the model and the embedded-text format.
    The model name alone for `NONE` (the vectors of before this format existed)."""
    format_name = FORMATS[context]
    return f"{model_name}+{format_name}" if format_name else model_name


def readable_filename(filename: str) -> str:
    """A filename as a title: no folders, no extension, `_`, `-` and `.` between words
    read as spaces ("gap_rate-card.v2.pdf" -> "gap rate card v2"); "" when nothing is
    left."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    stem = _EXTENSION.sub("", name) or name
    return " ".join(_SEPARATORS.sub(" ", stem).split())


def document_title(*, title: str | None, opening_heading: str | None, filename: str) -> str:
    """The title embedded with a document's passages: the title the file names for
    itself (PDF metadata, DOCX core properties, HTML `<title>`, Markdown front matter),
    else the heading its text opens with (Markdown, DOCX; HTML's first `<h1>`), else its
    filename made readable."""
    for candidate in (title, opening_heading):
        if candidate and candidate.strip():
            return _line(candidate, MAX_TITLE_CHARS)
    return _line(readable_filename(filename), MAX_TITLE_CHARS)


def _line(text: str, limit: int) -> str:
    """`text` on one line (whitespace collapsed), cut to `limit` characters at a word."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line.rfind(" ", limit // 2, limit + 1)
    return line[: cut if cut > 0 else limit].rstrip()


def context_prefix(title: str, section: str | None) -> str:
    """The prefix of the format (see the module docstring); "" without a title."""
    title = _line(title, MAX_TITLE_CHARS)
    if not title:
        return ""
    section = _line(section or "", MAX_SECTION_CHARS)
    lines = [f"Title: {title}"] + ([f"Section: {section}"] if section else [])
    return "\n".join(lines) + "\n\n"


class PassageText:
    """Texts to embed for passages, in the configured format (`context`).

    `count_tokens` measures text as the chunker does (never below what the embedder
    reads) and `max_prefix_tokens` is what its window leaves beside the largest passage
    (None: no window, only the character limits apply). A prefix over it loses its
    outer headings, then words of its section, then of its title, down to nothing: the
    passage's own text is always read whole.
    """

    def __init__(
        self,
        context: EmbeddingContext,
        *,
        count_tokens: Callable[[str], int],
        max_prefix_tokens: int | None,
    ) -> None:
        self.context = context
        self.max_prefix_tokens = max_prefix_tokens
        self._count_tokens = count_tokens
        self._prefixes: dict[tuple[str, str | None, tuple[str, ...]], str] = {}

    def vector_space(self, model_name: str) -> str:
        return vector_space(model_name, self.context)

    def embedded(
        self, text: str, *, title: str, section: str | None, section_path: Sequence[str] = ()
    ) -> str:
        """What is embedded for the passage `text` of a document titled `title`, in
        `section` (or under the headings `section_path`, outermost first)."""
        if self.context is EmbeddingContext.NONE:
            return text
        key = (title, section, tuple(section_path))
        prefix = self._prefixes.get(key)
        if prefix is None:
            if len(self._prefixes) >= 256:  # one document's sections, not a process's
                self._prefixes.clear()
            prefix = self._prefixes[key] = self._fitted(title, section_path or [section or ""])
        return prefix + text

    def batch(self, drafts: Iterable[ChunkDraft], title: str) -> list[str]:
        """`embedded` of each of a document's passages, in order."""
        return [
            self.embedded(d.text, title=title, section=d.section, section_path=d.section_path)
            for d in drafts
        ]

    def _fitted(self, title: str, section_path: Sequence[str]) -> str:
        """The prefix of `title` and `section_path` (joined by " > ", without headings
        that repeat the title) within the limits; outer headings go first, then the last
        words of the innermost, then those of the title."""
        parts = [_line(part, MAX_SECTION_CHARS) for part in section_path if part.strip()]
        title = _line(title, MAX_TITLE_CHARS)
        while parts and parts[0].casefold() == title.casefold():
            parts.pop(0)
        while True:
            section = " > ".join(parts)
            if len(section) <= MAX_SECTION_CHARS:
                prefix = context_prefix(title, section)
                if self._fits(prefix):
                    return prefix
            if len(parts) > 1:
                parts.pop(0)
            elif parts:
                parts = [cut] if (cut := parts[0].rpartition(" ")[0]) else []
            else:
                title = title.rpartition(" ")[0]

    def _fits(self, prefix: str) -> bool:
        limit = self.max_prefix_tokens
        return not prefix or limit is None or self._count_tokens(prefix) <= limit


AS_IS: Final = PassageText(EmbeddingContext.NONE, count_tokens=len, max_prefix_tokens=None)
"""Passages embedded as they are."""

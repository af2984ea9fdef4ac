"""Keep what a reader reads: strip machine payloads, drop passages that are not language.

A Markdown image inlined as a data URI, a PEM certificate or a hex dump is text to a
parser but noise to a reader; left in, its hundreds of passages outrank the real prose
in search. Every extractor's text passes through `readable_sections`.

Rules (own code: no maintained library strips payloads from prose; each rule is a
documented format):

- data URIs (RFC 2397) of 32 characters or more are removed whole;
- PEM blocks (RFC 7468, `-----BEGIN …-----` to `-----END …-----`) are removed;
- base64 runs (RFC 4648 alphabets, possibly wrapped over lines) of 64 characters or
  more mixing upper case, lower case and digits are removed;
- hexadecimal runs of 64 digits or more mixing digits and letters (`0x`-prefixed or
  not), and hex dumps of 32 or more space- or colon-separated byte pairs, are removed;
- then each block (paragraph; a line or a window of words where paragraphs are huge) of
  at least 32 visible characters is kept only if at least half of its characters belong
  to word-like tokens: tokens with a letter or digit, at most 40 characters long (combining
  marks not counted), or longer but written in a script without spaces (CJK, Thai…), or
  web addresses.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

import msgspec

from avataradam.adapters.extract.limits import clean_text
from avataradam.domain.codes import EMPTY_TEXT, TOO_LARGE
from avataradam.domain.ports.knowledge import ExtractedSection, ExtractionFailed

MIN_JUDGED_CHARS: Final = 32
"""Blocks shorter than this (a rule, a table border) are kept unjudged."""
MIN_LANGUAGE_SHARE: Final = 0.5
MAX_WORD_CHARS: Final = 40
MAX_BLOCK_CHARS: Final = 2000
MAX_MARK_CHARS: Final = 3
"""Tokens without letters or digits up to this long ("…", "•", "--") are typography."""

_DATA_URI = re.compile(
    r"data:(?:[\w.+-]+/[\w.+-]+)?(?:;[\w.+-]+=[^;,\s]*)*(?:;base64)?,[^\s)\"'<>\]]{32,}",
    re.IGNORECASE,
)
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?-----END [A-Z0-9 ]+-----", re.DOTALL)
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{20,}(?:[ \t]*\n[ \t]*[A-Za-z0-9+/_-]{20,})*={0,2}")
_HEX = re.compile(
    r"\b(?:0x)?(?=[0-9A-Fa-f]*\d)(?=[0-9A-Fa-f]*[A-Fa-f])[0-9A-Fa-f]{64,}\b"
    r"|\b(?:[0-9A-Fa-f]{2}[ :]){31,}[0-9A-Fa-f]{2}\b"
)
_BLANK_LINES = re.compile(r"(\n[ \t]*\n\s*)")
_LINE_BREAK = re.compile(r"(\n)")
_WHITESPACE = re.compile(r"(\s+)")
_TOKEN = re.compile(r"[^\s,;|]+")
_WORD_CHARACTER = re.compile(r"\w")
_WEB_ADDRESS = re.compile(r"(?:https?://|www\.)", re.IGNORECASE)


@dataclass(slots=True)
class _Tally:
    payloads: int = 0
    dropped: int = 0


def readable_sections(
    sections: Iterable[ExtractedSection], *, max_text_chars: int, warnings: list[str]
) -> Iterator[ExtractedSection]:
    """Each non-empty section with its payloads stripped and non-language blocks dropped.

    Raises `ExtractionFailed`: `too_large` once the kept text passes `max_text_chars`,
    `empty_text` at the end if nothing was kept. What was removed is added to `warnings`
    when the sections are exhausted.
    """
    tally = _Tally()
    total = 0
    for section in sections:
        text, payloads = strip_payloads(clean_text(section.text))
        text, dropped = drop_non_language(text)
        tally.payloads += payloads
        tally.dropped += dropped
        text = text.strip()
        if not text:
            continue
        total += len(text)
        if total > max_text_chars:
            raise ExtractionFailed(
                f"extracted text exceeds {max_text_chars} characters", reason=TOO_LARGE
            )
        yield msgspec.structs.replace(section, text=text)
    notes = _notes(tally)
    if not total:
        detail = f" ({'; '.join(notes)})" if notes else ""
        raise ExtractionFailed(f"the file contains no readable text{detail}", reason=EMPTY_TEXT)
    warnings.extend(notes)


def strip_payloads(text: str) -> tuple[str, int]:
    """`text` without data URIs, PEM blocks, base64 and hex runs; and how many went."""
    removed = 0

    def remove_base64(match: re.Match[str]) -> str:
        nonlocal removed
        if not _is_base64(match[0]):
            return match[0]
        removed += 1
        return ""

    for pattern in (_DATA_URI, _PEM, _HEX):
        text, count = pattern.subn("", text)
        removed += count
    return _BASE64.sub(remove_base64, text), removed


def is_language(text: str) -> bool:
    """True when at least half of the visible characters are in word-like tokens
    (punctuation marks standing alone, like dot leaders and bullets, not counted)."""
    wordy = other = 0
    for token in _TOKEN.findall(text):
        length = _visible_length(token)
        if _word_like(token, length):
            wordy += length
        elif length > MAX_MARK_CHARS:
            other += length
    total = wordy + other
    return total < MIN_JUDGED_CHARS or wordy >= total * MIN_LANGUAGE_SHARE


def drop_non_language(text: str) -> tuple[str, int]:
    """`text` without its blocks that are not language, and how many were dropped."""
    kept: list[str] = []
    dropped = 0
    for block, separator in _blocks(text):
        if is_language(block):
            kept.append(block + separator)
        else:
            dropped += 1
            kept.append(separator)
    return "".join(kept), dropped


def _is_base64(run: str) -> bool:
    """A long run mixing cases and digits; a path or a long word has no such mix."""
    compact = "".join(run.split()).rstrip("=")
    return (
        len(compact) >= 64
        and any(ch.isupper() for ch in compact)
        and any(ch.islower() for ch in compact)
        and any(ch.isdigit() for ch in compact)
    )


def _blocks(text: str) -> Iterator[tuple[str, str]]:
    """(block, separator after it): paragraphs, or lines / word windows where too long."""
    for paragraph, gap in _pairs(_BLANK_LINES.split(text)):
        if len(paragraph) <= MAX_BLOCK_CHARS:
            yield paragraph, gap
            continue
        lines = list(_pairs(_LINE_BREAK.split(paragraph)))
        for index, (line, newline) in enumerate(lines):
            tail = gap if index == len(lines) - 1 else newline
            if len(line) <= MAX_BLOCK_CHARS:
                yield line, tail
            else:
                yield from _windows(line, tail)


def _windows(line: str, tail: str) -> Iterator[tuple[str, str]]:
    window: list[str] = []
    size = 0
    for word, space in _pairs(_WHITESPACE.split(line)):
        if window and size + len(word) > MAX_BLOCK_CHARS:
            yield "".join(window[:-1]), window[-1]
            window, size = [], 0
        window += [word, space]
        size += len(word) + len(space)
    if window:
        yield "".join(window[:-1]), window[-1] + tail


def _pairs(parts: list[str]) -> Iterator[tuple[str, str]]:
    """Pieces of `re.split` with one capturing group, as (piece, separator after it)."""
    for index in range(0, len(parts), 2):
        yield parts[index], parts[index + 1] if index + 1 < len(parts) else ""


def _visible_length(token: str) -> int:
    if len(token) <= MAX_WORD_CHARS:
        return len(token)
    return sum(1 for ch in token if not unicodedata.combining(ch))


def _word_like(token: str, length: int) -> bool:
    if not _WORD_CHARACTER.search(token):
        return False
    if length <= MAX_WORD_CHARS or _WEB_ADDRESS.match(token):
        return True
    unspaced = sum(1 for ch in token if unicodedata.category(ch) == "Lo")
    return unspaced * 2 >= length


def _notes(tally: _Tally) -> list[str]:
    notes = []
    if tally.payloads:
        notes.append(
            f"{_count(tally.payloads, 'embedded data payload')} (data URI, base64, hex or key)"
            " stripped"
        )
    if tally.dropped:
        notes.append(f"{_count(tally.dropped, 'passage')} without words (not language) dropped")
    return notes


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"

"""Whole sentences of extracted document text, rebuilt across line wraps, hyphenation
at line ends and page breaks.

Text extracted from PDFs keeps the layout's line ends: a sentence such as "Never tell a
customer that GAP is⏎required to get the loan approved." arrives in two lines, and a
splitter that cuts at every line end makes two fragments, the second of which says the
opposite of the rule. `paragraphs` rebuilds the running text first:

1. page breaks are layout, not boundaries: a form feed, or a line holding only a page
   label ("Page 3", "Page 3 of 12", "Página 3 de 12", "- 3 -", "3"), is removed together
   with the blank lines around it, so a sentence running over a page break is joined;
2. blank lines separate blocks, except that a block ending without closing punctuation
   continues into a next block that starts in lower case (a column or page gap);
3. a line starting with a list marker ("-", "*", "•", "1.", "a)") starts an item, and
   the marker is dropped; a short Title Case line without closing punctuation followed
   by a capitalised line is a heading, at a block's start or after a closed sentence
   ("…less a $75 fee.⏎Compliance⏎Never tell…" keeps "Compliance" off the rule);
4. every other line end is a wrap: joined with a space or, after a hyphen between two
   lower-case letters, by `joins_hyphenated_word` ("pay-⏎ment" is "payment", "follow-⏎up"
   stays "follow-up"; "F&I-⏎compliant" keeps its hyphen because "I" is not lower case).

`sentences` then cuts each paragraph with sentencex (Wikimedia's rule-based segmenter)
where its English AND its Spanish rules both see a boundary and the next sentence does
not start in lower case: an abbreviation of either language ("Mr.", "e.g.", "Sr.",
"p. ej.") never splits, so a mistake merges two sentences instead of cutting one.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator

import sentencex
from wordfreq import zipf_frequency

LANGUAGES = ("en", "es")
"""Languages whose segmentation rules must agree on a boundary (dealership staff and
customers speak English and Spanish)."""

KNOWN_WORD_ZIPF = 3.0
"""A word at least this frequent (wordfreq's Zipf scale: 3.0 is once per million words)
in English or Spanish is a known word."""

_PAGE_LABEL = re.compile(
    r"^\s*(?:(?:page|p[aá]gina|p[aá]g\.?)\s*\d{1,4}(?:\s*(?:of|de|/)\s*\d{1,4})?"
    r"|[-\u2013\u2014]?\s*\d{1,4}\s*[-\u2013\u2014]?)\s*$",
    re.IGNORECASE,
)
_LIST_MARKER = re.compile(
    r"^\s*(?:[•‣◦▪●]\s*|[-*+\u2013\u2014]\s+|\(?\d{1,3}[.)]\s+|\(?[a-z]\)\s+)"
)
_DASH_LEAD = re.compile(r"^\s*[\u2013\u2014]\s+")
_CLOSING = frozenset('.!?:;…"”\u2019»)]')
_HYPHENS = "-\u2010"
_SOFT_HYPHEN = "\u00ad"
_WORD_BEFORE = re.compile(r"(\w+)$")
_WORD_AFTER = re.compile(r"^(\w+)")
_TITLE_MAX_WORDS = 8


def sentences(text: str) -> list[str]:
    """Whole sentences of `text`, in order, whitespace collapsed.

    Every item starts where a sentence starts in the rebuilt text and ends where one
    ends (or where its paragraph, list item or heading ends). Nothing is cut inside a
    sentence; when unsure, two sentences stay together.
    """
    found: list[str] = []
    for paragraph in paragraphs(text):
        found.extend(_segment(paragraph))
    return found


def warm_up() -> None:
    """Loads both languages' segmentation rules and word lists now (about a second)
    instead of during the first reply that needs them."""
    for language in LANGUAGES:
        _boundaries("Warm. Up.", language)
        zipf_frequency("warm", language)


def paragraphs(text: str) -> list[str]:
    """The running text of `text`: paragraphs, list items and headings, one string each."""
    rebuilt: list[str] = []
    for block in _blocks(_lines(text)):
        items = _items(block, text)
        if rebuilt and items and _continues(rebuilt[-1], items[0]):
            rebuilt[-1] = _join(rebuilt[-1], items.pop(0), text)
        rebuilt.extend(items)
    return [" ".join(item.split()) for item in rebuilt if item.strip()]


def joins_hyphenated_word(before: str, after: str, text: str = "") -> bool:
    """Whether "before-⏎after" (a hyphen at a line end) is one word split by the layout.

    Kept as a hyphen: unless both letters beside it are lower case ("F&I-compliant",
    "COVID-19"); when `text` has "before-after" elsewhere; when "beforeafter" is not a
    known word but both halves are ("follow-up", "trade-in"). Joined: when `text` has
    "beforeafter" elsewhere, when it is a known word ("payment"), or when the halves are
    not words (a rare word hyphenated by the layout: "subro-gation").
    """
    if not (before[-1:].islower() and after[:1].islower()):
        return False
    joined, hyphenated = before + after, f"{before}-{after}"
    if _occurs(joined, text):
        return True
    if _occurs(hyphenated, text):
        return False
    if _known(joined):
        return True
    return not (_known(before) and _known(after))


def _lines(text: str) -> list[str]:
    """Lines of `text` with page breaks (and the blank lines around them) removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2029", "\n\n")
    lines = text.replace("\u2028", "\n").replace("\f", "\n\f\n").split("\n")
    kept: list[str] = []
    after_break = False
    for number, line in enumerate(lines):
        if "\f" in line or _is_page_label(lines, number):
            while kept and not kept[-1].strip():
                kept.pop()
            after_break = True
        elif not line.strip() and after_break:
            continue
        else:
            kept.append(line)
            after_break = False
    return kept


def _is_page_label(lines: list[str], number: int) -> bool:
    """A page label on a line of its own, set apart by a blank line or a page edge
    (a wrapped "see⏎page 3⏎of the contract" is text)."""

    def apart(neighbour: int) -> bool:
        return not 0 <= neighbour < len(lines) or not lines[neighbour].strip(" \t\f")

    return bool(_PAGE_LABEL.match(lines[number])) and (apart(number - 1) or apart(number + 1))


def _blocks(lines: list[str]) -> Iterator[list[str]]:
    block: list[str] = []
    for line in lines:
        if line.strip():
            block.append(line.strip())
        elif block:
            yield block
            block = []
    if block:
        yield block


def _items(block: list[str], text: str) -> list[str]:
    """One block's list items and headings, each with its wrapped lines joined (`text`,
    the whole passage, is the evidence for mending hyphenated words)."""
    items: list[str] = []
    current: str | None = None
    held: str | None = None
    """A line after a closed sentence that may be a heading: the next line decides."""
    width = max(len(line) for line in block)
    for line in block:
        marker = _LIST_MARKER.match(line)
        if held is not None and current is not None:
            if marker is None and _is_heading(held, line, width):
                items.extend((current, held))
                current, held = line, None
                continue
            current, held = _join(current, held, text), None
        if current is None:
            current = line[marker.end() :] if marker else line
        elif marker is not None and not _dash_continuation(current, line):
            items.append(current)
            current = line[marker.end() :]
        elif current in block and _is_heading(current, line, width):
            items.append(current)
            current = line
        elif _ends_closed(current) and _may_head(line):
            held = line
        else:
            current = _join(current, line, text)
    if held is not None and current is not None:
        current = _join(current, held, text)
    if current is not None:
        items.append(current)
    return items


_OPEN_ENDINGS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "for",
        "and",
        "or",
        "but",
        "nor",
        "that",
        "is",
        "are",
        "was",
        "be",
        "with",
        "by",
        "at",
        "on",
        "in",
        "as",
        "from",
        "not",
        "never",
        "your",
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "de",
        "del",
        "que",
        "y",
        "o",
        "en",
        "por",
        "para",
        "al",
        "con",
        "sin",
        "no",
        "nunca",
        "su",
        "sus",
        "tu",
    ]
)
"""Words a heading does not end with and a line cut mid-sentence often does ("Ask the⏎
F&I Manager about GAP…")."""


def _may_head(line: str) -> bool:
    """Short, in Title Case, without closing punctuation and not ending on a function
    word: a heading if the line after it starts as `_is_heading` says. Sentence case is
    not enough: "Nunca diga al cliente que el⏎GAP es obligatorio." would lose its rule's
    first half."""
    words = line.split()
    return (
        0 < len(words) <= _TITLE_MAX_WORDS
        and not _ends_closed(line)
        and words[-1].lower() not in _OPEN_ENDINGS
        and all(w[:1].isupper() or len(w) < 4 or not w[:1].isalpha() for w in words)
    )


def _dash_continuation(current: str | None, line: str) -> bool:
    """An en or em dash opening a wrapped line mid-sentence ("Buyers⏎— most of them —")."""
    if current is None or not _DASH_LEAD.match(line):
        return False
    rest = _DASH_LEAD.sub("", line)
    return not _ends_closed(current) and rest[:1].islower()


def _is_heading(current: str, line: str, width: int) -> bool:
    """A short Title Case line without closing punctuation (`_may_head`), followed by a
    capitalised line whose first word would have fitted after it (so the line end is not
    a wrap)."""
    return (
        _may_head(current)
        and line[:1].isupper()
        and len(current) + 1 + len(line.split(maxsplit=1)[0]) <= width
    )


def _continues(previous: str, following: str) -> bool:
    return not _ends_closed(previous) and following[:1].islower()


def _ends_closed(text: str) -> bool:
    stripped = text.rstrip()
    return bool(stripped) and stripped[-1] in _CLOSING


def _join(head: str, tail: str, text: str) -> str:
    """Joins a wrapped line `tail` to `head`, mending a word split at the line end."""
    head, tail = head.rstrip(), tail.lstrip()
    if head.endswith(_SOFT_HYPHEN):
        return head[:-1] + tail
    if head and head[-1] in _HYPHENS:
        before, after = _WORD_BEFORE.search(head[:-1]), _WORD_AFTER.match(tail)
        if before and after:
            if joins_hyphenated_word(before.group(1), after.group(1), text):
                return head[:-1] + tail
            return head + tail
    return f"{head} {tail}"


def _occurs(word: str, text: str) -> bool:
    return bool(text) and re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


@functools.lru_cache(maxsize=4096)
def _known(word: str) -> bool:
    return any(zipf_frequency(word, language) >= KNOWN_WORD_ZIPF for language in LANGUAGES)


def _segment(paragraph: str) -> list[str]:
    """Cuts one paragraph where every language's rules agree and the next piece does
    not start in lower case."""
    cuts = set.intersection(*(_boundaries(paragraph, language) for language in LANGUAGES))
    found: list[str] = []
    start = 0
    for cut in sorted(cuts):
        if starts_sentence(paragraph[cut:]):
            found.append(paragraph[start:cut].strip())
            start = cut
    found.append(paragraph[start:].strip())
    return [sentence for sentence in found if sentence]


def _boundaries(paragraph: str, language: str) -> set[int]:
    """Offsets where `language`'s rules end a sentence (none if the pieces do not
    rebuild the paragraph exactly: then it stays whole)."""
    pieces = list(sentencex.segment(language, paragraph))
    if "".join(pieces) != paragraph:
        return set()
    offsets = set(itertools.accumulate(len(piece) for piece in pieces))
    offsets.discard(len(paragraph))
    return offsets


_PERIOD_SPACE = re.compile(r"\.( )(?=\S)")


def unbreakable_spaces(text: str) -> list[int]:
    """Offsets of the spaces in `text` after a period that ends no sentence by the rules
    of English or Spanish, or before a word in lower case (as `sentences` decides):
    abbreviations ("Sr. Gómez", "Mr. Smith", "art. 5", "aprox. por"), where a chunker
    must not cut. Empty when the rules cannot segment `text`."""
    cuts: set[int] | None = None
    for language in LANGUAGES:
        pieces = list(sentencex.segment(language, text))
        if "".join(pieces) != text:
            return []
        ends = set(itertools.accumulate(len(piece) for piece in pieces))
        cuts = ends if cuts is None else cuts & ends
    found = cuts or set()
    return [
        m.start(1)
        for m in _PERIOD_SPACE.finditer(text)
        if m.end(1) not in found or not starts_sentence(text[m.end(1) :])
    ]


_LETTERS = re.compile(r"[^\W\d_]+")
_SPANISH_MARKS = frozenset("¿¡ñÑ")
_CLEAR_MARGIN = 1.0
"""A word counts for a language when its Zipf frequency there is at least this much
higher (ten times as frequent) than in the other."""


def language_of(text: str) -> str | None:
    """ "en" or "es" for a line of text, or None when unclear.

    Only these two languages are told apart, by votes of words much more frequent in one
    (wordfreq) and Spanish-only marks ("¿", "¡", "ñ"); a general language detector
    guesses among a hundred languages and is unreliable on the short lines this judges.
    """
    votes = 2 * sum(mark in text for mark in _SPANISH_MARKS)
    for word in _LETTERS.findall(text.lower()):
        difference = zipf_frequency(word, "es") - zipf_frequency(word, "en")
        if abs(difference) >= _CLEAR_MARGIN:
            votes += 1 if difference > 0 else -1
    return "es" if votes > 0 else "en" if votes < 0 else None


def starts_sentence(text: str) -> bool:
    """Whether `text` opens like a sentence: not in lower case after any opening marks."""
    first = text.lstrip().lstrip("\"“\u2018'«([¿¡")[:1]
    return bool(first) and not first.islower()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of text written line by line (a model's
    reply), in order: each non-blank line is cut like `sentences` cuts a paragraph
    (where both languages' rules agree and the next piece does not start in lower
    case). Offsets index `text` itself; whitespace around a sentence is left out."""
    found: list[tuple[int, int]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        cuts = set.intersection(*(_boundaries(line, language) for language in LANGUAGES))
        start = 0
        for cut in [*sorted(c for c in cuts if starts_sentence(line[c:])), len(line)]:
            piece = line[start:cut]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                found.append((offset + start + lead, offset + start + len(piece.rstrip())))
            start = cut
        offset += len(line)
    return found

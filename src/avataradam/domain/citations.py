"""Citations the server can vouch for, whatever the chat model wrote.

A training reply is checked sentence by sentence against the passages the model was
given (numbered from 1, `GroundingPassage.marker`):

1. A sentence is a *claim* when it has at least `MIN_CLAIM_WORDS` words (markers not
   counted) and is not a question or an introduction (ending in "?" or ":"); others
   ("Good question.", "Here is what your material says:") are kept as written and not
   scored.
2. A claim's markers `[n]` are kept only when passage `n` was given and supports the
   sentence: the cosine similarity of the claim's embedding (the knowledge base's own
   embedder, unit vectors) with that of one of the passage's sentences is at least the
   threshold. Sentence against sentence, not against the whole passage: a quote then
   scores 1 with any embedder, and a long passage does not dilute what it says. A
   marker that names no given passage (`[7]` of three) or an unrelated one is removed.
3. A claim left with no marker is attributed to its best-supported passage when that
   passage reaches the threshold, and is otherwise *unsupported* (it keeps no marker).
4. Markers are renumbered 1..m in order of first appearance, and the reply's sources
   are exactly the m passages cited, in that order: `[k]` is the k-th source.

`grounded` is true when the reply has at least one claim and every claim is
supported; `supported_share` is the share of supported claims (None without claims).
A marker written at the start of a sentence (after the previous one's full stop, as in
"... is optional. [1] It covers ...") belongs to the sentence before it.

Each text is segmented once on a reply's path: `CitationChecker.segment` gives every
passage its sentences (`GroundingPassage.sentences`; before the model when it answers
from them, else after it), where the model, the compliance guard and this check read
them; the reply's spans are computed once and passed to the guard and the check.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

import msgspec

from avataradam.domain.ports.services import GroundingPassage

MIN_CLAIM_WORDS = 4
"""Sentences shorter than this (markers excluded) are not claims: greetings, "Yes.", headers."""

SentenceSpans = Callable[[str], list[tuple[int, int]]]
"""(start, end) offsets of the sentences of a text, in order, not overlapping."""

Sentences = Callable[[str], list[str]]
"""The sentences of extracted document text (line wraps and hyphenation rebuilt)."""

Embed = Callable[[Sequence[str]], Awaitable[list[list[float]]]]
"""Unit-length embeddings of texts, in input order (an `Embedder.embed`)."""

_MARKERS = re.compile(r"\s*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])+")
_WORD = re.compile(r"\w+")
_CLOSING_PUNCTUATION = ".!?…"


def without_markers(reply: str) -> str:
    """`reply` without its citation markers (`[1]`, `[1, 2]`) and the spaces before
    them: the words a listener hears."""
    return _MARKERS.sub("", reply)


def passage_sentences(passage: GroundingPassage, sentences: Sentences) -> Sequence[str]:
    """The passage's sentences: those it carries when it was segmented already, otherwise
    `sentences(passage.text)`."""
    return passage.sentences if passage.sentences is not None else sentences(passage.text)


class CheckedReply(msgspec.Struct, frozen=True, kw_only=True):
    """A reply after the check: its text with renumbered markers, the given passages'
    markers it cites (in the order of the new numbers), and how grounded it is."""

    content: str
    cited: tuple[int, ...]
    grounded: bool
    supported_share: float | None
    claims: int
    supported: int


class CitationChecker:
    """`check_citations` with the deployment's sentence splitter, embedder and threshold."""

    def __init__(
        self, *, spans: SentenceSpans, sentences: Sentences, embed: Embed, threshold: float
    ) -> None:
        if not -1.0 <= threshold <= 1.0:
            raise ValueError("threshold is a cosine similarity, -1..1")
        self.spans, self.sentences, self._embed = spans, sentences, embed
        self.threshold = threshold

    def segment(self, passages: Sequence[GroundingPassage]) -> tuple[GroundingPassage, ...]:
        """The passages, each carrying its sentences (segmented now unless it has them)."""
        return tuple(
            passage
            if passage.sentences is not None
            else msgspec.structs.replace(passage, sentences=tuple(self.sentences(passage.text)))
            for passage in passages
        )

    async def check(
        self,
        reply: str,
        passages: Sequence[GroundingPassage],
        *,
        reply_spans: Sequence[tuple[int, int]] | None = None,
    ) -> CheckedReply:
        return await check_citations(
            reply,
            passages,
            spans=self.spans,
            sentences=self.sentences,
            embed=self._embed,
            threshold=self.threshold,
            reply_spans=reply_spans,
        )


class _Sentence:
    """One sentence of a reply: its text without markers, and the marker groups that
    belong to it as (start, end, numbers) offsets in the reply."""

    __slots__ = ("end", "groups", "text")

    def __init__(self, end: int, text: str) -> None:
        self.end, self.text = end, text
        self.groups: list[tuple[int, int, list[int]]] = []

    @property
    def markers(self) -> list[int]:
        return [n for _, _, numbers in self.groups for n in numbers]


def _numbers(group: str) -> list[int]:
    return [int(n) for n in group.split(",")]


def _sentences(reply: str, spans: Sequence[tuple[int, int]]) -> list[_Sentence]:
    found: list[_Sentence] = []
    for start, end in spans:
        piece = reply[start:end]
        leading = _LEADING_MARKERS.match(piece)
        owner_of_leading = found[-1] if leading and found else None
        sentence = _Sentence(end, " ".join(_MARKERS.sub(" ", piece).split()))
        for match in _MARKERS.finditer(piece):
            owner = owner_of_leading if leading and match.end() <= leading.end() else None
            (owner or sentence).groups.append(
                (start + match.start(), start + match.end(), _numbers(match.group(1)))
            )
        found.append(sentence)
    return found


def _is_claim(text: str) -> bool:
    return len(_WORD.findall(text)) >= MIN_CLAIM_WORDS and not text.endswith(("?", ":"))


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def check_citations(
    reply: str,
    passages: Sequence[GroundingPassage],
    *,
    spans: SentenceSpans,
    sentences: Sentences,
    embed: Embed,
    threshold: float,
    reply_spans: Sequence[tuple[int, int]] | None = None,
) -> CheckedReply:
    """The reply with only citations its passages support (see the module docstring).

    `reply_spans`, when given, are `spans(reply)` already computed; a passage's own
    `sentences`, when set, are used instead of `sentences(passage.text)`. Raises what
    `embed` raises (e.g. `EmbedderUnavailable`) when there are claims to score; a reply
    with no claims or no passages needs no embedding.
    """
    said = _sentences(reply, spans(reply) if reply_spans is None else reply_spans)
    given = {p.marker for p in passages}
    # Per sentence, the given markers it keeps: a non-claim keeps those naming a passage.
    kept = [[n for n in dict.fromkeys(s.markers) if n in given] for s in said]
    claims = [i for i, s in enumerate(said) if _is_claim(s.text)]
    supported = 0
    if claims and passages:
        owners: list[int] = []
        texts: list[str] = []
        for passage in passages:
            pieces = list(passage_sentences(passage, sentences)) or [passage.text]
            owners.extend([passage.marker] * len(pieces))
            texts.extend(pieces)
        vectors = await embed(texts + [said[i].text for i in claims])
        for i, vector in zip(claims, vectors[len(texts) :], strict=True):
            scores = dict.fromkeys(sorted(given), -1.0)
            for owner, piece in zip(owners, vectors[: len(texts)], strict=True):
                scores[owner] = max(scores[owner], _cosine(vector, piece))
            cited = [n for n in kept[i] if scores[n] >= threshold]
            if not cited:
                best = max(scores, key=lambda n: (scores[n], -n))
                cited = [best] if scores[best] >= threshold else []
            kept[i] = cited
            supported += bool(cited)
    else:
        for i in claims:
            kept[i] = []
    order: dict[int, int] = {}
    for numbers in kept:
        for n in numbers:
            order.setdefault(n, len(order) + 1)
    content = _rebuild(reply, said, kept, order)
    return CheckedReply(
        content=content,
        cited=tuple(order),
        grounded=bool(claims) and supported == len(claims),
        supported_share=round(supported / len(claims), 4) if claims else None,
        claims=len(claims),
        supported=supported,
    )


def _rebuild(
    reply: str, sentences: list[_Sentence], kept: list[list[int]], order: dict[int, int]
) -> str:
    """The reply's own text and layout with every marker group rewritten in place: kept
    numbers renumbered, the others removed. A sentence attributed to a passage it did not
    cite gets its marker before its closing punctuation ("... the car's value [2].")."""
    edits: list[tuple[int, int, str]] = []
    for sentence, keep in zip(sentences, kept, strict=True):
        written = set(sentence.markers)
        for start, end, numbers in sentence.groups:
            renumbered = dict.fromkeys(order[n] for n in numbers if n in keep)
            text = "".join(f"[{n}]" for n in renumbered)
            edits.append((start, end, f" {text}" if text else ""))
        added = [n for n in keep if n not in written]
        if added:
            body = reply[: sentence.end]
            closing = len(body) - len(body.rstrip(_CLOSING_PUNCTUATION))
            at = sentence.end - closing
            edits.append((at, at, " " + "".join(f"[{order[n]}]" for n in added)))
    parts: list[str] = []
    position = 0
    for start, end, text in sorted(edits):
        parts.append(reply[position:start])
        parts.append(text)
        position = end
    parts.append(reply[position:])
    return "".join(parts).strip()

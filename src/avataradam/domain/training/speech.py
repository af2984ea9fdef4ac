"""The trainee's own sentences, with the customer's words masked out, and negation.

A trainee who quotes the customer (`You said "I'll think about it"`, `You mentioned you
drive 25,000 miles`, `Usted dijo que…`) is not making that statement: text inside
quotation marks, and reported speech from "you said / you mentioned / you told me /
usted dijo / me dijo …" to the end of its clause, are replaced by spaces of the same
length (`masked`), so offsets still index the message and a pattern never matches them.

A match is *negated* when a negation ("not", "n't", "never", "no", "nobody", "nunca",
"jamás", "ni", "nadie", "tampoco") precedes it in its clause or lies inside it (for a
pattern that holds no negation of its own; see `Check.negated_patterns`). Clauses end at
, ; : — - "but", "pero", "sino", "because", "porque", "so"; a condition's negation ("if
you don't…", "si no…") negates nothing after it.
"""

from __future__ import annotations

import re

import msgspec

from avataradam.domain.citations import SentenceSpans
from avataradam.domain.training.scorecard import Message

__all__ = [
    "SentenceSpans",
    "TraineeSentence",
    "clause_bounds",
    "mask_customer_speech",
    "negated",
    "trainee_sentences",
]


_QUOTED = re.compile(
    '["\u201c\u201d«»][^"\u201c\u201d«»]*["\u201c\u201d«»]'
    "|(?<!\\w)['\u2018][^'\u2018\u2019]{3,}['\u2019](?!\\w)"
)
_REPORTED = re.compile(
    r"\b(?:you|they)\s+(?:said|mentioned|told (?:me|us)|were saying|say|just said)\b"
    r"|\b(?:usted|ustedes)\s+(?:me\s+)?(?:dijo|mencion[oó]|coment[oó])\b"
    r"|\bme\s+(?:dijo|coment[oó])\b|\bcomo\s+(?:usted\s+)?dijo\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(
    r"(?<!\d),(?!\d)|[;:\u2014\u2013]|\s-\s|\b(?:but|pero|sino|because|porque|so)\b", re.IGNORECASE
)
_NEGATION = re.compile(
    r"\b(?:not|never|no|nobody|nothing|none|nunca|jam[aá]s|ni|nadie|tampoco|nada)\b|n['\u2019]t\b",
    re.IGNORECASE,
)
_CONDITIONAL = re.compile(
    r"\b(?:if|si)(?:\s+(?:you|we|they|usted))?\s+(?:(?:do|does)\s*)?$", re.IGNORECASE
)
"""A negation right after "if"/"si" is the condition's ("si no la toma ahorita, ya no…",
"if you don't take it today, …"): it does not negate the statement that follows."""
_WORD = re.compile(r"\w+")


class TraineeSentence(msgspec.Struct, frozen=True, kw_only=True):
    """One sentence of a trainee message: `text` verbatim (a substring of the message),
    `masked` the same span with quoted customer speech blanked; `turn` the index of its
    message in the transcript, `position` its order among all trainee sentences,
    `opening` whether it is the first sentence of its message."""

    message_id: str
    turn: int
    position: int
    start: int
    text: str
    masked: str
    opening: bool

    @property
    def words(self) -> int:
        return len(_WORD.findall(self.masked))

    @property
    def is_question(self) -> bool:
        stripped = self.masked.strip()
        return stripped.endswith("?") or stripped.startswith("¿") or "?" in stripped


def mask_customer_speech(text: str) -> str:
    """`text` with quotations and reported customer speech replaced by spaces."""
    chars = list(text)
    for match in _QUOTED.finditer(text):
        for i in range(match.start(), match.end()):
            chars[i] = " "
    for match in _REPORTED.finditer(text):
        end = _CLAUSE_END.search(text, match.end())
        stop = end.start() if end else len(text)
        sentence_end = re.search(r"[.!?]", text[match.end() :])
        if sentence_end:
            stop = min(stop, match.end() + sentence_end.start())
        for i in range(match.start(), stop):
            chars[i] = " "
    return "".join(chars)


def trainee_sentences(messages: tuple[Message, ...], spans: SentenceSpans) -> list[TraineeSentence]:
    """Every sentence of every trainee message, in transcript order."""
    found: list[TraineeSentence] = []
    for turn, message in enumerate(messages):
        if message.role != "user":
            continue
        masked = mask_customer_speech(message.text)
        for index, (start, end) in enumerate(spans(message.text)):
            found.append(
                TraineeSentence(
                    message_id=message.id,
                    turn=turn,
                    position=len(found),
                    start=start,
                    text=message.text[start:end],
                    masked=masked[start:end],
                    opening=index == 0,
                )
            )
    return found


def negated(text: str, match_start: int, match_end: int | None = None) -> bool:
    """Whether a negation lies in the clause of offset `match_start` of `text`, before
    `match_end` (default: before `match_start`), other than a condition's ("if you don't",
    "si no")."""
    clause_start = 0
    for boundary in _CLAUSE_END.finditer(text, 0, match_start):
        clause_start = boundary.end()
    end = match_start if match_end is None else match_end
    return any(
        not _CONDITIONAL.search(text[max(0, found.start() - 12) : found.start()])
        for found in _NEGATION.finditer(text, clause_start, end)
    )


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """(first, last) offsets of the clause(s) of `text` that hold `text[start:end]`: from
    the end of the last clause boundary before `start` to the start of the first one at
    or after `end` (the whole text when there is none)."""
    first = 0
    for boundary in _CLAUSE_END.finditer(text, 0, start):
        first = boundary.end()
    after = _CLAUSE_END.search(text, end)
    return first, after.start() if after else len(text)

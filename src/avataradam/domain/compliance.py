"""A reply never says the opposite of a rule in the passages it was given.

Embedding similarity cannot tell "Never tell a customer that GAP is required" from "GAP
is required": the two sit close together. This guard reads the rules themselves. A
*rule* is a sentence of a given passage with a prohibition ("never", "must not", "do
not", "is forbidden", "nunca", "no debe", "prohibido", …); what it forbids is the rest
of the sentence after the prohibition (or, for "X is forbidden", before it), as its
content words, leaving out verbs of saying ("tell", "say", "quote", "decir") and the
words every sentence shares.

A sentence of the reply *contradicts* a rule when it carries no negation of its own and
holds at least `MIN_COVERAGE` of what the rule forbids (and at least two of its words):
"GAP is required to get the loan approved" holds all four content words of "Never tell
a customer that GAP is required to get the loan approved" (gap, required, loan,
approved), where "GAP covers the gap ... the loan balance" holds two. The guard errs on
the side of flagging: a flagged reply is replaced by the rules themselves, quoted whole
with their citations, which is right whatever the question was ("right or absent").
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import msgspec

from avataradam.domain.citations import Sentences, SentenceSpans
from avataradam.domain.ports.services import GroundingPassage

MIN_COVERAGE = 0.6
"""Share of a rule's forbidden content words that makes a plain sentence contradict it."""

_PROHIBITION = re.compile(
    r"\b(?:never|must\s+not|mustn['\u2019]t|do\s+not|don['\u2019]t|does\s+not|doesn['\u2019]t|"
    r"should\s+not|shouldn['\u2019]t|cannot|can['\u2019]t|may\s+not|not\s+allowed\s+to|"
    r"nunca|jam[aá]s|no\s+debe(?:n|s)?|no\s+se\s+debe|no\s+puede(?:n|s)?)\b",
    re.IGNORECASE,
)
_FORBIDDEN_AFTER = re.compile(
    r"\b(?:is|are|es|está|están|son)?\s*(?:forbidden|prohibited|not\s+allowed|"
    r"prohibid[oa]s?|no\s+permitid[oa]s?)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nor|cannot|n['\u2019]t|nunca|jam[aá]s|ni|tampoco|forbidden|"
    r"prohibited|prohibid[oa]s?|optional|opcional)\b|n['\u2019]t\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_IGNORED = frozenset(
    {
        # verbs of saying: the rule forbids saying P; a reply asserts P
        "tell",
        "tells",
        "say",
        "says",
        "state",
        "states",
        "claim",
        "claims",
        "quote",
        "quotes",
        "suggest",
        "imply",
        "promise",
        "mention",
        "decir",
        "digas",
        "diga",
        "afirmar",
        "prometer",
        # words nearly every sentence shares
        "the",
        "and",
        "that",
        "this",
        "these",
        "those",
        "with",
        "for",
        "from",
        "into",
        "onto",
        "any",
        "are",
        "was",
        "were",
        "been",
        "being",
        "have",
        "has",
        "had",
        "get",
        "gets",
        "got",
        "its",
        "their",
        "them",
        "they",
        "you",
        "your",
        "our",
        "ours",
        "his",
        "her",
        "who",
        "whom",
        "which",
        "what",
        "when",
        "where",
        "why",
        "how",
        "all",
        "each",
        "every",
        "can",
        "may",
        "might",
        "must",
        "should",
        "would",
        "could",
        "will",
        "shall",
        "than",
        "then",
        "also",
        "just",
        "only",
        "very",
        "such",
        "about",
        "at",
        "dealership",
        "que",
        "los",
        "las",
        "una",
        "uno",
        "unos",
        "unas",
        "del",
        "con",
        "por",
        "para",
        "como",
        "pero",
        "sus",
        "este",
        "esta",
        "estos",
        "estas",
        "ese",
        "esa",
        "cliente",
        "customer",
        "customers",
        "client",
    }
)


class Contradiction(msgspec.Struct, frozen=True, kw_only=True):
    """A sentence of the reply that says what a rule of passage `marker` forbids."""

    sentence: str
    rule: str
    marker: int


def _content(text: str) -> set[str]:
    return {w for w in (m.casefold() for m in _WORD.findall(text)) if w not in _IGNORED}


def forbidden_content(rule: str) -> set[str]:
    """The content words of what a rule sentence forbids (empty if it forbids nothing)."""
    prohibition = _PROHIBITION.search(rule)
    if prohibition is not None:
        return _content(rule[prohibition.end() :])
    forbidden = _FORBIDDEN_AFTER.search(rule)
    if forbidden is not None:
        return _content(rule[: forbidden.start()])
    return set()


def contradictions(
    reply: str,
    passages: Sequence[GroundingPassage],
    *,
    spans: SentenceSpans,
    sentences: Sentences,
) -> list[Contradiction]:
    """Every (reply sentence, rule) pair where the sentence says what the rule forbids."""
    rules = [
        (passage.marker, rule, forbidden)
        for passage in passages
        for rule in sentences(passage.text)
        if len(forbidden := forbidden_content(rule)) >= 2
    ]
    found: list[Contradiction] = []
    if not rules:
        return found
    for start, end in spans(reply):
        sentence = reply[start:end]
        if _NEGATION.search(sentence):
            continue
        said = _content(sentence)
        for marker, rule, forbidden in rules:
            shared = len(forbidden & said)
            if shared >= max(2, math.ceil(MIN_COVERAGE * len(forbidden))):
                found.append(Contradiction(sentence=sentence.strip(), rule=rule, marker=marker))
    return found

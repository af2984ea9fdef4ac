"""A reply never says the opposite of a rule, or of a stated fact, in its passages.

Embedding similarity cannot tell "Never tell a customer that GAP is required" from "GAP
is required": the two sit close together. This guard reads the passages' sentences
themselves, of two kinds (`kind`):

- A *rule* is a prohibition addressed to staff. Either deontic, whoever its subject:
  "must not", "should not", "shall not", "not allowed/permitted to", "is forbidden",
  "is prohibited", "illegal to", "no debe", "no se debe", "prohibido", "se prohíbe"; or
  imperative: a sentence opening with "Never", "Do not", "Don't", "Nunca", "Jamás" or a
  Spanish negative imperative ("No digas", "No cobre"); or a plain negation ("never",
  "do not", "cannot", "may not", "won't", "nunca", "no puede") whose subject is staff
  ("You", "We", "Staff", "F&I managers", "Salespeople", "Nadie" …). What it forbids is
  the rest of the sentence after the prohibition (for "X is forbidden", what comes
  before it), up to an exception ("… unless it is the buy rate", "salvo que …").
- A *fact* is any other sentence with a negation: "GAP does not cover the insurance
  deductible", "The customer cannot cancel after 30 days without a fee", "An OFAC match
  does not mean the customer is a criminal". Its subject is a product, a customer or a
  document, so it states how things are, not what staff may say or do. A negation only
  inside quotation marks (an objection: 'Customer: "I never buy warranties."') is
  reported speech, not a fact. Why the line falls there: a fact's negation is part of
  what is true, so a reply restating it in other words ("the deductible stays with the
  customer", "after 30 days cancelling costs a fee") shares its words but carries no
  negation; read as a rule, that agreement looked like the forbidden assertion and was
  replaced.

Words are compared by their content (`_content`: words of 3+ letters, without verbs of
saying such as "tell"/"decir" and words every sentence shares), each cut to a stem (a
final "s" removed, then the first six letters: "requires"/"required" → "requir").

A reply sentence is *not judged* when it is itself a rule (so quoting a rule, or "the
rule is: never tell …", is never flagged) or when it reports or rejects what it
mentions ("forbids", "prohibits", "avoid", "violation", "false", "myth", "against our
policy", "prohíbe", "evita", "falso" …): "Our policy forbids saying that GAP is
required" mentions the forbidden claim without making it. Every other reply sentence is
judged against:

- each rule: it *contradicts* the rule when it holds at least `MIN_COVERAGE` of what the
  rule forbids (and at least two of those words), unless it is negated ("not", "no",
  "never", "optional", "nunca", "ni" …) while what the rule forbids is not: "GAP is
  required to get the loan approved" contradicts "Never tell a customer that GAP is
  required to get the loan approved", "No, GAP is not required" does not. When what a
  rule forbids is itself negated ("Never tell a customer that a cancelled product earns
  no refund"), a sentence is judged whatever its polarity: "A cancelled product earns no
  refund" contradicts it, and so, by design, does "… earns a prorated refund": words
  alone cannot tell a negation of the claim from one inside it (beside "Never quote a
  payment that includes products the customer has not chosen", "Only quote a payment
  with the products the customer has chosen" is flagged too).
- each fact: a sentence contradicts it only by re-asserting it with the negation
  dropped: one clause of the sentence (cut at ",", ";", ":", dashes, "but", "pero")
  holds every content word of the fact (at least four) and no negation of its own
  ("GAP covers the insurance deductible"). Restating the fact (it keeps its negation),
  paraphrasing it, or saying a related true thing ("GAP covers what is still owed on
  the loan") never holds all of it, so agreeing with a passage is never flagged.

The guard errs on the side of flagging a rule: a reply that follows a rule in its own
words can share enough of it to be flagged ("Get the customer's signed consent before
you submit a credit application" beside "Never submit a credit application without the
customer's signed consent": its words are those of "Submit the application now and get
the consent signed later"; "Present the full menu to cash buyers too" beside "Never
skip the menu presentation for cash buyers"). A flagged reply is replaced by the rules
and facts themselves, quoted whole with their citations, which is right whatever the
question was ("right or absent").
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Literal

import msgspec

from avataradam.domain import compliance_lexicon as lexicon
from avataradam.domain.citations import Sentences, SentenceSpans, passage_sentences
from avataradam.domain.ports.services import GroundingPassage

MIN_COVERAGE = 0.6
"""Share of a rule's forbidden content words that makes a sentence contradict it."""

MIN_FACT_WORDS = 4
"""Fewest content words of a fact for its negation-free re-assertion to be judged."""

_STEM_LETTERS = 6

Kind = Literal["rule", "fact"]


class Contradiction(msgspec.Struct, frozen=True, kw_only=True):
    """A sentence of the reply that says the opposite of sentence `rule` (a rule or a
    fact, see the module docstring) of passage `marker`."""

    sentence: str
    rule: str
    marker: int


def _stem(word: str) -> str:
    word = word.casefold()
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word[:_STEM_LETTERS]


def _content(text: str) -> set[str]:
    return {
        w for w in (m.casefold() for m in lexicon.WORD.findall(text)) if w not in lexicon.IGNORED
    }


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in _content(text)}


def _negated(text: str) -> bool:
    return lexicon.NEGATION.search(text) is not None


def _staff_subject(sentence: str, negation: re.Match[str]) -> bool:
    subject = lexicon.ANY_WORD.findall(sentence[: negation.start()])
    return 0 < len(subject) <= lexicon.MAX_SUBJECT_WORDS and subject[-1].casefold() in lexicon.STAFF


def _prohibition(sentence: str) -> re.Match[str] | None:
    """Where a rule's prohibition ends (see the module docstring), or None."""
    for match in (lexicon.DEONTIC.search(sentence), lexicon.IMPERATIVE.search(sentence)):
        if match is not None:
            return match
    for match in lexicon.STAFF_NEGATION.finditer(sentence):
        if _staff_subject(sentence, match):
            return match
    return None


def kind(sentence: str) -> Kind | None:
    """What a passage sentence is: a "rule" (a prohibition addressed to staff), a "fact"
    (another negated sentence) or None (neither), as the module docstring defines them."""
    if _prohibition(sentence) is not None or lexicon.FORBIDDEN_AFTER.search(sentence):
        return "rule"
    if lexicon.FACT_NEGATION.search(lexicon.QUOTED.sub(" ", sentence)):
        return "fact"
    return None


def _forbidden_text(rule: str) -> str:
    prohibition = _prohibition(rule)
    if prohibition is not None:
        forbidden = rule[prohibition.end() :]
    elif (after := lexicon.FORBIDDEN_AFTER.search(rule)) is not None:
        forbidden = rule[: after.start()]
    else:
        return ""
    exception = lexicon.EXCEPTION.search(forbidden)
    return forbidden[: exception.start()] if exception is not None else forbidden


def forbidden_content(rule: str) -> set[str]:
    """The content words of what a rule sentence forbids (empty if it is no rule)."""
    return _content(_forbidden_text(rule))


def _fact_content(fact: str) -> set[str]:
    return _stems(lexicon.FACT_NEGATION.sub(" ", fact))


def _judged(sentence: str) -> bool:
    """Whether a reply sentence makes claims of its own (see the module docstring)."""
    return kind(sentence) != "rule" and not lexicon.REPORTING.search(sentence)


class _Rule(msgspec.Struct, frozen=True):
    marker: int
    text: str
    stems: frozenset[str]
    negated: bool

    def broken_by(self, sentence: str) -> bool:
        shared = len(self.stems & _stems(sentence))
        needed = max(2, math.ceil(MIN_COVERAGE * len(self.stems)))
        return shared >= needed and (self.negated or not _negated(sentence))


class _Fact(msgspec.Struct, frozen=True):
    marker: int
    text: str
    stems: frozenset[str]

    def broken_by(self, sentence: str) -> bool:
        return any(
            not lexicon.FACT_NEGATION.search(clause) and self.stems <= _stems(clause)
            for clause in lexicon.CLAUSE.split(sentence)
        )


def _checks(passages: Sequence[GroundingPassage], sentences: Sentences) -> list[_Rule | _Fact]:
    checks: list[_Rule | _Fact] = []
    for passage in passages:
        for text in passage_sentences(passage, sentences):
            found = kind(text)
            if found == "rule":
                forbidden = _forbidden_text(text)
                stems = frozenset(_stems(lexicon.FACT_NEGATION.sub(" ", forbidden)))
                if len(forbidden_content(text)) >= 2:
                    checks.append(_Rule(passage.marker, text, stems, _negated(forbidden)))
            elif found == "fact" and len(stems := frozenset(_fact_content(text))) >= (
                MIN_FACT_WORDS
            ):
                checks.append(_Fact(passage.marker, text, stems))
    return checks


def contradictions(
    reply: str,
    passages: Sequence[GroundingPassage],
    *,
    spans: SentenceSpans,
    sentences: Sentences,
    reply_spans: Sequence[tuple[int, int]] | None = None,
) -> list[Contradiction]:
    """Every (reply sentence, rule or fact) pair where the sentence says its opposite.

    `reply_spans`, when given, are `spans(reply)` already computed (the reply is then
    not segmented again); a passage's `sentences`, when set, are used the same way.
    """
    checks = _checks(passages, sentences)
    found: list[Contradiction] = []
    if not checks:
        return found
    for start, end in spans(reply) if reply_spans is None else reply_spans:
        sentence = reply[start:end]
        if not _judged(sentence):
            continue
        found.extend(
            Contradiction(sentence=sentence.strip(), rule=check.text, marker=check.marker)
            for check in checks
            if check.broken_by(sentence)
        )
    return found

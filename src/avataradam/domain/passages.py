"""Passages cut to a token budget before they reach a small chat model.

Time to first token on a CPU is mostly the prompt the model must read: on the 2-core
machine of `just bench-llm` (2026-12-01) the 1.5B model read about 70 prompt tokens a
second (234 in 3.4 s, its system prompt's 290 reused), so three whole 200-token chunks
would cost some nine seconds before Adam says a word (issue 15: "keep passages short").
What the model reads is therefore cut, in whole sentences, to `budget_tokens` shared by
the passages in rank order:

- a passage that fits what is left goes in whole; the best-ranked passage is served
  first, so it is the one most often whole;
- a passage that does not fit keeps the sentences that share the most words with the
  question (ties: earlier first), shown in their original order, as many as fit; it
  always keeps at least one, so every passage keeps its number and can be cited;
- a sentence is never cut, and nothing is rewritten: what the model reads is verbatim
  text of the document.

Only the model's reading is cut. The compliance guard and the citation check read the
passages whole (`prompts.training_prompt`), so a rule left out of the model's reading
still stops a reply that contradicts it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import msgspec

from avataradam.domain.citations import Sentences
from avataradam.domain.retrieval import SearchHit

TokenCounter = Callable[[str], int]
"""Tokens of a text for the chat model (`prompts.approximate_tokens` by default)."""

_WORD = re.compile(r"[^\W_]{4,}", re.UNICODE)


def _words(text: str) -> set[str]:
    return {word.casefold() for word in _WORD.findall(text)}


def _best_sentences(
    sentences: list[str], question: set[str], budget: int, count: TokenCounter
) -> list[str]:
    """The sentences with the most question words that fit `budget` together (always
    at least the best one), in document order."""
    ranked = sorted(range(len(sentences)), key=lambda i: (-len(_words(sentences[i]) & question), i))
    kept: list[int] = []
    spent = 0
    for index in ranked:
        cost = count(sentences[index])
        if kept and spent + cost > budget:
            continue
        kept.append(index)
        spent += cost
    return [sentences[i] for i in sorted(kept)]


class FittedPassages(msgspec.Struct, frozen=True, kw_only=True):
    """What `fit_passages` gives the model, and the sentences it had to find."""

    shown: tuple[SearchHit, ...]
    """The hits as the model reads them: same passages, same order."""
    sentences: tuple[tuple[str, ...] | None, ...]
    """Per hit, the sentences of its whole text when it was segmented to be cut (None
    when it went in whole): handed on so no text is segmented twice on a reply's path."""


def fit_passages(
    hits: Sequence[SearchHit],
    *,
    question: str,
    budget_tokens: int,
    sentences: Sentences,
    count: TokenCounter,
) -> FittedPassages:
    """`hits` (best first) with their texts cut to whole sentences so that together they
    hold about `budget_tokens` tokens (`count`); see the module docstring for the rule.
    A passage may overrun the budget by its one best sentence when nothing else fits.
    `budget_tokens` 0 gives the hits as they are."""
    if budget_tokens <= 0:
        return FittedPassages(shown=tuple(hits), sentences=(None,) * len(hits))
    question_words = _words(question)
    left = budget_tokens
    shown: list[SearchHit] = []
    found: list[tuple[str, ...] | None] = []
    for hit in hits:
        cost = count(hit.text)
        if cost <= left:
            shown.append(hit)
            found.append(None)
            left -= cost
            continue
        whole = tuple(sentences(hit.text)) or (hit.text,)
        text = " ".join(_best_sentences(list(whole), question_words, left, count))
        shown.append(msgspec.structs.replace(hit, text=text))
        found.append(whole)
        left = max(0, left - count(text))
    return FittedPassages(shown=tuple(shown), sentences=tuple(found))

"""The chat model used when none is configured: it writes nothing, it picks.

Training answers are whole sentences of the retrieved passages (rebuilt across line
wraps, hyphenation and page breaks by `sentences`), those sharing the most words with
the question first, each followed by the citation marker of its passage. A sentence is
quoted whole or not at all: never cut to a length or token limit, never a piece of one
(a passage's first sentence that starts in lower case and its last that does not end
with closing punctuation are where the chunker cut a sentence, so they are not quoted),
so a rule is never quoted without its "never" or "not". The roleplay customer speaks a
persona's opening line, then alternates customer lines found in the dealership's
objection documents (quoted objections, questions) with the persona's built-in script,
never repeating a line while unused ones remain. Replies are deterministic for the same
input, which makes this model a useful test double too. A passage that carries its
`sentences` (segmented once by the service for the model and the checks that follow)
is not segmented again. Spanish: a Spanish question's words are matched without Spanish
function words ("que", "para", "del") and the reply's own words are Spanish; a Spanish
roleplay customer (`Grounding.language`) says the persona's Spanish script and only
document lines that are not English.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Sequence

from wordfreq import zipf_frequency

from avataradam.adapters.llm.sentences import language_of, sentences, starts_sentence
from avataradam.adapters.llm.sentences import warm_up as warm_up_sentences
from avataradam.domain.citations import Sentences, passage_sentences
from avataradam.domain.ports.services import (
    ChatDelta,
    ChatTurn,
    Grounding,
    GroundingPassage,
    ReplyFormat,
)
from avataradam.domain.usecases.conversations.replies import NO_MATERIAL_REPLY

_WORD = re.compile(r"[^\W_][\w'&-]*")
_QUOTED = re.compile(r"[\"“]([^\"“”]{8,240})[\"”]")
_MIN_QUOTED_WORDS = 3
"""A quoted line a customer could say has words enough to be one: `a lender "requires"
GAP` quotes a word, not a line."""
_ADVICE = re.compile(
    r"^\s*(?:[^:?]{2,80}:\s|(?:ask|say|tell|explain|offer|show|present|try|confirm|remember|"
    r"respond|avoid|pregunte|pregunta|diga|di|explique|ofrezca|muestre|confirme|recuerde|"
    r"responda|evite)\b)",
    re.IGNORECASE,
)
"""A question that is advice to the staff, not a customer's: one after a label that is
not a speaker ("Ask for a decision clearly: which option works best for you?") or led
by an instruction ("Ask which option…", "Pregunte…")."""
_SPEAKER = re.compile(
    r"^\s*(?:customer|client|buyer|objection|cliente|comprador|compradora|objeci[oó]n)\s*:\s*",
    re.IGNORECASE,
)
_PIECE = re.compile(r"\S+\s*")
_CLOSING = frozenset('.!?…"”\u2019»)')
_MIN_WORDS = 4
_HEADING = re.compile(r"\s*#{1,6}\s")
"""A Markdown heading line ("## Vehicle service contracts"): a title, not a claim to quote."""
_MAX_SENTENCE_CHARS = 600
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    }
)
_NEUTRAL_LINE = "Hmm. Tell me again why I need that?"
_NEUTRAL_LINES = {"es": "Mmm. ¿Me explica otra vez por qué necesito eso?"}


_SPANISH_FUNCTION_ZIPF = 6.0
"""A word at least this frequent in Spanish (once in ten thousand words: "que", "para",
"los", "del", "puede"), and more so than in English, is a function word, not a topic."""

_HEADERS = {
    "en": "Here is what your dealership's material says:",
    "es": "Esto es lo que dice el material de su concesionario:",
}


@functools.lru_cache(maxsize=8192)
def _spanish_function_word(word: str) -> bool:
    spanish = zipf_frequency(word, "es")
    return spanish >= _SPANISH_FUNCTION_ZIPF and spanish > zipf_frequency(word, "en")


def _words(text: str) -> set[str]:
    return {
        w
        for w in _WORD.findall(text.lower())
        if w not in _STOPWORDS and len(w) > 2 and not _spanish_function_word(w)
    }


def _cost(text: str) -> int:
    """Length of `text` in the stream's deltas (whitespace-separated pieces)."""
    return len(text.split())


def quotable_sentences(text: str | Sequence[str]) -> list[str]:
    """The sentences of one passage (its text, or its sentences) that may be quoted:
    whole (see the module docstring), of at least four words and at most 600 characters,
    and not a Markdown heading."""
    split = sentences(text) if isinstance(text, str) else text
    found = [sentence for sentence in split if starts_sentence(sentence)]
    if found and found[-1][-1] not in _CLOSING:
        found = found[:-1]
    return [
        s
        for s in found
        if _cost(s) >= _MIN_WORDS and len(s) <= _MAX_SENTENCE_CHARS and not _HEADING.match(s)
    ]


def _dialogue(sentence: str) -> bool:
    """A line of a scripted exchange ("Customer: …", "Cliente: …") or a question: what a
    customer says or is asked, never an answer to quote."""
    return bool(_SPEAKER.match(sentence)) or sentence.rstrip('"”») ').endswith("?")


def training_reply(
    question: str,
    passages: Sequence[GroundingPassage],
    max_sentences: int,
    max_tokens: int | None = None,
    split: Sentences = sentences,
) -> str:
    """The passages' sentences that share most words with `question`, cited, at most
    `max_sentences` of them and `max_tokens` pieces in all (whole sentences only; no
    question or scripted customer line, `_dialogue`); `split` segments a passage that
    carries no sentences."""
    if not passages:
        return NO_MATERIAL_REPLY
    asked = _words(question)
    ranked: list[tuple[int, int, int, str, int]] = []
    for rank, passage in enumerate(passages):
        quotable = [
            sentence
            for sentence in quotable_sentences(passage_sentences(passage, split))
            if not _dialogue(sentence)
        ]
        for position, sentence in enumerate(quotable):
            overlap = len(asked & _words(sentence))
            ranked.append((-overlap, rank, position, sentence, passage.marker))
    ranked.sort()
    chosen = [r for r in ranked if r[0] < 0]
    if not chosen:
        # Retrieval judged these passages relevant even without shared words: lead with them.
        firsts = {r[1]: r for r in sorted(ranked, key=lambda r: (r[1], -r[2]))}
        chosen = sorted(firsts.values(), key=lambda r: r[1])
    quoted: dict[str, str] = {}  # a sentence found in several passages: its best one
    for _, _, _, sentence, marker in chosen:
        quoted.setdefault(sentence, f"{sentence} [{marker}]")
    lines = _fitting(list(quoted.values()), max_sentences, max_tokens)
    spanish = language_of(question) == "es"
    if not lines:
        cited = ", ".join(f"[{p.marker}]" for p in passages)
        if spanish:
            return f"Los pasajes encontrados ({cited}) son demasiado largos para citarlos enteros."
        return f"The passages found ({cited}) are too long to quote whole in one reply."
    header = _HEADERS["es" if spanish else "en"]
    used = sum(_cost(line) for line in lines)
    if max_tokens is not None and used + _cost(header) > max_tokens:
        return "\n".join(lines)
    return header + "\n" + "\n".join(lines)


def _fitting(lines: Sequence[str], limit: int, max_tokens: int | None) -> list[str]:
    """The first `limit` lines, in order, that fit in `max_tokens` together."""
    kept: list[str] = []
    budget = max_tokens if max_tokens is not None else sum(_cost(line) for line in lines)
    for line in lines:
        if len(kept) == limit:
            break
        if _cost(line) <= budget:
            kept.append(line)
            budget -= _cost(line)
    return kept


def customer_lines(passages: Sequence[GroundingPassage], split: Sentences = sentences) -> list[str]:
    """Lines a customer could say, found in objection and product documents: quoted
    objections, sentences after a "Customer:" prefix, and short questions that are not
    advice to the staff (`_ADVICE`)."""
    lines: list[str] = []
    for passage in passages:
        said = passage_sentences(passage, split)
        # The sentences rebuild the running text (whitespace aside): quotes are found in it.
        rebuilt = "\n".join(said)
        lines.extend(
            " ".join(quoted.split())
            for quoted in _QUOTED.findall(rebuilt)
            if len(quoted.split()) >= _MIN_QUOTED_WORDS
        )
        for sentence in quotable_sentences(said):
            spoken = _SPEAKER.sub("", sentence)
            asked = sentence.endswith("?") and len(sentence) <= 200
            if spoken != sentence or (asked and not _ADVICE.match(sentence)):
                lines.append(spoken.strip('"“” '))
    unique: list[str] = []
    for line in lines:
        if line and line not in unique:
            unique.append(line)
    return unique


def roleplay_reply(
    turns: Sequence[ChatTurn],
    grounding: Grounding,
    max_tokens: int | None = None,
    split: Sentences = sentences,
) -> str:
    """The customer's next line: the first one not said yet that fits in `max_tokens`,
    in the grounding's language (document lines in another language are left out)."""
    said = {turn.content.strip() for turn in turns if turn.role == "assistant"}
    scripted = list(grounding.scripted_lines)
    opening, script = scripted[:1], scripted[1:]
    spoken = grounding.language
    from_documents = [
        line
        for line in customer_lines(grounding.passages, split)
        if language_of(line) in (spoken, None)
    ]
    order = list(opening)
    for i in range(max(len(from_documents), len(script))):
        order.extend(from_documents[i : i + 1])
        order.extend(script[i : i + 1])
    order = [line for line in order if max_tokens is None or _cost(line) <= max_tokens]
    for line in order:
        if line not in said:
            return line
    if not order:
        return _NEUTRAL_LINES.get(spoken, _NEUTRAL_LINE)
    return order[len(said) % len(order)]


class ExtractiveChatModel:
    """Implements `ChatModel` without generation; `generative` is False.

    `delta_delay_s` paces the word deltas like a slow model would (tests of streaming,
    keep-alives and disconnects use it); it defaults to no delay. A reply is one delta
    per word and never more than `max_tokens` of them, made of whole sentences.
    `sentences` segments passages that carry no sentences of their own.
    """

    name = "extractive"
    generative = False

    def __init__(
        self,
        *,
        delta_delay_s: float = 0.0,
        max_sentences: int = 3,
        sentences: Sentences = sentences,
    ) -> None:
        self._delay = delta_delay_s
        self._max_sentences = max_sentences
        self._split = sentences

    def warm_up(self) -> None:
        """Loads the sentence rules and word lists ahead of the first reply."""
        warm_up_sentences()

    def reply(
        self, turns: Sequence[ChatTurn], grounding: Grounding | None, max_tokens: int | None = None
    ) -> str:
        if grounding is None:
            return NO_MATERIAL_REPLY
        if grounding.mode == "roleplay":
            return roleplay_reply(turns, grounding, max_tokens, self._split)
        return training_reply(
            grounding.question, grounding.passages, self._max_sentences, max_tokens, self._split
        )

    async def stream(
        self,
        turns: Sequence[ChatTurn],
        *,
        max_tokens: int,
        grounding: Grounding | None = None,
        reply_format: ReplyFormat | None = None,  # noqa: ARG002 -- not generative: no JSON
        temperature: float | None = None,  # noqa: ARG002 -- not generative: no sampling
    ) -> AsyncIterator[ChatDelta]:
        # The slice only bounds the fixed notices; quoted sentences already fit whole.
        pieces = _PIECE.findall(self.reply(turns, grounding, max(1, max_tokens)))
        for piece in pieces[: max(1, max_tokens)]:
            if self._delay:
                await asyncio.sleep(self._delay)
            yield ChatDelta(text=piece)

"""The chat model used when none is configured: it writes nothing, it picks.

Training answers are the retrieved sentences that share the most words with the
question, each followed by the citation marker of its passage. The roleplay customer
speaks a persona's opening line, then alternates customer lines found in the
dealership's objection documents (quoted objections, questions) with the persona's
built-in script, never repeating a line while unused ones remain. Replies are
deterministic for the same input, which makes this model a useful test double too.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence

from avataradam.domain.ports.services import ChatDelta, ChatTurn, Grounding, GroundingPassage

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9][a-z0-9'&-]*")
_QUOTED = re.compile(r"[\"“]([^\"“”]{8,240})[\"”]")
_SPEAKER = re.compile(r"^\s*(?:customer|client|buyer|objection)\s*:\s*", re.IGNORECASE)
_PIECE = re.compile(r"\S+\s*")
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
NO_MATERIAL_REPLY = (
    "I couldn't find anything on that in your dealership's knowledge base. Ask an admin to "
    "upload the playbook or guide that covers it, then ask me again."
)
_NEUTRAL_LINE = "Hmm. Tell me again why I need that?"


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 2}


def _sentences(text: str) -> list[str]:
    found = []
    for raw in _SENTENCE_END.split(text):
        sentence = " ".join(raw.split())
        if len(sentence.split()) >= 4:
            found.append(sentence if len(sentence) <= 400 else sentence[:397].rstrip() + "...")
    return found


def training_reply(question: str, passages: Sequence[GroundingPassage], max_sentences: int) -> str:
    if not passages:
        return NO_MATERIAL_REPLY
    asked = _words(question)
    ranked: list[tuple[float, int, int, str, int]] = []
    for rank, passage in enumerate(passages):
        for position, sentence in enumerate(_sentences(passage.text)):
            overlap = len(asked & _words(sentence))
            ranked.append((-overlap, rank, position, sentence, passage.marker))
    ranked.sort()
    chosen = [r for r in ranked if r[0] < 0][:max_sentences]
    if not chosen:
        # Retrieval judged these passages relevant even without shared words: lead with them.
        firsts = {r[1]: r for r in sorted(ranked, key=lambda r: (r[1], r[2]))}
        chosen = sorted(firsts.values(), key=lambda r: r[1])[:max_sentences]
    if not chosen:
        return NO_MATERIAL_REPLY
    lines = [f"- {sentence} [{marker}]" for _, _, _, sentence, marker in chosen]
    return "Here is what your dealership's material says:\n" + "\n".join(lines)


def customer_lines(passages: Sequence[GroundingPassage]) -> list[str]:
    """Lines a customer could say, found in objection and product documents."""
    lines: list[str] = []
    for passage in passages:
        lines.extend(" ".join(quoted.split()) for quoted in _QUOTED.findall(passage.text))
        for sentence in _sentences(passage.text):
            spoken = _SPEAKER.sub("", sentence)
            if spoken != sentence or (sentence.endswith("?") and len(sentence) <= 200):
                lines.append(spoken.strip('"“” '))
    unique: list[str] = []
    for line in lines:
        if line and line not in unique:
            unique.append(line)
    return unique


def roleplay_reply(turns: Sequence[ChatTurn], grounding: Grounding) -> str:
    said = {turn.content.strip() for turn in turns if turn.role == "assistant"}
    scripted = list(grounding.scripted_lines)
    opening, script = scripted[:1], scripted[1:]
    from_documents = customer_lines(grounding.passages)
    order = list(opening)
    for i in range(max(len(from_documents), len(script))):
        order.extend(from_documents[i : i + 1])
        order.extend(script[i : i + 1])
    for line in order:
        if line not in said:
            return line
    if not order:
        return _NEUTRAL_LINE
    return order[len(said) % len(order)]


class ExtractiveChatModel:
    """Implements `ChatModel` without generation; `generative` is False.

    `delta_delay_s` paces the word deltas like a slow model would (tests of streaming,
    keep-alives and disconnects use it); it defaults to no delay.
    """

    name = "extractive"
    generative = False

    def __init__(self, *, delta_delay_s: float = 0.0, max_sentences: int = 3) -> None:
        self._delay = delta_delay_s
        self._max_sentences = max_sentences

    def reply(self, turns: Sequence[ChatTurn], grounding: Grounding | None) -> str:
        if grounding is None:
            question = next((t.content for t in reversed(turns) if t.role == "user"), "")
            return training_reply(question, (), self._max_sentences)
        if grounding.mode == "roleplay":
            return roleplay_reply(turns, grounding)
        return training_reply(grounding.question, grounding.passages, self._max_sentences)

    async def stream(
        self, turns: Sequence[ChatTurn], *, max_tokens: int, grounding: Grounding | None = None
    ) -> AsyncIterator[ChatDelta]:
        pieces = _PIECE.findall(self.reply(turns, grounding))[: max(1, max_tokens)]
        for piece in pieces:
            if self._delay:
                await asyncio.sleep(self._delay)
            yield ChatDelta(text=piece)

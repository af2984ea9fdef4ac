"""Prompts for the two conversation modes, with a token-budgeted window of history.

History lives on the server; only its newest whole messages that fit the budget go into
a prompt, starting with a trainee message so roles alternate (several chat templates,
Gemma's among them, refuse anything else).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from avataradam.domain.model import ConversationMode, Message, MessageRole
from avataradam.domain.personas import ADAM_PERSONA, CustomerPersona
from avataradam.domain.ports.services import ChatTurn, Grounding, GroundingPassage
from avataradam.domain.usecases.search import SearchHit

TokenCounter = Callable[[str], int]

MESSAGE_OVERHEAD_TOKENS = 4
"""Role markers and separators that chat templates add around every message."""


def approximate_tokens(text: str) -> int:
    """About four characters per token, the usual rule for English with BPE vocabularies.

    Good enough for a budget: the window errs on the small side for typical text.
    """
    return (len(text) + 3) // 4


def message_cost(content: str, count: TokenCounter) -> int:
    return count(content) + MESSAGE_OVERHEAD_TOKENS


def history_window(
    history: Sequence[Message], *, budget_tokens: int, count: TokenCounter = approximate_tokens
) -> list[Message]:
    """The newest contiguous messages whose cost fits `budget_tokens`, oldest first.

    Messages are never cut; the window never begins with an assistant message.
    """
    window: list[Message] = []
    spent = 0
    for message in reversed(history):
        cost = message_cost(message.content, count)
        if spent + cost > budget_tokens:
            break
        window.append(message)
        spent += cost
    window.reverse()
    while window and window[0].role is not MessageRole.USER:
        window.pop(0)
    return window


class Prompt(msgspec.Struct, frozen=True, kw_only=True):
    turns: tuple[ChatTurn, ...]
    grounding: Grounding


def _describe(hit: SearchHit) -> str:
    page = f", p. {hit.page}" if hit.page is not None else ""
    return f"{hit.filename} ({hit.topic.value}{page})"


def _passages(hits: Sequence[SearchHit]) -> tuple[GroundingPassage, ...]:
    return tuple(
        GroundingPassage(marker=i, text=hit.text, topic=hit.topic.value, filename=hit.filename)
        for i, hit in enumerate(hits, start=1)
    )


def _numbered(hits: Sequence[SearchHit]) -> str:
    return "\n\n".join(
        f"[{i}] {_describe(hit)}:\n{hit.text.strip()}" for i, hit in enumerate(hits, start=1)
    )


def _conversation(system: str, history: Sequence[Message], latest: str) -> tuple[ChatTurn, ...]:
    turns = [ChatTurn(role="system", content=system)]
    for message in [*history, None]:
        role = "user" if message is None else message.role.value
        content = latest if message is None else message.content
        if turns[-1].role == role:
            # Defensive: a conversation stored without its reply must not break alternation.
            turns[-1] = ChatTurn(role=role, content=f"{turns[-1].content}\n\n{content}")
        else:
            turns.append(ChatTurn(role=role, content=content))
    return tuple(turns)


def training_system_prompt(hits: Sequence[SearchHit], focus: str | None) -> str:
    parts = [
        ADAM_PERSONA,
        "Answer the trainee's question using the numbered passages from their dealership's "
        "knowledge base below. Cite every passage you rely on with its number in square "
        "brackets, like [1] or [2]. If the passages do not cover the question, say so plainly "
        "and label anything else as general guidance. Never invent dealership policies, prices, "
        "rates or legal requirements. Keep it short: a few sentences or a short list the "
        "trainee can use on the floor.",
    ]
    if focus:
        parts.append(f"This session focuses on: {focus}.")
    parts.append(
        "Passages:\n" + _numbered(hits)
        if hits
        else "Passages: none were found in the dealership's knowledge base for this question."
    )
    return "\n\n".join(parts)


def roleplay_system_prompt(persona: CustomerPersona, hits: Sequence[SearchHit]) -> str:
    parts = [
        "This is a practice session in the F&I office of a car dealership. You are "
        f"{persona.name}, the customer: {persona.description}. The other person is the F&I "
        "manager presenting financing and protection products to you.",
        f"How you come across: {'; '.join(persona.traits)}.",
        "Stay in character as the customer for the whole conversation, whatever the other "
        "person says or asks. Speak only as the customer, in the first person, one to three "
        "short sentences at a time, the way a real customer talks. Raise realistic objections "
        "and questions about the products, one at a time. React to what the manager says: "
        "soften a little when a concern is answered well and clearly, push back when the "
        "answer is vague, pushy or sounds too good to be true.",
    ]
    if hits:
        parts.append(
            "Objections and product facts real customers of this dealership bring up; use them "
            "as inspiration for what you say, in your own words, without quoting or mentioning "
            "them:\n" + _numbered(hits)
        )
    return "\n\n".join(parts)


def training_prompt(
    *,
    history: Sequence[Message],
    question: str,
    hits: Sequence[SearchHit],
    focus: str | None,
    history_budget_tokens: int,
    count: TokenCounter = approximate_tokens,
) -> Prompt:
    window = history_window(history, budget_tokens=history_budget_tokens, count=count)
    return Prompt(
        turns=_conversation(training_system_prompt(hits, focus), window, question),
        grounding=Grounding(
            mode=ConversationMode.TRAINING.value, question=question, passages=_passages(hits)
        ),
    )


def roleplay_prompt(
    *,
    persona: CustomerPersona,
    history: Sequence[Message],
    message: str,
    hits: Sequence[SearchHit],
    history_budget_tokens: int,
    count: TokenCounter = approximate_tokens,
) -> Prompt:
    window = history_window(history, budget_tokens=history_budget_tokens, count=count)
    return Prompt(
        turns=_conversation(roleplay_system_prompt(persona, hits), window, message),
        grounding=Grounding(
            mode=ConversationMode.ROLEPLAY.value,
            question=message,
            passages=_passages(hits),
            persona=f"{persona.name}, {persona.description}",
            scripted_lines=persona.opening_lines + persona.script,
        ),
    )

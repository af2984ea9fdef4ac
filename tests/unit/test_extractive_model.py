"""The extractive model: picks, never writes; deterministic."""

from __future__ import annotations

import asyncio
import time

from avataradam.adapters.llm.extractive import (
    NO_MATERIAL_REPLY,
    ExtractiveChatModel,
    customer_lines,
)
from avataradam.domain.ports.services import ChatTurn, Grounding, GroundingPassage

GUIDE = GroundingPassage(
    marker=1,
    text=(
        "Welcome to the objection guide. GAP covers the difference between the insurance "
        "payout and the loan balance. Dealers love coffee in the morning."
    ),
    topic="objection_handling",
    filename="guide.pdf",
)
LEASES = GroundingPassage(
    marker=2,
    text="On leases, GAP is often included by the lessor, so check the lease contract first.",
    topic="product_knowledge",
    filename="leases.pdf",
)
OBJECTIONS = GroundingPassage(
    marker=1,
    text=(
        'Customer: "I already have full coverage with my insurer."\n'
        "Why would I pay interest on a service contract?\n"
        "Respond by asking about their deductible."
    ),
    topic="objection_handling",
    filename="objections.pdf",
)


def training(question: str, *passages: GroundingPassage) -> Grounding:
    return Grounding(mode="training", question=question, passages=passages)


def roleplay(*passages: GroundingPassage) -> Grounding:
    return Grounding(
        mode="roleplay",
        question="Hello",
        passages=passages,
        persona="Sam",
        scripted_lines=("Opening line.", "Script one.", "Script two."),
    )


def reply(grounding: Grounding, turns: tuple[ChatTurn, ...] = ()) -> str:
    return ExtractiveChatModel().reply(turns, grounding)


def test_training_answer_is_the_most_relevant_sentences_with_their_citations() -> None:
    answer = reply(training("What does GAP cover on a lease?", GUIDE, LEASES))

    assert "GAP covers the difference between the insurance payout and the loan balance. [1]" in (
        answer
    )
    assert "On leases, GAP is often included by the lessor" in answer
    assert "[2]" in answer
    assert "coffee" not in answer


def test_without_passages_it_says_it_found_nothing() -> None:
    assert reply(training("What is GAP?")) == NO_MATERIAL_REPLY


def test_customer_lines_are_quoted_objections_and_questions() -> None:
    lines = customer_lines([OBJECTIONS])

    assert lines == [
        "I already have full coverage with my insurer.",
        "Why would I pay interest on a service contract?",
    ]


def test_roleplay_opens_then_alternates_document_lines_and_script_without_repeating() -> None:
    grounding = roleplay(OBJECTIONS)
    turns: list[ChatTurn] = [ChatTurn(role="system", content="...")]
    said = []
    for _ in range(5):
        line = reply(grounding, tuple(turns))
        said.append(line)
        turns += [ChatTurn(role="assistant", content=line), ChatTurn(role="user", content="ok")]

    assert said == [
        "Opening line.",
        "I already have full coverage with my insurer.",
        "Script one.",
        "Why would I pay interest on a service contract?",
        "Script two.",
    ]


def test_the_reply_streams_word_by_word_and_is_deterministic() -> None:
    async def run() -> list[str]:
        model = ExtractiveChatModel()
        return [d.text async for d in model.stream((), max_tokens=100, grounding=training("x"))]

    first, second = asyncio.run(run()), asyncio.run(run())

    assert first == second
    assert "".join(first) == NO_MATERIAL_REPLY
    assert len(first) == len(NO_MATERIAL_REPLY.split())


def test_a_delta_delay_paces_the_stream_and_max_tokens_bounds_it() -> None:
    async def run() -> list[str]:
        model = ExtractiveChatModel(delta_delay_s=0.02)
        return [d.text async for d in model.stream((), max_tokens=5, grounding=training("x"))]

    started = time.perf_counter()
    pieces = asyncio.run(run())

    assert len(pieces) == 5
    assert time.perf_counter() - started >= 0.1
    assert ExtractiveChatModel.generative is False

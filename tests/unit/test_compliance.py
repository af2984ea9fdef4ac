"""The compliance guard: a reply sentence that says what a rule of its passages forbids."""

from __future__ import annotations

import pytest

from avataradam.adapters.llm.sentences import sentence_spans, sentences
from avataradam.domain.compliance import contradictions, forbidden_content
from avataradam.domain.ports.services import GroundingPassage

RULES = (
    "GAP compliance rules.\n"
    "Never tell a customer that GAP is\nrequired to get the loan approved.\n"
    "GAP is an optional product and the customer may decline it at any time.\n"
)
PACKING = "Payment packing is forbidden at this dealership. Show the base payment first."
SPANISH = "Nunca digas al cliente que el GAP es obligatorio para aprobar el préstamo."
PASSAGES = tuple(
    GroundingPassage(marker=i, text=text, topic="compliance", filename=f"{i}.txt")
    for i, text in enumerate((RULES, PACKING, SPANISH), start=1)
)


def flagged(reply: str) -> list[tuple[str, int]]:
    found = contradictions(reply, PASSAGES, spans=sentence_spans, sentences=sentences)
    return [(c.sentence, c.marker) for c in found]


@pytest.mark.parametrize(
    "reply",
    [
        "GAP is required to get the loan approved.",
        "- Tell them GAP is required to get the loan approved [1].",
        "Sure! The lender needs GAP, it's required for the loan to be approved.",
        "Payment packing is a smart way to raise the payment.",
        "El GAP es obligatorio para aprobar el préstamo.",
    ],
)
def test_a_sentence_saying_what_a_rule_forbids_is_flagged(reply: str) -> None:
    assert flagged(reply), reply


@pytest.mark.parametrize(
    "reply",
    [
        "Never tell a customer that GAP is required to get the loan approved [1].",
        "GAP is optional: the customer may decline it, and it is not required for approval.",
        "You can't say GAP is required to get the loan approved.",
        "Show the base payment first [2].",
        "GAP covers the gap between the insurance payout and the loan balance.",
        "No, el GAP no es obligatorio.",
        "Good question.",
    ],
)
def test_restating_or_respecting_a_rule_is_not_flagged(reply: str) -> None:
    assert flagged(reply) == [], reply


def test_the_rule_is_rebuilt_across_its_line_wrap_and_names_its_passage() -> None:
    [contradiction] = contradictions(
        "GAP is required to get the loan approved.",
        PASSAGES[:1],
        spans=sentence_spans,
        sentences=sentences,
    )

    assert contradiction.rule == (
        "Never tell a customer that GAP is required to get the loan approved."
    )
    assert contradiction.marker == 1


def test_what_a_rule_forbids_leaves_out_verbs_of_saying_and_common_words() -> None:
    assert forbidden_content(
        "Never tell a customer that GAP is required to get the loan approved."
    ) == {"gap", "required", "loan", "approved"}
    assert forbidden_content("Payment packing is forbidden at this dealership.") == {
        "payment",
        "packing",
    }
    assert forbidden_content("GAP is an optional product.") == set()

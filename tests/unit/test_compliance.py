"""The compliance guard: a reply sentence that says what a rule of its passages forbids."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avataradam.adapters.llm.sentences import sentence_spans, sentences
from avataradam.domain.compliance import Contradiction, contradictions, forbidden_content, kind
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


# --- properties over generated rules and facts -------------------------------------------

CLAIM_WORDS = [
    "gap",
    "loan",
    "approval",
    "required",
    "warranty",
    "void",
    "financing",
    "reserve",
    "payment",
    "products",
    "refund",
    "deductible",
    "coverage",
    "lender",
    "insurance",
    "service",
    "contract",
    "markup",
    "buyers",
    "menu",
    "ofac",
    "obligatorio",
    "préstamo",
    "seguro",
    "garantía",
    "consentimiento",
]
PROHIBITIONS = (
    "Never tell a customer that",
    "Do not say that",
    "F&I managers must not claim that",
    "Staff must never suggest that",
    "You may not tell customers that",
    "Salespeople cannot promise that",
    "Nunca digas al cliente que",
    "No se debe decir que",
)
FACT_VERBS = ("cover", "include", "mean", "guarantee", "protect", "change")
claims = st.lists(st.sampled_from(CLAIM_WORDS), min_size=2, max_size=6, unique=True)


def flagged_by(reply: str, *texts: str) -> list[Contradiction]:
    passages = [
        GroundingPassage(marker=i, text=text, topic="compliance", filename=f"{i}.txt")
        for i, text in enumerate(texts, start=1)
    ]
    return contradictions(reply, passages, spans=sentence_spans, sentences=sentences)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(PROHIBITIONS), claims)
def test_what_any_rule_forbids_said_plainly_is_always_flagged(
    prohibition: str, words: list[str]
) -> None:
    claim = " ".join(words)
    rule = f"{prohibition} {claim}."

    found = flagged_by(f"{claim.capitalize()}.", f"GAP rules.\n{rule}")

    assert [(c.rule, c.marker) for c in found] == [(rule, 1)]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(PROHIBITIONS), claims, st.sampled_from(["", "The rule is: ", "- "]))
def test_a_reply_sentence_that_is_the_rule_itself_is_never_flagged(
    prohibition: str, words: list[str], lead: str
) -> None:
    rule = f"{prohibition} {' '.join(words)}."

    assert flagged_by(f"{lead}{rule} [1]", rule) == []


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(FACT_VERBS),
    st.lists(st.sampled_from(CLAIM_WORDS), min_size=3, max_size=6, unique=True),
)
def test_a_fact_restated_is_never_flagged_and_its_negation_dropped_always_is(
    verb: str, words: list[str]
) -> None:
    subject, rest = words[0], " ".join(words[1:])
    fact = f"The {subject} does not {verb} the {rest}."
    opposite = f"The {subject} {verb}s the {rest}."

    assert flagged_by(fact, fact) == []
    assert [c.rule for c in flagged_by(opposite, fact)] == [fact]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Never tell a customer that GAP is required to get the loan approved.", "rule"),
        ("Do not deliver a vehicle before the OFAC check is cleared.", "rule"),
        ("Payment packing is forbidden at this dealership.", "rule"),
        ("F&I managers must not quote a payment the customer has not chosen.", "rule"),
        ("Salespeople cannot promise approval.", "rule"),
        ("We never mark up the rate because of age.", "rule"),
        ("No one may quote a rate before the lender approves it.", "rule"),
        ("Nunca digas que el GAP es obligatorio.", "rule"),
        ("No digas que el GAP es obligatorio.", "rule"),
        ("El vendedor no puede prometer la aprobación.", "rule"),
        ("GAP does not cover the insurance deductible.", "fact"),
        ("GAP never covers the deductible.", "fact"),
        ("The customer cannot cancel after 30 days without a fee.", "fact"),
        ("The dealer reserve cannot exceed two percentage points.", "fact"),
        ("El cliente no puede cancelar después de 30 días sin un cargo.", "fact"),
        ("No fees apply after 30 days.", "fact"),
        ('Customer: "I never buy extended warranties."', None),
        ("GAP is an optional product.", None),
        ("Show the base payment first.", None),
    ],
)
def test_rules_are_prohibitions_addressed_to_staff_and_other_negations_are_facts(
    sentence: str, expected: str | None
) -> None:
    assert kind(sentence) == expected


def test_a_rules_exception_is_not_part_of_what_it_forbids() -> None:
    rule = (
        "Never tell a customer that the contract rate is the lowest rate the lender offers "
        "unless it is the buy rate."
    )

    assert forbidden_content(rule) == {"contract", "rate", "lowest", "lender", "offers"}
    assert flagged_by("The contract rate is the lowest rate the lender offers.", rule)
    assert not flagged_by("The contract rate is not always the lowest rate available.", rule)


def test_a_customers_quoted_words_are_no_fact_of_the_material() -> None:
    objection = 'Customer: "I never buy extended warranties from the dealer."'

    assert not flagged_by("Many customers buy extended warranties from the dealer.", objection)

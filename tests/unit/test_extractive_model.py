"""The extractive model: picks whole sentences, never writes; deterministic."""

from __future__ import annotations

import asyncio
import re
import textwrap
import time

import msgspec
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from avataradam.adapters.llm.extractive import (
    ExtractiveChatModel,
    customer_lines,
    quotable_sentences,
)
from avataradam.adapters.llm.sentences import joins_hyphenated_word, sentences
from avataradam.domain.model import ConversationMode, Topic
from avataradam.domain.ports.services import ChatTurn, Grounding, GroundingPassage
from avataradam.domain.usecases.conversations.replies import NO_MATERIAL_REPLY
from avataradam.domain.usecases.conversations.start import NewConversation
from tests.unit.test_conversations_usecases import World

GAP_RULE = "Never tell a customer that GAP is required to get the loan approved."
GAP_RULE_WRAPPED = "Never tell a customer that GAP is\nrequired to get the loan approved."

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


def reply(
    grounding: Grounding, turns: tuple[ChatTurn, ...] = (), max_tokens: int | None = None
) -> str:
    return ExtractiveChatModel().reply(turns, grounding, max_tokens)


def passage(text: str, marker: int = 1) -> GroundingPassage:
    return GroundingPassage(marker=marker, text=text, topic="compliance", filename="rules.pdf")


def quoted_lines(answer: str) -> list[str]:
    """The reply's quoted sentences, without their citation markers."""
    return [re.sub(r" \[\d+\]$", "", line) for line in answer.splitlines()[1:]]


def test_training_answer_is_the_most_relevant_sentences_with_their_citations() -> None:
    answer = reply(training("What does GAP cover on a lease?", GUIDE, LEASES))

    assert "GAP covers the difference between the insurance payout and the loan balance. [1]" in (
        answer
    )
    assert "Welcome" not in answer
    assert "On leases, GAP is often included by the lessor" in answer
    assert "[2]" in answer
    assert "coffee" not in answer


def test_a_sentence_found_in_several_passages_is_quoted_once() -> None:
    answer = reply(training("Is GAP required?", passage(GAP_RULE, 1), passage(GAP_RULE, 2)))

    assert quoted_lines(answer) == [GAP_RULE]
    assert answer.endswith("[1]")


def test_without_passages_it_says_it_found_nothing() -> None:
    assert reply(training("What is GAP?")) == NO_MATERIAL_REPLY


def test_passages_that_carry_their_sentences_are_not_segmented_again() -> None:
    def refuse(text: str) -> list[str]:
        raise AssertionError(f"segmented again: {text!r}")

    guide = msgspec.structs.replace(GUIDE, sentences=tuple(sentences(GUIDE.text)))
    objections = msgspec.structs.replace(OBJECTIONS, sentences=tuple(sentences(OBJECTIONS.text)))
    question = "What does GAP cover on a lease?"

    assert ExtractiveChatModel(sentences=refuse).reply((), training(question, guide)) == reply(
        training(question, GUIDE)
    )
    assert customer_lines([objections], refuse) == customer_lines([OBJECTIONS])


def test_customer_lines_are_quoted_objections_and_questions() -> None:
    lines = customer_lines([OBJECTIONS])

    assert lines == [
        "I already have full coverage with my insurer.",
        "Why would I pay interest on a service contract?",
    ]


def test_a_question_that_advises_the_staff_is_not_a_line_a_customer_says() -> None:
    """Given the demo objection guide's advice (a fresh install's roleplay customer said
    it), questions after a label or led by an instruction are not the customer's."""
    coaching = passage(
        "Ask for a decision clearly: which option works best for you?\n"
        "Ask which coverage matters most to them?\n"
        "Pregunte con claridad: ¿cuál opción le conviene más?\n"
        "Customer: Can I just take the brochure home and read it?\n"
        "Is GAP required to get the loan approved?"
    )

    assert customer_lines([coaching]) == [
        "Can I just take the brochure home and read it?",
        "Is GAP required to get the loan approved?",
    ]


def test_a_quoted_word_is_not_a_line_a_customer_says() -> None:
    policy = passage(
        'Never tell a customer a lender "requires" GAP or that it is "mandatory coverage".\n'
        'Customers often say "I will think about it" at the menu.'
    )

    assert customer_lines([policy]) == ["I will think about it"]


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


# A rule hard-wrapped in its document (issue 15's report: the reply quoted only the
# second line, "- required to get the loan approved. [1]", the opposite of the rule).


def test_a_hard_wrapped_rule_is_quoted_whole_with_its_negation() -> None:
    for question in ("Is GAP required to get the loan approved?", "What about GAP?", "hi"):
        answer = reply(training(question, passage(GAP_RULE_WRAPPED)))

        assert quoted_lines(answer) == [GAP_RULE]
        assert answer.count("required to get the loan approved") == 1
        assert not any(line.lstrip().startswith(("-", "•", "*")) for line in answer.splitlines())


async def test_the_chat_path_answers_with_the_whole_rule() -> None:
    world = World(ExtractiveChatModel())
    dealership = await world.dealership()
    await world.document(dealership, GAP_RULE_WRAPPED, Topic.COMPLIANCE)
    trainee = await world.user(dealership)
    conversation = await world.start(trainee, NewConversation(mode=ConversationMode.TRAINING))

    done = await world.send(trainee, conversation.id, "Is GAP required to get the loan approved?")

    assert GAP_RULE in done.message.content
    assert "\n- " not in done.message.content
    assert len(done.message.sources) == 1


def test_sentences_are_rebuilt_across_wraps_hyphenation_and_page_breaks() -> None:
    text = (
        "Compliance Rules\n"
        "The monthly pay-\nment must be disclosed before signing. Schedule a follow-\n"
        "up call. Stay F&I-\ncompliant at all times. The customer may cancel GAP within\n"
        "\n\f\nPage 3 of 12\n\n30 days for a full refund.\n"
        "- Never bundle products without consent.\n"
        "• Do not quote a payment before the price.\n"
    )

    assert sentences(text) == [
        "Compliance Rules",
        "The monthly payment must be disclosed before signing.",
        "Schedule a follow-up call.",
        "Stay F&I-compliant at all times.",
        "The customer may cancel GAP within 30 days for a full refund.",
        "Never bundle products without consent.",
        "Do not quote a payment before the price.",
    ]


def test_a_line_is_a_heading_or_a_list_item_only_when_its_layout_says_so() -> None:
    heading = "GAP Basics\nGAP covers the difference between the payout and the balance."
    wrapped_title_case = "Ask the F&I\nManager about\nGAP before the\ndelivery."
    dash_inside = "Customers\n— most of them first-time buyers —\noften ask if GAP is optional."

    assert sentences(heading) == [
        "GAP Basics",
        "GAP covers the difference between the payout and the balance.",
    ]
    assert sentences(wrapped_title_case) == ["Ask the F&I Manager about GAP before the delivery."]
    assert sentences(dash_inside) == [
        "Customers — most of them first-time buyers — often ask if GAP is optional."
    ]
    assert sentences("Options:\n— Never bundle.\n— Always ask.") == [
        "Options:",
        "Never bundle.",
        "Always ask.",
    ]


def test_no_sentence_starts_in_lower_case_where_an_abbreviation_is_unknown() -> None:
    # Neither language knows "yrs." as an abbreviation: the lower-case word after it
    # shows the sentence goes on.
    assert sentences("Dealers pay approx. 5 yrs. of interest on it. Never skip it.") == [
        "Dealers pay approx.",
        "5 yrs. of interest on it.",
        "Never skip it.",
    ]


def test_a_hyphen_at_a_line_end_is_mended_only_inside_a_word() -> None:
    assert joins_hyphenated_word("pay", "ment")
    assert joins_hyphenated_word("insur", "ance")
    assert joins_hyphenated_word("obliga", "torio")
    assert joins_hyphenated_word("subro", "gation")  # halves that are not words
    assert not joins_hyphenated_word("follow", "up")
    assert not joins_hyphenated_word("trade", "in")
    assert not joins_hyphenated_word("I", "compliant")  # F&I-compliant
    assert not joins_hyphenated_word("COVID", "19")
    # The passage's own spelling wins over the word lists.
    assert not joins_hyphenated_word("check", "list", "Use the check-list daily.")
    assert joins_hyphenated_word("follow", "up", "Every followup is logged.")


def test_spanish_sentences_keep_their_abbreviations_and_negations() -> None:
    text = (
        "Nunca diga al cliente que el GAP es\nobligatorio. El Sr. García no firmó la financia-\n"
        "ción; la Dra. López tampoco. ¿Es opcional el GAP? Sí, siempre lo es."
    )

    assert sentences(text) == [
        "Nunca diga al cliente que el GAP es obligatorio.",
        "El Sr. García no firmó la financiación; la Dra. López tampoco.",
        "¿Es opcional el GAP?",
        "Sí, siempre lo es.",
    ]
    answer = reply(training("¿Es obligatorio el GAP para el cliente?", passage(text)))
    assert "Nunca diga al cliente que el GAP es obligatorio. [1]" in answer


def test_pieces_the_chunker_cut_are_not_quoted() -> None:
    # A passage may start or end inside a sentence (the chunker cuts long paragraphs).
    text = (
        "required to get the loan approved. Always disclose the price of every product. "
        "Never tell a customer that GAP is"
    )

    assert quotable_sentences(text) == ["Always disclose the price of every product."]


def test_a_sentence_too_long_for_the_reply_is_left_out_not_cut() -> None:
    rule = passage(GAP_RULE + " Always disclose the price.")

    answer = reply(training("GAP price", rule), max_tokens=8)

    assert answer == "Always disclose the price. [1]"
    assert "Never" not in reply(training("GAP price", rule), max_tokens=12)


def test_a_reply_with_no_room_for_any_whole_sentence_cites_without_quoting() -> None:
    answer = reply(training("Is GAP required?", passage(GAP_RULE)), max_tokens=12)

    assert "[1]" in answer
    assert "required" not in answer


async def test_the_stream_never_ends_inside_a_sentence() -> None:
    text = GAP_RULE_WRAPPED + " Always disclose the price."
    model = ExtractiveChatModel()
    for max_tokens in range(1, 30):
        pieces = [
            d.text
            async for d in model.stream(
                (), max_tokens=max_tokens, grounding=training("GAP price", passage(text))
            )
        ]
        streamed = "".join(pieces)

        assert len(pieces) <= max_tokens
        assert "required" not in streamed or GAP_RULE in streamed


# Property: wrapping does not change what is quoted.

SOURCE_SENTENCES = (
    GAP_RULE,
    "You must not quote a monthly payment before the customer has seen the price.",
    "Schedule a follow-up call when the customer does not decide at the desk.",
    "Every menu presentation has to be F&I-compliant and signed by the customer.",
    "Mr. Smith never bundles a service contract without written consent.",
    "Customers — most of them first-time buyers — often ask whether GAP is optional.",
    "Nunca diga al cliente que el GAP es obligatorio.",
    "El Sr. García no firmó el contrato de financiación sin leerlo.",
    "¿Es opcional el seguro GAP para una compra en efectivo?",
    "A trade-in with negative equity is not a reason to skip the disclosure.",
    "Ask the F&I Manager about GAP before the delivery of the Vehicle.",
)
NEGATIONS = frozenset({"never", "not", "no", "nunca", "without", "sin", "don't"})
PAGE_BREAKS = ("\n\f\n", "\f", "\n\nPage 7 of 12\n\n", "\n\n- 7 -\n\n", "\n\nPágina 7\n\n")


def _splittable(word: str) -> list[int]:
    """Where a typesetter could hyphenate `word`: between two lower-case letters, at
    least two letters from either end."""
    return [
        i
        for i in range(2, len(word) - 1)
        if word.isalpha() and word[i - 1].islower() and word[i].islower()
    ]


@st.composite
def laid_out(draw: st.DrawFn) -> tuple[list[str], str]:
    """Source sentences and the same text hard-wrapped, hyphenated and paginated."""
    chosen = draw(st.lists(st.sampled_from(SOURCE_SENTENCES), min_size=1, max_size=5, unique=True))
    width = draw(st.integers(min_value=24, max_value=110))
    lines = textwrap.wrap(" ".join(chosen), width, break_long_words=False)
    for i in range(len(lines) - 1):
        words = lines[i + 1].split(" ")
        points = [] if lines[i].endswith("-") else _splittable(words[0])
        if len(points) > 0 and draw(st.booleans()):
            cut = draw(st.sampled_from(points))
            lines[i] += f" {words[0][:cut]}-"
            lines[i + 1] = " ".join([words[0][cut:], *words[1:]])
    separators = [draw(st.sampled_from(("\n", "\n", "\n", *PAGE_BREAKS))) for _ in lines[1:]]
    text = lines[0] + "".join(sep + line for sep, line in zip(separators, lines[1:], strict=True))
    return chosen, text


@settings(max_examples=150, deadline=None)
@given(laid_out())
def test_wrapping_hyphenation_and_page_breaks_change_no_sentence(
    source: tuple[list[str], str],
) -> None:
    chosen, text = source

    assert sentences(text) == sentences(" ".join(chosen)) == chosen


@settings(max_examples=100, deadline=None)
@given(laid_out(), st.data())
def test_a_quoted_rule_keeps_every_negation_of_its_source(
    source: tuple[list[str], str], data: st.DataObject
) -> None:
    chosen, text = source
    statements = [sentence for sentence in chosen if not sentence.endswith("?")]
    assume(statements)  # a question is never quoted as an answer
    rule = data.draw(st.sampled_from(statements))

    answer = reply(training(rule, passage(text)))

    assert set(quoted_lines(answer)) <= set(chosen)
    found: list[str | None] = [line for line in quoted_lines(answer) if line == rule] or [None]
    [quoted] = found
    assert quoted is not None
    words = set(re.findall(r"[\w']+", quoted.lower()))
    assert NEGATIONS & set(re.findall(r"[\w']+", rule.lower())) <= words


def test_a_training_answer_quotes_no_question_and_no_scripted_customer_line() -> None:
    """Given a script where the customer asks what the trainee asked (a fresh install
    answered with "Cliente: ¿Esto es obligatorio…? [1]"), the answer quotes the rule,
    not the customer's lines."""
    script = passage(
        "Cliente: ¿Esto es obligatorio para que me aprueben el préstamo?\n"
        "Customer: Is GAP required to get the loan approved?\n"
        "Is GAP required for every loan?\n"
        f"{GAP_RULE}"
    )

    answer = reply(training("Is GAP required to get the loan approved?", script))

    assert quoted_lines(answer) == [GAP_RULE]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a PDF without an outline: its headings come as plain lines
            "A customer may cancel the contract within 60 days for a full refund.\n"
            "Compliance\nNever tell a customer that GAP is\nrequired to get the loan approved.",
            [
                "A customer may cancel the contract within 60 days for a full refund.",
                "Compliance",
                GAP_RULE,
            ],
        ),
        (  # a cut after a function word is a wrap, even before a capital
            "Present the menu first.\nAsk the\nF&I Manager about GAP before the delivery.",
            ["Present the menu first.", "Ask the F&I Manager about GAP before the delivery."],
        ),
        (  # an abbreviation closing a line does not make the next line a heading
            "The menu is signed by Mr.\nSmith And\nthe customer.",
            ["The menu is signed by Mr. Smith And the customer."],
        ),
    ],
)
def test_a_heading_after_a_sentence_stands_alone_and_a_wrap_stays_joined(
    text: str, expected: list[str]
) -> None:
    assert sentences(text) == expected


def test_markdown_headings_are_not_quoted() -> None:
    text = (
        "# Lakeside Motors F&I Compliance Policy\n\n"
        "## Vehicle service contracts\n\n"
        "Present the service contract on the menu with every other product.\n"
    )

    assert quotable_sentences(text) == [
        "Present the service contract on the menu with every other product."
    ]

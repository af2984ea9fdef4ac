"""Spanish end to end in the domain: segmentation, citations, the extractive model, the
prompts and the conversation's language."""

from __future__ import annotations

import pytest

from avataradam.adapters.chunking.semchunk import SemchunkChunker
from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.llm.extractive import ExtractiveChatModel
from avataradam.adapters.llm.sentences import (
    language_of,
    sentence_spans,
    sentences,
    unbreakable_spaces,
)
from avataradam.domain.citations import check_citations
from avataradam.domain.errors import InvalidInput
from avataradam.domain.model import ConversationMode, Language, Topic
from avataradam.domain.personas import PERSONAS
from avataradam.domain.ports.knowledge import ExtractedSection
from avataradam.domain.ports.services import ChatTurn, Grounding, GroundingPassage
from avataradam.domain.prompts import roleplay_prompt, training_prompt
from avataradam.domain.training.scenarios import BUILT_IN, persona_for
from avataradam.domain.usecases.conversations.start import NewConversation
from tests.unit.test_conversations_prompts import hit
from tests.unit.test_conversations_usecases import World

POLICY = (
    "¡Atención! El seguro GAP cuesta $1,500 y el deducible es de 1.500,00 dólares, según el\n"
    "art. 5 del contrato. La Dra. Pérez y el Sr. Gómez firmaron el 3 de enero. ¿Es obli-\n"
    "gatorio el GAP? Nunca diga al cliente que el GAP es obligatorio para aprobar el préstamo.\n"
    "El cliente puede cancelarlo en 30 días (véase el art. 7, párr. 2). Ud. recibe un\n"
    "reembolso del 2,5 % aprox. por cada mes no usado."
)
POLICY_SENTENCES = [
    "¡Atención!",
    "El seguro GAP cuesta $1,500 y el deducible es de 1.500,00 dólares, según el art. 5 "
    "del contrato.",
    "La Dra. Pérez y el Sr. Gómez firmaron el 3 de enero.",
    "¿Es obligatorio el GAP?",
    "Nunca diga al cliente que el GAP es obligatorio para aprobar el préstamo.",
    "El cliente puede cancelarlo en 30 días (véase el art. 7, párr. 2).",
    "Ud. recibe un reembolso del 2,5 % aprox. por cada mes no usado.",
]
ENGLISH = "Dealer reserve is the markup on the buy rate that the dealer keeps."


def test_spanish_sentences_keep_abbreviations_amounts_and_inverted_marks() -> None:
    assert sentences(POLICY) == POLICY_SENTENCES


def test_a_spanish_reply_is_cut_at_its_sentences_and_markers_stay_with_them() -> None:
    reply = (
        "¡Claro que sí! El GAP es opcional, lo dice el art. 7 [1]. ¿Algo más?\nSí. Cuesta $1,500."
    )

    assert [reply[a:b] for a, b in sentence_spans(reply)] == [
        "¡Claro que sí!",
        "El GAP es opcional, lo dice el art. 7 [1].",
        "¿Algo más?",
        "Sí.",
        "Cuesta $1,500.",
    ]


async def test_citations_of_a_spanish_reply_point_at_the_spanish_passage() -> None:
    passages = (
        GroundingPassage(marker=1, text=ENGLISH, topic="compliance", filename="reserve.md"),
        GroundingPassage(marker=2, text=POLICY, topic="compliance", filename="gap-es.md"),
    )
    reply = (
        "¿Es obligatorio el GAP? No:\n"
        "Nunca diga al cliente que el GAP es obligatorio para aprobar el préstamo [1].\n"
        "El cliente puede cancelarlo en 30 días (véase el art. 7, párr. 2)."
    )

    checked = await check_citations(
        reply,
        passages,
        spans=sentence_spans,
        sentences=sentences,
        embed=HashingEmbedder(dimension=256).embed,
        threshold=0.5,
    )

    assert checked.cited == (2,), "the Spanish passage, not the English one named [1]"
    assert checked.content == (
        "¿Es obligatorio el GAP? No:\n"
        "Nunca diga al cliente que el GAP es obligatorio para aprobar el préstamo [1].\n"
        "El cliente puede cancelarlo en 30 días (véase el art. 7, párr. 2) [1]."
    )
    assert (checked.claims, checked.grounded) == (2, True)


def test_the_extractive_answer_to_a_spanish_question_quotes_the_spanish_passage() -> None:
    grounding = Grounding(
        mode="training",
        question="¿Puedo decirle al cliente que el GAP es obligatorio?",
        passages=(GroundingPassage(marker=1, text=POLICY, topic="compliance", filename="a.md"),),
    )

    answer = ExtractiveChatModel().reply((), grounding)

    assert f"{POLICY_SENTENCES[4]} [1]" in answer.splitlines()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Why would I pay interest on a service contract?", "en"),
        ("¿Por qué pagaría intereses?", "es"),
        ("Mi seguro ya cubre eso.", "es"),
        ("Can I cancel it later and get my money back?", "en"),
        ("No.", None),
    ],
)
def test_the_language_of_a_line_is_told_apart(text: str, language: str | None) -> None:
    assert language_of(text) == language


def test_every_persona_has_a_spanish_script_with_the_same_beats() -> None:
    assert len(BUILT_IN) >= 12
    for persona in (scenario.persona for scenario in BUILT_IN.values()):
        spanish = persona.lines("es")
        assert len(spanish.opening_lines) == len(persona.opening_lines)
        assert len(spanish.script) == len(persona.script)
        for line in (*spanish.opening_lines, *spanish.script):
            assert language_of(line) == "es", line
        assert persona.lines("en").script == persona.script


def test_the_roleplay_prompt_tells_the_customer_to_speak_spanish() -> None:
    persona = persona_for("payment_focused")
    spanish = roleplay_prompt(
        persona=persona,
        history=[],
        message="Hola",
        hits=[],
        history_budget_tokens=500,
        language="es",
    )
    english = roleplay_prompt(
        persona=persona, history=[], message="Hello", hits=[], history_budget_tokens=500
    )

    assert "You speak Spanish" in spanish.turns[0].content
    assert "Spanish" not in english.turns[0].content
    assert spanish.grounding.language == "es"
    assert spanish.grounding.scripted_lines[0] == persona.lines("es").opening_lines[0]
    assert english.grounding.scripted_lines[0] == persona.opening_lines[0]


def test_the_training_prompt_answers_in_the_questions_language() -> None:
    prompt = training_prompt(
        history=[],
        question="¿Es obligatorio el GAP?",
        hits=[hit(ENGLISH)],
        focus=None,
        history_budget_tokens=500,
        language="es",
    )

    system = prompt.turns[0].content
    assert "Answer in the language the trainee's question is written in" in system
    assert "a question in Spanish gets an answer in Spanish" in system
    assert "unclear, answer in Spanish" in system


def test_the_extractive_customer_speaks_spanish_and_skips_english_document_lines() -> None:
    persona = persona_for("skeptical")
    objections = hit(
        'Customer: "I already have full coverage with my insurer."\n'
        'Cliente: "Mi seguro ya cubre todo eso, no necesito nada más."'
    )
    prompt = roleplay_prompt(
        persona=persona,
        history=[],
        message="Buenas tardes",
        hits=[objections],
        history_budget_tokens=500,
        language="es",
    )
    model = ExtractiveChatModel()
    said: list[ChatTurn] = []
    for _ in range(5):
        line = model.reply(said, prompt.grounding)
        said.append(ChatTurn(role="assistant", content=line))

    lines = [turn.content for turn in said]
    assert lines[0] == persona.lines("es").opening_lines[0]
    assert "Mi seguro ya cubre todo eso, no necesito nada más." in lines
    assert all(language_of(line) == "es" for line in lines), lines


async def test_a_conversation_keeps_its_language_and_refuses_an_unknown_one() -> None:
    world = World(ExtractiveChatModel())
    dealership = await world.dealership()
    trainee = await world.user(dealership)

    spanish = await world.start(
        trainee,
        NewConversation(mode=ConversationMode.ROLEPLAY, scenario="time_pressured", language="es"),
    )
    english = await world.start(trainee, NewConversation(mode=ConversationMode.ROLEPLAY))
    with pytest.raises(InvalidInput, match='"en", "es"') as refused:
        await world.start(trainee, NewConversation(mode=ConversationMode.ROLEPLAY, language="fr"))

    assert (spanish.language, english.language) == (Language.ES, Language.EN)
    assert refused.value.details == {"field": "language"}
    done = await world.send(trainee, spanish.id, "Buenas tardes, soy el gerente de F&I.")
    assert done.message.content == PERSONAS["time_pressured"].lines("es").opening_lines[0]
    assert (await world.get(trainee, spanish.id)).conversation.language is Language.ES


async def test_a_spanish_training_question_is_answered_from_the_spanish_document() -> None:
    world = World(ExtractiveChatModel())
    dealership = await world.dealership()
    await world.document(dealership, ENGLISH, Topic.PRODUCT_KNOWLEDGE)
    await world.document(dealership, POLICY, Topic.COMPLIANCE)
    trainee = await world.user(dealership)
    conversation = await world.start(trainee, NewConversation(mode=ConversationMode.TRAINING))

    done = await world.send(
        trainee, conversation.id, "¿Puedo decirle al cliente que el GAP es obligatorio?"
    )

    assert f"{POLICY_SENTENCES[4]} [1]" in done.message.content
    assert [s.filename for s in done.message.sources] == ["compliance.txt"]


def test_chunks_of_a_long_paragraph_never_end_at_an_abbreviation() -> None:
    sentence = (
        "La cláusula {i} la firmó el Sr. Gómez con la Dra. Pérez y Mr. Smith el día {i} de "
        "enero, según el art. {i}, por 1.500,00 dólares."
    )
    text = " ".join(sentence.format(i=i) for i in range(40))
    section = ExtractedSection(text=text)

    cut = SemchunkChunker(100).split([section])
    kept = SemchunkChunker(100, unbreakable=unbreakable_spaces).split([section])

    assert any(c.text.endswith(("Sr.", "Dra.", "Mr.", "art.")) for c in cut), "the risk is real"
    assert " ".join(c.text for c in kept) == text
    assert all(c.text.endswith("dólares.") for c in kept[:-1]), [c.text[-20:] for c in kept]
    assert all(len(c.text.split()) <= 100 for c in kept)


def test_spanish_function_words_do_not_rank_a_sentence_and_the_header_is_spanish() -> None:
    busy = (
        "Para que el cliente firme la financiación, los papeles de la compra del carro se "
        "revisan por la tarde."
    )
    rule = "El seguro GAP nunca es obligatorio."
    grounding = Grounding(
        mode="training",
        question="¿Es obligatorio el seguro GAP para la financiación del cliente?",
        passages=(
            GroundingPassage(marker=1, text=f"{busy} {rule}", topic="compliance", filename="a"),
        ),
    )

    answer = ExtractiveChatModel().reply((), grounding).splitlines()

    assert answer == [
        "Esto es lo que dice el material de su concesionario:",
        f"{rule} [1]",
        f"{busy} [1]",
    ]

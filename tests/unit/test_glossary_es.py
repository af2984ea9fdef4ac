"""Spanish F&I terms in English (`domain.glossary_es`) and their keyword ranking in
retrieval: a Spanish question reaches the English passage that names the term."""

from __future__ import annotations

from avataradam.adapters.memory.keywords import InMemoryKeywordSearch
from avataradam.domain.glossary_es import TERMS, english_terms
from avataradam.domain.retrieval import KnowledgeBaseRetriever
from tests.support.knowledge import ProbeEmbedder
from tests.unit.test_keyword_fusion import PROBE, _request, _world


def test_terms_come_in_english_in_order_once_longest_first() -> None:
    assert english_terms("¿Qué deducibles tiene el contrato de servicio?") == (
        "deductible service contract"
    )
    assert english_terms("¿Cuánto paga la PROTECCIÓN DE LLAVES por la llave inteligente?") == (
        "key replacement smart key"
    )
    assert english_terms("deducible o deducibles, el deducible") == "deductible"


def test_a_question_without_terms_of_the_trade_has_none() -> None:
    assert english_terms("What does the service contract cover?") is None
    assert english_terms("¿A qué hora abre el concesionario?") is None
    assert english_terms("") is None


def test_terms_match_whole_words_only() -> None:
    assert english_terms("efectivamente") is None  # not "efectivo"
    assert english_terms("pago en efectivo") == "cash"


def test_every_term_is_folded_as_questions_are() -> None:
    for term in TERMS:
        assert term == term.casefold()
        assert term.isascii(), f"{term!r}: accents are folded before matching"
        assert english_terms(term) == TERMS[term]


async def test_a_spanish_question_finds_the_english_passage_naming_its_term() -> None:
    uow, index, dealership_id, ids = await _world(
        {55: "The vehicle service contract covers engine and transmission repairs."}
    )
    keywords = InMemoryKeywordSearch(uow.store)
    fused = KnowledgeBaseRetriever(uow, ProbeEmbedder(PROBE), index, keywords)
    question = "¿qué cubre el contrato de servicio?"

    own_words = await keywords.search(dealership_id, question, limit=50)
    result = await fused.retrieve(_request(dealership_id, question))

    assert own_words == []  # full-text search does not cross languages
    # Rank 1 of the terms' ranking ties the vector rank 1 (1/61): right behind it.
    assert [h.chunk_id for h in result.hits][:3] == [ids[0], ids[55], ids[1]]

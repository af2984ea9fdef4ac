"""Passages cut to a token budget for the model's reading (domain/passages.py)."""

from __future__ import annotations

import uuid

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from avataradam.adapters.llm.sentences import sentences
from avataradam.domain.model import Topic
from avataradam.domain.passages import fit_passages
from avataradam.domain.prompts import approximate_tokens, training_prompt
from avataradam.domain.retrieval import SearchHit

GAP = (
    "GAP covers the difference between the loan balance and the insurance payout. "
    "It is sold per deal and priced on the menu. "
    "Never tell a customer that GAP is required to get the loan approved. "
    "Cancellations within 30 days are refunded in full."
)
VSC = (
    "A vehicle service contract pays for covered repairs after the factory warranty ends. "
    "Terms run from 3 to 7 years. "
    "The deductible is 100 dollars per visit."
)
TIRE = "Tire and wheel protection covers road hazard damage. It excludes cosmetic damage."


def hit(text: str, rank: int) -> SearchHit:
    return SearchHit(
        chunk_id=f"c:{rank}",
        document_id=uuid.UUID(int=rank),
        filename=f"doc{rank}.pdf",
        topic=Topic.PRODUCT_KNOWLEDGE,
        text=text,
        score=1.0 - rank / 10,
        page=None,
        section=None,
    )


HITS = [hit(GAP, 1), hit(VSC, 2), hit(TIRE, 3)]


def fit(
    budget: int, question: str = "What does GAP cover?", hits: list[SearchHit] = HITS
) -> list[str]:
    fitted = fit_passages(
        hits, question=question, budget_tokens=budget, sentences=sentences, count=approximate_tokens
    )
    shown = fitted.shown
    assert [h.chunk_id for h in shown] == [h.chunk_id for h in hits], "same passages, same order"
    assert all(
        msgspec.structs.replace(f, text=h.text) == h for f, h in zip(shown, hits, strict=True)
    )
    for h, f, found in zip(hits, shown, fitted.sentences, strict=True):
        if found is None:
            assert f.text == h.text, "a passage not segmented went in whole"
        else:
            assert list(found) == sentences(h.text), "what was found cutting it, handed on"
    return [h.text for h in shown]


def test_no_budget_or_a_budget_they_fit_keeps_every_passage_whole() -> None:
    assert fit(0) == [GAP, VSC, TIRE]
    assert fit(sum(approximate_tokens(t) for t in (GAP, VSC, TIRE))) == [GAP, VSC, TIRE]


def test_the_best_passage_is_served_first_and_the_rest_keep_their_closest_sentences() -> None:
    texts = fit(approximate_tokens(GAP) + 10, question="How many years do the terms run?")

    assert texts[0] == GAP
    assert texts[1] == "Terms run from 3 to 7 years.", "the sentence sharing the question's words"
    assert texts[2] == "Tire and wheel protection covers road hazard damage.", (
        "one sentence at least"
    )


def test_kept_sentences_stay_in_document_order() -> None:
    texts = fit(40, question="refunded cancellations GAP difference loan balance")

    assert texts[0] == (
        "GAP covers the difference between the loan balance and the insurance payout. "
        "Cancellations within 30 days are refunded in full."
    )


_sentence = st.from_regex(r"[A-Z][a-z]{2,9}( [a-z]{2,9}){1,8}\.", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    passages=st.lists(st.lists(_sentence, min_size=1, max_size=6), min_size=1, max_size=4),
    budget=st.integers(min_value=1, max_value=200),
    question=st.text(alphabet="abcdefghij ", max_size=30),
)
def test_a_cut_passage_is_a_nonempty_run_of_its_own_whole_sentences_within_budget(
    passages: list[list[str]], budget: int, question: str
) -> None:
    hits = [hit(" ".join(p), rank) for rank, p in enumerate(passages, start=1)]

    texts = fit(budget, question, hits)

    spent = 0
    for given_hit, text in zip(hits, texts, strict=True):
        original = sentences(given_hit.text)
        kept = sentences(text)
        assert kept, "every passage keeps at least one sentence"
        rest = iter(original)
        assert all(s in rest for s in kept), "whole sentences of the passage, in order"
        if len(kept) > 1:
            assert spent + approximate_tokens(text) <= budget + len(kept), "within the budget"
        spent += approximate_tokens(text)


def test_the_model_reads_the_cut_passages_and_the_grounding_keeps_them_whole() -> None:
    fitted = fit_passages(
        HITS, question="VSC terms?", budget_tokens=10, sentences=sentences, count=approximate_tokens
    )

    prompt = training_prompt(
        history=[],
        question="VSC terms?",
        hits=HITS,
        focus=None,
        history_budget_tokens=100,
        fitted=fitted,
    )

    latest = prompt.turns[-1].content
    assert "Terms run from 3 to 7 years." in latest
    assert "Never tell a customer" not in latest, "cut from the model's reading"
    assert [p.text for p in prompt.grounding.passages] == [GAP, VSC, TIRE]
    assert [p.sentences for p in prompt.grounding.passages] == [
        tuple(sentences(GAP)),
        tuple(sentences(VSC)),
        tuple(sentences(TIRE)),
    ], "each cut passage carries the sentences found cutting it"

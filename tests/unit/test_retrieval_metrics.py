"""The retrieval evaluation's scoring (bench/retrieval/metrics.py) on hand-made rankings."""

from __future__ import annotations

import pytest

from bench.retrieval import metrics
from bench.retrieval.questions import DOCUMENTS, QUESTIONS, TYPES

RANKING = [
    ("menu-selling.md", "The menu has four columns: Platinum, Gold, Silver and Basic."),
    ("gap-policy.md", "GAP covers the difference only up to a loan-to-value limit."),
    ("gap-policy.md", "The retail price of GAP is capped at **$795** on all contracts."),
    ("politica-de-gap.md", "El precio máximo de venta de GAP es de $795."),
]


def test_the_first_answering_passage_needs_a_relevant_document_and_a_phrase() -> None:
    relevant = ("gap-policy.md", "politica-de-gap.md")
    # The second passage is from a relevant document but does not hold the price.
    assert metrics.first_relevant_rank(RANKING, relevant, ("$795",)) == 3
    assert metrics.first_relevant_rank(RANKING, relevant, ()) == 2
    assert metrics.first_relevant_rank(RANKING, ("gap-policy.md",), ("PRECIO MÁXIMO",)) is None
    assert metrics.first_relevant_rank(RANKING, ("politica-de-gap.md",), ("precio máximo",)) == 4
    assert metrics.first_relevant_rank(RANKING, (), ()) is None


@pytest.mark.parametrize(
    ("rank", "hit1", "hit5", "rr"),
    [(1, 1.0, 1.0, 1.0), (3, 0.0, 1.0, 1 / 3), (5, 0.0, 1.0, 0.2), (10, 0.0, 0.0, 0.1)],
)
def test_hit_at_k_and_reciprocal_rank_of_one_rank(
    rank: int, hit1: float, hit5: float, rr: float
) -> None:
    assert metrics.hit_at(rank, 1) == hit1
    assert metrics.hit_at(rank, 5) == hit5
    assert metrics.reciprocal_rank(rank, 10) == pytest.approx(rr)


def test_a_miss_or_a_rank_past_k_scores_nothing() -> None:
    assert metrics.hit_at(None, 5) == 0.0
    assert metrics.reciprocal_rank(None) == 0.0
    assert metrics.reciprocal_rank(11, 10) == 0.0


def test_summary_means_over_questions() -> None:
    # Ranks 1, 2, 7 and a miss: hit@1 1/4, hit@5 2/4, MRR@10 (1 + 1/2 + 1/7 + 0) / 4.
    summary = metrics.summarise([1, 2, 7, None], k=10)
    assert summary == {
        "questions": 4,
        "hit_at_1": 0.25,
        "hit_at_5": 0.5,
        "mrr_at_10": round((1 + 0.5 + 1 / 7) / 4, 3),
    }
    assert summary["mrr_at_10"] == 0.411


def test_the_labelled_set_is_consistent() -> None:
    """Every type has at least 10 questions; each answerable one names existing documents,
    each of which holds one of its phrases; unanswerable ones name none."""
    assert all(sum(q.type == kind for q in QUESTIONS) >= 10 for kind in TYPES)
    for question in QUESTIONS:
        assert (question.type == "unanswerable") == (not question.relevant), question.text
        for name in question.relevant:
            text = metrics.comparable((DOCUMENTS / name).read_text())
            assert any(metrics.comparable(p) in text for p in question.answer_contains), (
                name,
                question.text,
            )

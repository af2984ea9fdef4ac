"""The retrieval evaluation's scoring (bench/retrieval/metrics.py) on hand-made rankings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bench.retrieval import metrics, report
from bench.retrieval.questions import AUTHORS, DOCUMENTS, FILES, HERE, QUESTIONS, TYPES, load

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


@pytest.mark.parametrize("author", AUTHORS)
def test_each_labelled_set_is_consistent(author: str) -> None:
    """The first set has at least 10 questions of every type, the second at least 15, the
    third (Spanish only) at least 30 Spanish and 6 unanswerable ones and no other type,
    its Spanish ones over at least 15 documents; each answerable question names existing
    documents, each of which holds one of its phrases as metrics.py compares them, and
    every phrase is in one of them; unanswerable ones name none."""
    questions = [q for q in QUESTIONS if q.author == author]
    least = {"first": dict.fromkeys(TYPES, 10), "second": dict.fromkeys(TYPES, 15)}.get(
        author, {"spanish": 30, "unanswerable": 6}
    )
    assert {q.type for q in questions} <= set(least)
    assert all(sum(q.type == kind for q in questions) >= n for kind, n in least.items())
    if author == "third":
        assert len({name for q in questions for name in q.relevant}) >= 15
    for question in questions:
        assert (question.type == "unanswerable") == (not question.relevant), question.text
        assert question.relevant or not question.answer_contains, question.text
        texts = {
            name: metrics.comparable((DOCUMENTS / name).read_text()) for name in question.relevant
        }
        for name, text in texts.items():
            assert any(metrics.comparable(p) in text for p in question.answer_contains), (
                name,
                question.text,
            )
        for phrase in question.answer_contains:
            assert any(metrics.comparable(phrase) in t for t in texts.values()), phrase


def test_the_loader_marks_each_question_with_its_file() -> None:
    for author in AUTHORS:
        entries = json.loads((HERE / FILES[author]).read_text())
        loaded = load(author)
        assert [q.text for q in loaded] == [e["text"] for e in entries]
        assert {q.author for q in loaded} == {author}
    assert len(QUESTIONS) == sum(len(load(a)) for a in AUTHORS)
    assert len({(q.author, q.text) for q in QUESTIONS}) == len(QUESTIONS)


def test_a_file_may_not_name_the_author_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = {"type": "unanswerable", "text": "Lunch?", "author": "second"}
    (tmp_path / "questions_second.json").write_text(json.dumps([entry]))
    monkeypatch.setattr("bench.retrieval.questions.HERE", tmp_path)
    with pytest.raises(ValueError, match="author"):
        load("second")
    entry.pop("author")
    entry["sett"] = "x"
    (tmp_path / "questions_second.json").write_text(json.dumps([entry]))
    with pytest.raises(msgspec.ValidationError):
        load("second")


RESULTS: list[dict[str, Any]] = [
    {"type": "direct", "rank": 1},  # no author: an older run's result, the first set
    {"type": "direct", "rank": None, "author": "first"},
    {"type": "unanswerable", "rank": None, "author": "first"},
    {"type": "direct", "rank": 2, "author": "second"},
    {"type": "spanish", "rank": 5, "author": "second"},
    {"type": "unanswerable", "rank": None, "author": "second"},
    {"type": "unanswerable", "rank": None, "author": "second"},
]


def test_results_split_by_author_set() -> None:
    split = metrics.by_author(RESULTS, TYPES, k=10)
    assert list(split) == ["first", "second"]
    first, second = split["first"], split["second"]
    assert first["by_type"]["direct"] == metrics.summarise([1, None])
    assert first["by_type"]["unanswerable"] == {"questions": 1}
    assert first["overall"] == metrics.summarise([1, None])
    assert second["by_type"]["direct"] == metrics.summarise([2])
    assert second["by_type"]["spanish"]["mrr_at_10"] == 0.2
    assert second["by_type"]["acronym"]["questions"] == 0
    assert second["by_type"]["unanswerable"] == {"questions": 2}
    assert second["overall"] == {
        "questions": 2,
        "hit_at_1": 0.0,
        "hit_at_5": 1.0,
        "mrr_at_10": 0.35,
    }


def test_the_report_has_a_row_per_method_author_set_and_type() -> None:
    lines = report._per_author({"m": {"questions": RESULTS}})
    rows = [line for line in lines if line.startswith("| m · ")]
    assert len(rows) == 2 * (len(TYPES) + 1)
    assert "| m · second · **overall** | 2 | 0.0 | 1.0 | 0.35 |" in rows
    assert "| m · first · unanswerable | 1 | — | — | — |" in rows
    assert "| m · second · acronym | 0 | — | — | — |" in rows  # no question of the type


def test_the_report_header_fills_in_the_run() -> None:
    labelled = {
        "documents": 22,
        "questions": dict.fromkeys(TYPES, 2),
        "top_k": 7,
        "rounds": 3,
        "store": "a store",
        "hit": "a hit",
    }
    text = "\n".join(report.section({"set": labelled, "methods": {}}))
    assert "Top 7 per question" in text
    assert "{" not in text


def test_the_summarised_method_is_the_one_of_the_default_settings() -> None:
    from avataradam.entrypoints.settings import Settings  # noqa: PLC0415
    from bench.phases.retrieval import (  # noqa: PLC0415
        DEFAULT_METHOD,
        METHODS,
        RETRIEVAL_SETTINGS,
    )

    [method] = [m for m in METHODS if m.name == DEFAULT_METHOD]
    # It sets nothing of its own and drops the run's retrieval settings: the defaults.
    assert (method.environment, method.defaults, method.store) == ({}, True, "postgres")
    assert {"AVATARADAM_EMBEDDER", "AVATARADAM_EMBEDDING_CONTEXT"} <= set(RETRIEVAL_SETTINGS)
    assert {"AVATARADAM_SEARCH_KEYWORD_FUSION", "AVATARADAM_SEARCH_SPARSE_FUSION"} <= set(
        RETRIEVAL_SETTINGS
    )
    defaults = Settings()
    assert (defaults.embedder, defaults.embedding.context) == ("e5", "title_section")
    assert defaults.search.keyword_fusion
    assert defaults.search.sparse_fusion
    # The in-memory rows compare ingredients: each names its embedder and format.
    for other in METHODS:
        if other is not method:
            assert other.store == "memory"
            assert {"AVATARADAM_EMBEDDER", "AVATARADAM_EMBEDDING_CONTEXT"} <= set(other.environment)


def test_the_support_threshold_pairs_leave_the_held_out_sets_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """bench/support.py chooses a threshold on claims built from the questions' phrases:
    none may come from a held-out set (each document one chunk here)."""
    from avataradam.adapters.llm.sentences import sentences  # noqa: PLC0415
    from bench import support  # noqa: PLC0415
    from bench.retrieval.questions import HELD_OUT  # noqa: PLC0415

    chunks = [(path.name, path.read_text()) for path in sorted(DOCUMENTS.glob("*.md"))]
    whole = {metrics.comparable(s) for _, text in chunks for s in sentences(text)}
    held_out = tuple(q for q in QUESTIONS if q.author in HELD_OUT)
    assert held_out
    monkeypatch.setattr(support, "QUESTIONS", held_out)
    assert support.build_corpus(chunks, whole).claims == []
    monkeypatch.setattr(support, "HELD_OUT", frozenset())
    assert support.build_corpus(chunks, whole).claims

"""The retrieval evaluation's scoring: which passage answers a question, the rank of the
first one that does, and hit@k / reciprocal rank over such ranks.

A ranking is the retrieved passages best first; `first_relevant_rank` answers the
1-based rank of the first passage from a relevant document that holds one of the
question's phrases (None: none of them in the ranking). `by_author` splits a run's
per-question results by the set each question comes from.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_EMPHASIS = re.compile(r"[*_`]+")
_SPACE = re.compile(r"\s+")


def comparable(text: str) -> str:
    """Case-folded, Markdown emphasis dropped, whitespace collapsed: how a phrase is
    looked for in a passage."""
    return _SPACE.sub(" ", _EMPHASIS.sub("", text)).casefold().strip()


def answers(
    filename: str, text: str, relevant: Sequence[str], answer_contains: Sequence[str]
) -> bool:
    """Whether a passage of `filename` with `text` answers: its document is relevant and
    it holds one of `answer_contains` (any passage of it when that is empty)."""
    if filename not in relevant:
        return False
    if not answer_contains:
        return True
    passage = comparable(text)
    return any(comparable(phrase) in passage for phrase in answer_contains)


def first_relevant_rank(
    ranking: Iterable[tuple[str, str]],
    relevant: Sequence[str],
    answer_contains: Sequence[str],
) -> int | None:
    """1-based rank of the first `(filename, text)` of `ranking` that `answers`."""
    for rank, (filename, text) in enumerate(ranking, start=1):
        if answers(filename, text, relevant, answer_contains):
            return rank
    return None


def hit_at(rank: int | None, k: int) -> float:
    """1.0 when the first answering passage is within the top `k`, else 0.0."""
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, k: int = 10) -> float:
    """1/rank when the first answering passage is within the top `k`, else 0.0 (MRR@k is
    the mean of these over the questions)."""
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def summarise(ranks: Sequence[int | None], k: int = 10) -> dict[str, float | int]:
    """hit@1, hit@5 and MRR@`k` (means over `ranks`, 3 decimals) and the count."""
    if not ranks:
        return {"questions": 0, "hit_at_1": 0.0, "hit_at_5": 0.0, f"mrr_at_{k}": 0.0}
    return {
        "questions": len(ranks),
        "hit_at_1": round(statistics.fmean(hit_at(r, 1) for r in ranks), 3),
        "hit_at_5": round(statistics.fmean(hit_at(r, 5) for r in ranks), 3),
        f"mrr_at_{k}": round(statistics.fmean(reciprocal_rank(r, k) for r in ranks), 3),
    }


def by_author(
    asked: Sequence[Mapping[str, Any]], types: Sequence[str], k: int = 10
) -> dict[str, dict[str, Any]]:
    """Per author set, in order of first appearance, of per-question results (`type`,
    `rank`, `author`; a result without `author` is of the first set): `summarise` per
    answerable type, the count of the unanswerable ones, and `overall` over the
    answerable types."""
    authors = dict.fromkeys(str(a.get("author", "first")) for a in asked)
    split: dict[str, dict[str, Any]] = {}
    for author in authors:
        mine = [a for a in asked if a.get("author", "first") == author]
        split[author] = {
            "by_type": {
                kind: summarise([a["rank"] for a in mine if a["type"] == kind], k)
                if kind != "unanswerable"
                else {"questions": sum(a["type"] == kind for a in mine)}
                for kind in types
            },
            "overall": summarise([a["rank"] for a in mine if a["type"] != "unanswerable"], k),
        }
    return split

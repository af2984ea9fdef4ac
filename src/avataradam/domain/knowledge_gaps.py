"""The rules of knowledge gaps, free of storage: which answers are gaps, and which gap
a question joins.

What counts as a gap (`classify_reply`, `classify_rating`), for training answers only:

- `no_material`: no retrieved passage reached the chat relevance floor
  (`chat.relevance_floor`, the floor measured per embedder in `entrypoints/options.py`),
  so Adam refused without asking a model.
- `weak_material`: passages reached the floor, yet the citation check found no sentence
  of the reply supported by them (`Message.grounded` is false). No second score band
  above the floor is used: the measurements behind the floor show the best scores of
  answerable and unanswerable near-topic questions overlapping (MiniLM p50 0.58 vs
  0.42; e5 answerable from 0.816, unanswerable 0.795-0.885), so a band would mislabel
  answered questions; whether the reply could be grounded is the sharper signal.
- `thumbs_down` / `reported_inaccurate`: the asker rated the answer down, without or
  with a reason.

Grouping (`nearest`): a question joins the gap whose centroid (the normalised sum of its
questions' vectors) is most similar to it, if that cosine reaches the threshold measured
for the embedder (`entrypoints/knowledge_gaps.py`), else it opens a gap of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from avataradam.domain.model import FeedbackRating
from avataradam.domain.model.knowledge_gaps import (
    MAX_GAP_QUESTION_CHARS,
    GapCentroid,
    GapReason,
)


def classify_reply(*, training: bool, material: bool, grounded: bool | None) -> GapReason | None:
    """The gap a stored reply is, if any. `material`: some passage reached the relevance
    floor (the prompt had passages); `grounded`: the reply's citation check."""
    if not training:
        return None
    if not material:
        return GapReason.NO_MATERIAL
    if grounded is False:
        return GapReason.WEAK_MATERIAL
    return None


def classify_rating(rating: FeedbackRating, reason: str | None) -> GapReason | None:
    """The gap a rating makes of its answer: a thumbs down, `reported_inaccurate` when it
    says why; None for a thumbs up."""
    if rating is not FeedbackRating.DOWN:
        return None
    return GapReason.REPORTED_INACCURATE if reason else GapReason.THUMBS_DOWN


def question_text(text: str) -> str:
    """A question as stored: whitespace collapsed, cut to `MAX_GAP_QUESTION_CHARS`."""
    collapsed = " ".join(text.split())
    if len(collapsed) <= MAX_GAP_QUESTION_CHARS:
        return collapsed
    return collapsed[: MAX_GAP_QUESTION_CHARS - 1].rstrip() + "…"


def _norm(vector: Sequence[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; 0 when either vector is zero or their lengths differ."""
    if len(a) != len(b):
        return 0.0
    norms = _norm(a) * _norm(b)
    return 0.0 if norms == 0 else sum(x * y for x, y in zip(a, b, strict=True)) / norms


def nearest(
    vector: Sequence[float], gaps: Sequence[GapCentroid], threshold: float
) -> tuple[GapCentroid, float] | None:
    """The gap whose centroid is most similar to `vector` (ties: the first) with the
    cosine, if it reaches `threshold`; None: the question opens a gap."""
    best: tuple[GapCentroid, float] | None = None
    for gap in gaps:
        similarity = cosine(vector, gap.centroid)
        if best is None or similarity > best[1]:
            best = (gap, similarity)
    return best if best is not None and best[1] >= threshold else None


def add_to_centroid(centroid: Sequence[float], vector: Sequence[float]) -> tuple[float, ...]:
    return tuple(c + v for c, v in zip(centroid, vector, strict=True))


def representative(
    centroid: Sequence[float], members: Sequence[tuple[str, Sequence[float]]]
) -> str | None:
    """The member question nearest the centroid (a gap's title); None without members."""
    best = max(members, key=lambda member: cosine(member[1], centroid), default=None)
    return None if best is None else best[0]

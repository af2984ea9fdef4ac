"""The scorecard of a completed roleplay session (DESIGN "The training product")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from avataradam.domain.model.scorecards import StoredScorecard


class EvidenceOut(msgspec.Struct, frozen=True):
    message_id: str
    """The trainee's message quoted."""
    quote: str
    """A verbatim substring of that message, verified before it was stored."""


class CheckOut(msgspec.Struct, frozen=True):
    id: str
    passed: bool
    evidence: list[EvidenceOut]
    applicable: bool = True
    """False: the check did not apply to this session (never counted)."""


class WordingSourceOut(msgspec.Struct, frozen=True):
    document_id: UUID
    filename: str
    chunk_id: str
    page: int | None = None
    section: str | None = None


class CriterionOut(msgspec.Struct, frozen=True):
    id: str
    title: str
    verdict: Literal["met", "partly", "missed", "not_applicable"]
    """Good / Fair / Poor: `met` / `partly` / `missed`."""
    score: int
    """Share of the applicable checks passed, 0-100."""
    checks: list[CheckOut]
    advice: str | None = None
    blocker: bool = False
    """A compliance criterion: one failed check fails the session whatever the score."""
    suggested_wording: str | None = None
    """Missed or partly met: what the dealership's own playbook, objection-handling or
    compliance documents say (their text, never generated); null when they hold nothing
    relevant."""
    sources: list[WordingSourceOut] = msgspec.field(default_factory=list)
    """The passage `suggested_wording` was drawn from."""


class RubricRefOut(msgspec.Struct, frozen=True):
    id: str
    version: int


class FallbackOut(msgspec.Struct, frozen=True):
    id: str
    reason: str
    """Why `rules` decided this check instead of the judge: `invalid_output`,
    `missing`, `unverified_quote`, `customer_words`, `no_evidence`,
    `not_applicable_claim` or `blocker_upheld` (docs/llm-judge.md)."""


class ScorerOut(msgspec.Struct, frozen=True):
    kind: Literal["rules", "llm"]
    model: str | None = None
    judged: list[str] = msgspec.field(default_factory=list)
    """`llm`: the checks the judge decided (once scored)."""
    fell_back: list[FallbackOut] = msgspec.field(default_factory=list)
    """`llm`: the checks `rules` decided instead, with the reason."""


class ScorecardErrorOut(msgspec.Struct, frozen=True):
    code: str
    message: str


class ScorecardOut(msgspec.Struct, frozen=True):
    conversation_id: UUID
    status: Literal["pending", "scored", "failed"]
    overall: int | None
    """0-100 once `scored`; null before."""
    passed: bool | None
    """No blocker failed and `overall` at least the pass mark (70); null before `scored`."""
    blockers_failed: list[str]
    criteria: list[CriterionOut]
    keep: list[str]
    start: list[str]
    stop: list[str]
    rubric: RubricRefOut
    """The rubric version frozen on the session when it was completed."""
    scorer: ScorerOut
    attempts: int
    created_at: datetime
    scored_at: datetime | None = None
    error: ScorecardErrorOut | None = None
    """Why scoring gave up (`failed`)."""


def scorecard_out(card: StoredScorecard) -> ScorecardOut:
    """The response body of a stored scorecard; pending and failed ones have no result."""
    body = card.body
    criteria = (
        []
        if body is None
        else [msgspec.convert(c, CriterionOut, from_attributes=True) for c in body.criteria]
    )
    return ScorecardOut(
        conversation_id=card.conversation_id,
        status=card.status.value,
        overall=None if body is None else body.overall,
        passed=None if body is None else body.passed,
        blockers_failed=[] if body is None else list(body.blockers_failed),
        criteria=criteria,
        keep=[] if body is None else list(body.keep),
        start=[] if body is None else list(body.start),
        stop=[] if body is None else list(body.stop),
        rubric=RubricRefOut(id=card.rubric_id, version=card.rubric_version),
        scorer=ScorerOut(
            kind=card.scorer_kind,
            model=card.scorer_model if body is None else body.scorer.model or card.scorer_model,
            judged=[] if body is None else list(body.scorer.judged),
            fell_back=[]
            if body is None
            else [FallbackOut(id=f.id, reason=f.reason) for f in body.scorer.fell_back],
        ),
        attempts=card.attempts,
        created_at=card.created_at,
        scored_at=card.scored_at,
        error=None
        if card.error_code is None
        else ScorecardErrorOut(code=card.error_code, message=card.error_message or ""),
    )

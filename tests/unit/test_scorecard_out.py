"""The scorecard's response body says which checks an `llm` judge decided and which
fell back to `rules`, after the scorecard went through storage (JSON)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec

from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard
from avataradam.domain.training.rubrics import RubricRef
from avataradam.domain.training.scorecard import (
    CheckResult,
    CriterionResult,
    Fallback,
    Scorecard,
    ScorerRef,
)
from avataradam.entrypoints.http.schemas.scorecards import scorecard_out

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def stored(body: Scorecard | None) -> StoredScorecard:
    return StoredScorecard(
        conversation_id=uuid.uuid4(),
        dealership_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        status=ScorecardStatus.PENDING if body is None else ScorecardStatus.SCORED,
        rubric_id="fi-office",
        rubric_version=1,
        scorer_kind="llm",
        body=body,
        created_at=NOW,
        updated_at=NOW,
    )


def test_an_llm_scorecard_answers_what_the_judge_decided_and_what_fell_back() -> None:
    judge = ScorerRef(
        kind="llm",
        model="qwen2.5-1.5b-instruct",
        judged=("asked_mileage",),
        fell_back=(Fallback(id="stated_optional", reason="unverified_quote"),),
    )
    body = Scorecard(
        overall=50,
        passed=False,
        blockers_failed=(),
        criteria=(
            CriterionResult(
                id="discovery",
                title="Discovery",
                verdict="partly",
                score=50,
                checks=(CheckResult(id="asked_mileage", passed=True),),
            ),
        ),
        keep=(),
        start=(),
        stop=(),
        rubric=RubricRef(id="fi-office", version=1),
        scorer=judge,
    )
    kept = msgspec.json.decode(msgspec.json.encode(body), type=Scorecard)  # as stored

    out = msgspec.to_builtins(scorecard_out(stored(kept)))
    pending = msgspec.to_builtins(scorecard_out(stored(None)))

    assert out["scorer"] == {
        "kind": "llm",
        "model": "qwen2.5-1.5b-instruct",
        "judged": ["asked_mileage"],
        "fell_back": [{"id": "stated_optional", "reason": "unverified_quote"}],
    }
    assert pending["scorer"] == {"kind": "llm", "model": None, "judged": [], "fell_back": []}

"""The scorecard of a completed roleplay session, as stored (issue 17).

A session completed by its trainee gets exactly one `StoredScorecard`: `pending` until
the `score_conversation` task stores the scorer's answer (`scored`) or gives up
(`failed`, its error kept). The rubric version and the scorer are frozen on it at
completion; a rescore runs again with them (or, asked explicitly, with the rubric's
latest version). Leases work as documents' (`domain/model/documents.py`): a run holds a
`pending` scorecard under `lease_token` until `lease_expires_at`; with no holder,
`lease_expires_at` is when the reconciler re-drives it.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec

from avataradam.domain.training.rubrics import RubricRef
from avataradam.domain.training.scorecard import Scorecard, ScorerRef

ScorerKind = Literal["rules", "llm"]


class ScorecardStatus(enum.StrEnum):
    PENDING = "pending"
    SCORED = "scored"
    FAILED = "failed"


class StoredScorecard(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: UUID
    dealership_id: UUID
    user_id: UUID
    """The trainee (the conversation's owner)."""
    status: ScorecardStatus
    rubric_id: str
    rubric_version: int
    scorer_kind: ScorerKind
    scorer_model: str | None = None
    body: Scorecard | None = None
    """The scorer's answer; set exactly when `scored`."""
    attempts: int = 0
    lease_token: UUID | None = None
    lease_expires_at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    created_at: datetime
    updated_at: datetime
    scored_at: datetime | None = None

    @property
    def rubric(self) -> RubricRef:
        return RubricRef(id=self.rubric_id, version=self.rubric_version)

    @property
    def scorer(self) -> ScorerRef:
        return ScorerRef(kind=self.scorer_kind, model=self.scorer_model)

    def held_by(self, token: UUID) -> bool:
        """Whether the run `token` holds this pending scorecard (lapsed or not)."""
        return self.status is ScorecardStatus.PENDING and self.lease_token == token

    def scored(self, body: Scorecard, *, now: datetime) -> StoredScorecard:
        return msgspec.structs.replace(
            self,
            status=ScorecardStatus.SCORED,
            body=body,
            lease_token=None,
            lease_expires_at=None,
            error_code=None,
            error_message=None,
            updated_at=now,
            scored_at=now,
        )

    def failed(self, *, code: str, message: str, now: datetime) -> StoredScorecard:
        return msgspec.structs.replace(
            self,
            status=ScorecardStatus.FAILED,
            body=None,
            lease_token=None,
            lease_expires_at=None,
            error_code=code,
            error_message=message,
            updated_at=now,
        )

    def released(self, *, until: datetime, now: datetime) -> StoredScorecard:
        """Pending with no holder, re-driven at `until` unless a run takes it first."""
        return msgspec.structs.replace(
            self, lease_token=None, lease_expires_at=until, updated_at=now
        )

    def requeued(
        self, *, rubric: RubricRef, scorer: ScorerRef, now: datetime, redrive_after: timedelta
    ) -> StoredScorecard:
        """Pending again for a rescore with `rubric` and `scorer` (its last answer gone)."""
        return msgspec.structs.replace(
            self,
            status=ScorecardStatus.PENDING,
            rubric_id=rubric.id,
            rubric_version=rubric.version,
            scorer_kind=scorer.kind,
            scorer_model=scorer.model,
            body=None,
            attempts=0,
            lease_token=None,
            lease_expires_at=now + redrive_after,
            error_code=None,
            error_message=None,
            updated_at=now,
            scored_at=None,
        )

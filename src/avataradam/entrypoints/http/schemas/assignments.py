"""Bodies of assignments: practice a dealership admin assigns, with each assignee's
progress (`domain/model/assignments.py` derives it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from avataradam.domain.model.assignments import (
    MAX_ASSIGNEES,
    MAX_MIN_ATTEMPTS,
    MAX_NOTE_CHARS,
    AssignmentStatus,
)
from avataradam.entrypoints.http.schemas.common import DealershipId

DueAt = Annotated[
    datetime,
    msgspec.Meta(
        tz=True,
        description="RFC 3339 with an offset; must lie in the future.",
        examples=["2026-12-15T17:00:00Z"],
    ),
]
MinScore = Annotated[
    int,
    msgspec.Meta(
        ge=0, le=100, description="The best passing session's `overall` must reach it (0-100)."
    ),
]
MinAttempts = Annotated[
    int,
    msgspec.Meta(ge=1, le=MAX_MIN_ATTEMPTS, description="Scored sessions needed (at least 1)."),
]
Note = Annotated[str, msgspec.Meta(max_length=MAX_NOTE_CHARS)]


class AssignmentCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    scenario_id: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=100,
            examples=["gap_negative_equity"],
            description="A built-in's slug or an own scenario's UUID (GET /v1/scenarios).",
        ),
    ]
    assignee_ids: Annotated[list[UUID], msgspec.Meta(max_length=MAX_ASSIGNEES)] = msgspec.field(
        default_factory=list
    )
    """Active users of the dealership; or `everyone: true` instead."""
    everyone: bool = False
    """Every active user of the dealership now (users added later are not assigned)."""
    due_at: DueAt
    min_score: MinScore
    min_attempts: MinAttempts = 1
    note: Note | None = None
    dealership_id: DealershipId | None = None


class AssignmentUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Absent fields are kept; `note: ""` clears the note."""

    due_at: DueAt | None = None
    min_score: MinScore | None = None
    min_attempts: MinAttempts | None = None
    note: Note | None = None


class AssigneeOut(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    status: AssignmentStatus
    """`done` once `attempts >= min_attempts` and `best_passing_score >= min_score` (and
    from then on); else `overdue` past `due_at`, else `open`."""
    attempts: int
    """Scored sessions started with this assignment (late ones included)."""
    best_score: int | None
    """The best `overall` of those sessions (null: none scored yet)."""
    best_passing_score: int | None
    """The best `overall` of those that failed no compliance blocker."""
    completed_at: datetime | None
    """When the assignee became done (after `due_at`: late)."""


class AssignmentOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    dealership_id: UUID
    scenario_id: str
    due_at: datetime
    min_score: int
    min_attempts: int
    note: str | None
    everyone: bool
    created_by: UUID
    created_at: datetime
    updated_at: datetime
    assignees: list[AssigneeOut]
    """An admin: every assignee. A trainee: their own progress only."""

"""Assignments: practice a dealership admin asks of its users (issue 18).

An `Assignment` names a scenario, a due date, a minimum score and a minimum number of
attempts; its assignees are fixed when it is created (`everyone` is materialised then:
users added later are not assigned). An assignee's progress is derived from the
scorecards of their roleplay sessions started with the assignment's id, never guessed:

- `attempts`: their scored sessions (a pending or failed scorecard is no attempt);
- `best_score`: the highest `overall` among them; `best_passing_score`: the highest
  among those that failed no compliance blocker (`blockers_failed` empty; the
  scorecard's own `passed` also asks for 70, the assignment's bar is `min_score`);
- **done** once `attempts >= min_attempts` and `best_passing_score >= min_score`: a
  session that failed a blocker counts as an attempt but never completes an
  assignment, whatever its score. Sessions scored after `due_at` count (a late
  completion is still a completion: `completed_at > due_at` shows it). A done assignee
  stays done (`completed_at` is recorded, with the `assignment.completed` event, in the
  transaction that made them done), even if a rescore or a raised bar would no longer
  qualify them;
- **overdue** when not done and `now > due_at`; else **open**.
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import msgspec

MAX_NOTE_CHARS = 2000
MAX_ASSIGNEES = 500
"""Assignees named one by one; `everyone` takes every active user whatever their number."""
MAX_MIN_ATTEMPTS = 100


class AssignmentStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    OVERDUE = "overdue"


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    dealership_id: UUID
    scenario_id: str
    """As the API names a scenario: a built-in's slug or an own scenario's UUID."""
    due_at: datetime
    min_score: int
    """0-100, compared with the best passing session's `overall`."""
    min_attempts: int
    note: str | None = None
    everyone: bool = False
    """Created for every active user of the dealership (as they were then)."""
    created_by: UUID
    created_at: datetime
    updated_at: datetime

    def meets(self, *, attempts: int, best_passing_score: int | None) -> bool:
        """Whether progress of `attempts` scored sessions, the best passing one scoring
        `best_passing_score` (None: each failed a blocker), completes this assignment."""
        return (
            attempts >= self.min_attempts
            and best_passing_score is not None
            and best_passing_score >= self.min_score
        )


class AssigneeProgress(msgspec.Struct, frozen=True, kw_only=True):
    """One assignee's progress, as derived from their scorecards (module docstring)."""

    assignment_id: UUID
    user_id: UUID
    attempts: int = 0
    best_score: int | None = None
    best_passing_score: int | None = None
    completed_at: datetime | None = None
    """When they became done (recorded with `assignment.completed`); None: not done."""
    overdue_notified_at: datetime | None = None

    def status(self, assignment: Assignment, now: datetime) -> AssignmentStatus:
        if self.completed_at is not None or assignment.meets(
            attempts=self.attempts, best_passing_score=self.best_passing_score
        ):
            return AssignmentStatus.DONE
        if now > assignment.due_at:
            return AssignmentStatus.OVERDUE
        return AssignmentStatus.OPEN


class AssignmentView(msgspec.Struct, frozen=True, kw_only=True):
    """An assignment with the progress of the assignees its reader may see: every one
    for an admin, the reader's own for a trainee."""

    assignment: Assignment
    assignees: tuple[AssigneeProgress, ...]
    as_of: datetime
    """When it was read: each assignee's status is as of then."""

    @property
    def id(self) -> UUID:
        """The assignment's (lists page views by their assignment's key)."""
        return self.assignment.id

    @property
    def created_at(self) -> datetime:
        return self.assignment.created_at

"""Persistence port of assignments and their assignees (migration 0020)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from avataradam.domain.model.assignments import AssigneeProgress, Assignment
from avataradam.domain.pagination import Cursor


class AssignmentRepository(Protocol):
    """Assignments keyed by UUID, paged by (created_at, id), each with its assignees.

    Progress is derived from the scorecards of the sessions started with the
    assignment (`domain/model/assignments.py`); only `completed_at` and
    `overdue_notified_at` of an assignee are stored, each written once by a
    conditional update so that its event is recorded exactly once however many
    transactions race for it.
    """

    async def add(self, assignment: Assignment, user_ids: Sequence[UUID]) -> None:
        """Stores the assignment and one assignee per id (ids are checked before)."""
        ...

    async def active_members(
        self, dealership_id: UUID, user_ids: Sequence[UUID] | None = None
    ) -> list[UUID]:
        """Ids of the dealership's active users (no super admin), oldest first; with
        `user_ids`, only those among them."""
        ...

    async def get(self, assignment_id: UUID, *, dealership_id: UUID | None) -> Assignment | None:
        """The assignment when it is `dealership_id`'s (None: any dealership's)."""
        ...

    async def update(self, assignment: Assignment, *, rearm_overdue: bool) -> None:
        """Writes `due_at`, `min_score`, `min_attempts`, `note` and `updated_at`;
        `rearm_overdue` clears every assignee's `overdue_notified_at` (a new due date
        gets its own reminder). NotFound when it is gone."""
        ...

    async def delete(self, assignment_id: UUID, *, dealership_id: UUID) -> bool:
        """Removes it with its assignees; False when there is none."""
        ...

    async def list_page(
        self,
        *,
        dealership_id: UUID,
        assignee_id: UUID | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Assignment]:
        """The dealership's assignments (with `assignee_id`: those assigned to that
        user), oldest first, after `cursor`."""
        ...

    async def progress(
        self, assignment_ids: Sequence[UUID], *, user_id: UUID | None = None
    ) -> list[AssigneeProgress]:
        """Every assignee's progress on each of `assignment_ids` (with `user_id`: that
        assignee's only), by assignment then user id."""
        ...

    async def record_completions(
        self, assignment_id: UUID, *, user_ids: Sequence[UUID] | None, at: datetime
    ) -> list[AssigneeProgress]:
        """Sets `completed_at = at` for each assignee (`user_ids`, None: all) not yet
        done whose progress now meets the assignment, and answers them. Their rows are
        locked before progress is read, so two transactions each storing a scorecard
        of the same assignee never both miss (nor both record) the completion."""
        ...

    async def remind_overdue(
        self, *, now: datetime, limit: int
    ) -> list[tuple[Assignment, AssigneeProgress]]:
        """Sets `overdue_notified_at = now` for up to `limit` assignees not done, not
        reminded and past their assignment's `due_at`, and answers them: a row is
        taken by one transaction only (many workers run this at once)."""
        ...

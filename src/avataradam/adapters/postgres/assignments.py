"""Assignments and their assignees in PostgreSQL (migration 0020).

Progress is one aggregate over the assignee's sessions of the assignment
(`conversations_assignment_idx`) and their scorecards (by primary key): scored ones
count, `body.overall` gives the scores and `body.blockers_failed` whether one passed
its compliance blockers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from avataradam.adapters.postgres.errors import affected_rows, translate
from avataradam.adapters.postgres.rows import (
    ConnectionRepository,
    columns,
    insert,
    page_after,
    page_params,
    params,
    select,
)
from avataradam.domain.model.assignments import AssigneeProgress, Assignment
from avataradam.domain.pagination import Cursor

_ASSIGNMENT = columns(
    "id, dealership_id, scenario_id, due_at, min_score, min_attempts, note, everyone,"
    " created_by, created_at, updated_at"
)
_SELECT = select("assignments", _ASSIGNMENT)
_INSERT = insert("assignments", _ASSIGNMENT)

_PROGRESS = (
    "SELECT aa.assignment_id, aa.user_id, aa.completed_at, aa.overdue_notified_at,"
    " count(s.conversation_id)::int AS attempts,"
    " max((s.body->>'overall')::int) AS best_score,"
    " max((s.body->>'overall')::int)"
    " FILTER (WHERE jsonb_array_length(s.body->'blockers_failed') = 0)"
    " AS best_passing_score"
    " FROM assignment_assignees aa"
    " LEFT JOIN conversations c ON c.assignment_id = aa.assignment_id AND c.user_id = aa.user_id"
    " LEFT JOIN scorecards s ON s.conversation_id = c.id AND s.status = 'scored'"
    " WHERE aa.assignment_id = ANY($1::uuid[]) AND ($2::uuid[] IS NULL OR aa.user_id = ANY($2))"
    " GROUP BY aa.assignment_id, aa.user_id"
)
_RECORD_COMPLETIONS = (
    f"WITH p AS ({_PROGRESS})"  # noqa: S608 -- our names
    " UPDATE assignment_assignees aa SET completed_at = $3 FROM assignments a, p"
    " WHERE aa.assignment_id = ANY($1::uuid[]) AND a.id = aa.assignment_id"
    " AND p.assignment_id = aa.assignment_id AND p.user_id = aa.user_id"
    " AND aa.completed_at IS NULL"
    " AND p.attempts >= a.min_attempts AND p.best_passing_score >= a.min_score"
    " RETURNING aa.assignment_id, aa.user_id, aa.completed_at, aa.overdue_notified_at,"
    " p.attempts, p.best_score, p.best_passing_score"
)
_REMIND_OVERDUE = (
    "WITH due AS ("
    " SELECT aa.assignment_id, aa.user_id FROM assignment_assignees aa"
    " JOIN assignments a ON a.id = aa.assignment_id"
    " WHERE a.due_at < $1 AND aa.completed_at IS NULL AND aa.overdue_notified_at IS NULL"
    " ORDER BY a.due_at, aa.assignment_id, aa.user_id LIMIT $2"
    " FOR UPDATE OF aa SKIP LOCKED)"
    " UPDATE assignment_assignees aa SET overdue_notified_at = $1 FROM due"
    " WHERE aa.assignment_id = due.assignment_id AND aa.user_id = due.user_id"
    " AND aa.completed_at IS NULL AND aa.overdue_notified_at IS NULL"
    " RETURNING aa.assignment_id, aa.user_id"
)


class PostgresAssignmentRepository(ConnectionRepository):
    @translate
    async def add(self, assignment: Assignment, user_ids: Sequence[UUID]) -> None:
        await self._conn.execute(_INSERT, *params(assignment, _ASSIGNMENT))
        await self._conn.execute(
            "INSERT INTO assignment_assignees (assignment_id, user_id, dealership_id, created_at)"
            " SELECT $1, u, $2, $3 FROM unnest($4::uuid[]) AS u",
            assignment.id,
            assignment.dealership_id,
            assignment.created_at,
            list(user_ids),
        )

    @translate
    async def active_members(
        self, dealership_id: UUID, user_ids: Sequence[UUID] | None = None
    ) -> list[UUID]:
        rows = await self._conn.fetch(
            "SELECT id FROM users WHERE dealership_id = $1 AND active"
            " AND ($2::uuid[] IS NULL OR id = ANY($2)) ORDER BY created_at, id",
            dealership_id,
            None if user_ids is None else list(user_ids),
        )
        return [row["id"] for row in rows]

    @translate
    async def get(self, assignment_id: UUID, *, dealership_id: UUID | None) -> Assignment | None:
        return await self._one(
            Assignment,
            f"{_SELECT} WHERE id = $1 AND ($2::uuid IS NULL OR dealership_id = $2)",
            assignment_id,
            dealership_id,
        )

    @translate
    async def update(self, assignment: Assignment, *, rearm_overdue: bool) -> None:
        await self._update_one(
            "UPDATE assignments SET due_at = $2, min_score = $3, min_attempts = $4,"
            " note = $5, updated_at = $6 WHERE id = $1",
            params(assignment, columns("id, due_at, min_score, min_attempts, note, updated_at")),
            "assignment",
        )
        if rearm_overdue:
            await self._conn.execute(
                "UPDATE assignment_assignees SET overdue_notified_at = NULL"
                " WHERE assignment_id = $1 AND overdue_notified_at IS NOT NULL",
                assignment.id,
            )

    @translate
    async def delete(self, assignment_id: UUID, *, dealership_id: UUID) -> bool:
        status = await self._conn.execute(
            "DELETE FROM assignments WHERE id = $1 AND dealership_id = $2",
            assignment_id,
            dealership_id,
        )
        return affected_rows(status) == 1

    @translate
    async def list_page(
        self,
        *,
        dealership_id: UUID,
        assignee_id: UUID | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Assignment]:
        return await self._all(
            Assignment,
            f"{_SELECT} WHERE dealership_id = $1 AND ($2::uuid IS NULL OR EXISTS ("  # noqa: S608
            " SELECT 1 FROM assignment_assignees aa"
            " WHERE aa.assignment_id = assignments.id AND aa.user_id = $2))"
            f" AND {page_after(3, cursor)}",
            dealership_id,
            assignee_id,
            *page_params(cursor, limit),
        )

    @translate
    async def progress(
        self, assignment_ids: Sequence[UUID], *, user_id: UUID | None = None
    ) -> list[AssigneeProgress]:
        return await self._all(
            AssigneeProgress,
            f"{_PROGRESS} ORDER BY aa.assignment_id, aa.user_id",
            list(assignment_ids),
            None if user_id is None else [user_id],
        )

    @translate
    async def record_completions(
        self, assignment_id: UUID, *, user_ids: Sequence[UUID] | None, at: datetime
    ) -> list[AssigneeProgress]:
        users = None if user_ids is None else list(user_ids)
        # Lock first: the UPDATE below then reads, in a snapshot of its own, every
        # scorecard committed by a transaction that held these rows before us.
        await self._conn.execute(
            "SELECT 1 FROM assignment_assignees WHERE assignment_id = $1"
            " AND ($2::uuid[] IS NULL OR user_id = ANY($2)) AND completed_at IS NULL"
            " ORDER BY user_id FOR UPDATE",
            assignment_id,
            users,
        )
        return await self._all(AssigneeProgress, _RECORD_COMPLETIONS, [assignment_id], users, at)

    @translate
    async def remind_overdue(
        self, *, now: datetime, limit: int
    ) -> list[tuple[Assignment, AssigneeProgress]]:
        taken = await self._conn.fetch(_REMIND_OVERDUE, now, limit)
        if not taken:
            return []
        ids = sorted({row["assignment_id"] for row in taken})
        assignments = {
            a.id: a for a in await self._all(Assignment, f"{_SELECT} WHERE id = ANY($1)", ids)
        }
        wanted = {(row["assignment_id"], row["user_id"]) for row in taken}
        rows = await self.progress(ids)
        return [
            (assignments[p.assignment_id], p)
            for p in rows
            if (p.assignment_id, p.user_id) in wanted
        ]

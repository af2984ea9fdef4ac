"""In-memory twin of the assignment repository; see `adapters/postgres/assignments.py`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.adapters.memory.rows import insert, page, require
from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.domain.errors import NotFound
from avataradam.domain.model.assignments import AssigneeProgress, Assignment
from avataradam.domain.model.scorecards import ScorecardStatus
from avataradam.domain.pagination import Cursor


def _progress(t: Tables, stored: AssigneeProgress) -> AssigneeProgress:
    """`stored` (the assignee row) with its progress derived from the scorecards."""
    scored = [
        card.body
        for conversation in t.conversations.values()
        if conversation.assignment_id == stored.assignment_id
        and conversation.user_id == stored.user_id
        and (card := t.scorecards.get(conversation.id)) is not None
        and card.status is ScorecardStatus.SCORED
        and card.body is not None
    ]
    passing = [body.overall for body in scored if not body.blockers_failed]
    return msgspec.structs.replace(
        stored,
        attempts=len(scored),
        best_score=max((body.overall for body in scored), default=None),
        best_passing_score=max(passing, default=None),
    )


class InMemoryAssignmentRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, assignment: Assignment, user_ids: Sequence[UUID]) -> None:
        def op(t: Tables) -> None:
            require(t.dealerships, assignment.dealership_id, "dealership")
            for user_id in user_ids:
                require(t.users, user_id, "user")
            insert(t.assignments, assignment.id, assignment)
            for user_id in user_ids:
                key = (assignment.id, user_id)
                t.assignees[key] = AssigneeProgress(assignment_id=assignment.id, user_id=user_id)

        self._tx.write(op)

    async def active_members(
        self, dealership_id: UUID, user_ids: Sequence[UUID] | None = None
    ) -> list[UUID]:
        wanted = None if user_ids is None else set(user_ids)
        members = sorted(
            (
                u
                for u in self._tx.tables.users.values()
                if u.dealership_id == dealership_id
                and u.active
                and (wanted is None or u.id in wanted)
            ),
            key=lambda u: (u.created_at, u.id),
        )
        return [u.id for u in members]

    async def get(self, assignment_id: UUID, *, dealership_id: UUID | None) -> Assignment | None:
        found = self._tx.tables.assignments.get(assignment_id)
        if found is None or dealership_id not in (None, found.dealership_id):
            return None
        return found

    async def update(self, assignment: Assignment, *, rearm_overdue: bool) -> None:
        def op(t: Tables) -> None:
            current = t.assignments.get(assignment.id)
            if current is None:
                raise NotFound("assignment not found")
            t.assignments[assignment.id] = msgspec.structs.replace(
                current,
                due_at=assignment.due_at,
                min_score=assignment.min_score,
                min_attempts=assignment.min_attempts,
                note=assignment.note,
                updated_at=assignment.updated_at,
            )
            if rearm_overdue:
                for key, row in list(t.assignees.items()):
                    if key[0] == assignment.id:
                        t.assignees[key] = msgspec.structs.replace(row, overdue_notified_at=None)

        self._tx.write(op)

    async def delete(self, assignment_id: UUID, *, dealership_id: UUID) -> bool:
        def op(t: Tables) -> bool:
            found = t.assignments.get(assignment_id)
            if found is None or found.dealership_id != dealership_id:
                return False
            del t.assignments[assignment_id]
            for key in [k for k in t.assignees if k[0] == assignment_id]:
                del t.assignees[key]
            for conversation in list(t.conversations.values()):
                if conversation.assignment_id == assignment_id:
                    t.conversations[conversation.id] = msgspec.structs.replace(
                        conversation, assignment_id=None
                    )
            return True

        return self._tx.write(op, replay_must_agree=True)

    async def list_page(
        self,
        *,
        dealership_id: UUID,
        assignee_id: UUID | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Assignment]:
        t = self._tx.tables
        rows = [
            a
            for a in t.assignments.values()
            if a.dealership_id == dealership_id
            and (assignee_id is None or (a.id, assignee_id) in t.assignees)
        ]
        return page(rows, lambda a: (a.created_at, a.id), cursor, limit)

    async def progress(
        self, assignment_ids: Sequence[UUID], *, user_id: UUID | None = None
    ) -> list[AssigneeProgress]:
        t = self._tx.tables
        wanted = set(assignment_ids)
        return [
            _progress(t, row)
            for key, row in sorted(t.assignees.items(), key=lambda item: item[0])
            if key[0] in wanted and user_id in (None, key[1])
        ]

    async def record_completions(
        self, assignment_id: UUID, *, user_ids: Sequence[UUID] | None, at: datetime
    ) -> list[AssigneeProgress]:
        def op(t: Tables) -> list[AssigneeProgress]:
            assignment = t.assignments.get(assignment_id)
            if assignment is None:
                return []
            done: list[AssigneeProgress] = []
            for key, row in sorted(t.assignees.items(), key=lambda item: item[0]):
                if key[0] != assignment_id or row.completed_at is not None:
                    continue
                if user_ids is not None and key[1] not in user_ids:
                    continue
                progress = _progress(t, row)
                if assignment.meets(
                    attempts=progress.attempts, best_passing_score=progress.best_passing_score
                ):
                    t.assignees[key] = msgspec.structs.replace(row, completed_at=at)
                    done.append(msgspec.structs.replace(progress, completed_at=at))
            return done

        return self._tx.write(op, replay_must_agree=True)

    async def remind_overdue(
        self, *, now: datetime, limit: int
    ) -> list[tuple[Assignment, AssigneeProgress]]:
        def op(t: Tables) -> list[tuple[Assignment, AssigneeProgress]]:
            due = sorted(
                (
                    (t.assignments[key[0]], row)
                    for key, row in t.assignees.items()
                    if t.assignments[key[0]].due_at < now
                    and row.completed_at is None
                    and row.overdue_notified_at is None
                ),
                key=lambda pair: (pair[0].due_at, pair[1].assignment_id, pair[1].user_id),
            )[:limit]
            taken: list[tuple[Assignment, AssigneeProgress]] = []
            for assignment, row in due:
                reminded = msgspec.structs.replace(row, overdue_notified_at=now)
                t.assignees[(row.assignment_id, row.user_id)] = reminded
                taken.append((assignment, _progress(t, reminded)))
            return taken

        return self._tx.write(op, replay_must_agree=True)

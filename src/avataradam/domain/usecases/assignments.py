"""Assignments (issue 18): dealership admins write them, each assignee reads their own.

Rules (`domain/model/assignments.py` derives progress and status):
- created by a dealership admin (or a super admin naming the dealership) for
  `assignee_ids` (active users of the dealership; any other id, another dealership's
  included, is InvalidInput naming it, never silently dropped) or `everyone` (the
  dealership's active users at that moment; users added later are not assigned);
  `due_at` must lie in the future; the scenario must be one the dealership sees
  (a built-in or its own; else NotFound, as when starting a roleplay);
- read by an admin of the dealership with every assignee's progress, by an assignee
  with their own only; anyone else gets NotFound;
- changed (due date, bar, note) and deleted by an admin. A changed due date re-arms
  the overdue reminder; a lowered bar completes, and announces, the assignees it now
  lets through, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.errors import InvalidInput, NotFound, PermissionDenied
from avataradam.domain.idempotency import Answer, IdempotentRequest, first_answer
from avataradam.domain.model import Role
from avataradam.domain.model.assignments import Assignment, AssignmentView
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.usecases.assignment_events import (
    RemindOverdueAssignments,
    record_completions,
)
from avataradam.domain.usecases.scenario_rules import find_scenario

_ADMINS = (Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)


class AssignmentDraft(msgspec.Struct, frozen=True, kw_only=True):
    scenario_id: str
    assignee_ids: tuple[UUID, ...] = ()
    everyone: bool = False
    due_at: datetime
    min_score: int
    min_attempts: int = 1
    note: str | None = None
    dealership_id: UUID | None = None


class AssignmentChanges(msgspec.Struct, frozen=True, kw_only=True):
    """None: keep. `note=""` clears the note."""

    due_at: datetime | None = None
    min_score: int | None = None
    min_attempts: int | None = None
    note: str | None = None


def _is_admin(principal: Principal) -> bool:
    return principal.role in _ADMINS


def _scope(principal: Principal, dealership_id: UUID | None) -> UUID | None:
    """A super admin without `dealership_id` reaches any dealership's (None)."""
    if principal.is_super_admin and dealership_id is None:
        return None
    return dealership_scope(principal, dealership_id)


def _future(due_at: datetime, now: datetime) -> datetime:
    if due_at <= now:
        raise InvalidInput("due_at must lie in the future", field="due_at")
    return due_at


async def _assignees(uow: UnitOfWork, scope: UUID, draft: AssignmentDraft) -> list[UUID]:
    if draft.everyone == bool(draft.assignee_ids):
        raise InvalidInput(
            "pass either assignee_ids (a non-empty list) or everyone: true", field="assignee_ids"
        )
    if draft.everyone:
        members = await uow.assignments.active_members(scope)
        if not members:
            raise InvalidInput("the dealership has no active user to assign", field="everyone")
        return members
    wanted = list(dict.fromkeys(draft.assignee_ids))
    found = set(await uow.assignments.active_members(scope, wanted))
    unknown = [str(user_id) for user_id in wanted if user_id not in found]
    if unknown:
        raise InvalidInput(
            "assignee_ids must name active users of this dealership; not: " + ", ".join(unknown),
            field="assignee_ids",
        )
    return wanted


async def _view(
    uow: UnitOfWork, assignments: Sequence[Assignment], principal: Principal, now: datetime
) -> list[AssignmentView]:
    """Each assignment with the progress `principal` may see (all, or their own)."""
    own = None if _is_admin(principal) else principal.user_id
    progress = await uow.assignments.progress([a.id for a in assignments], user_id=own)
    return [
        AssignmentView(
            assignment=a,
            assignees=tuple(p for p in progress if p.assignment_id == a.id),
            as_of=now,
        )
        for a in assignments
    ]


class CreateAssignment:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._clock, self._ids = uow, clock, ids

    async def __call__(
        self, principal: Principal, draft: AssignmentDraft, *, idempotency_key: str | None = None
    ) -> Answer[AssignmentView]:
        """PermissionDenied below dealership admin; InvalidInput for a past due date or
        assignees that are not active users of the dealership; NotFound for a scenario
        the dealership does not see. With an idempotency key (the caller's own),
        repeats replay the first answer."""
        require_role(principal, *_ADMINS)
        scope = dealership_scope(principal, draft.dealership_id)
        now = self._clock.now()
        _future(draft.due_at, now)
        request = IdempotentRequest.of(f"assignments:{principal.user_id}", idempotency_key, draft)
        async with self._uow() as uow:
            if await uow.dealerships.get(scope) is None:
                raise NotFound("dealership not found")
            scenario = await find_scenario(uow, draft.scenario_id, dealership_id=scope)
            if scenario is None:
                raise NotFound("scenario not found")
            user_ids = await _assignees(uow, scope, draft)
            assignment = Assignment(
                id=self._ids.new_id(),
                dealership_id=scope,
                scenario_id=scenario.public_id,
                due_at=draft.due_at,
                min_score=draft.min_score,
                min_attempts=draft.min_attempts,
                note=draft.note or None,
                everyone=draft.everyone,
                created_by=principal.user_id,
                created_at=now,
                updated_at=now,
            )
            await uow.assignments.add(assignment, user_ids)
            (view,) = await _view(uow, [assignment], principal, now)
            replay = await first_answer(uow, request, view, status_code=201, now=now)
            if replay is not None:
                return replay
            await uow.commit()
        return Answer(value=view)


class ListAssignments:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None = None,
        user_id: UUID | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[AssignmentView]:
        """An admin: the dealership's (with `user_id`: those of that assignee), each with
        every assignee. Anyone else: their own, each with their own progress only
        (PermissionDenied for another `user_id`)."""
        scope = dealership_scope(principal, dealership_id)
        if not _is_admin(principal):
            if user_id not in (None, principal.user_id):
                raise PermissionDenied("a trainee lists only their own assignments")
            user_id = principal.user_id
        async with self._uow(read_only=True) as uow:
            rows = await uow.assignments.list_page(
                dealership_id=scope, assignee_id=user_id, cursor=cursor, limit=limit
            )
            return await _view(uow, rows, principal, self._clock.now())


class GetAssignment:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(
        self, principal: Principal, assignment_id: UUID, *, dealership_id: UUID | None = None
    ) -> AssignmentView:
        """NotFound for another dealership's, and for a trainee not assigned to it."""
        scope = _scope(principal, dealership_id)
        async with self._uow(read_only=True) as uow:
            found = await uow.assignments.get(assignment_id, dealership_id=scope)
            if found is None:
                raise NotFound("assignment not found")
            (view,) = await _view(uow, [found], principal, self._clock.now())
        if not _is_admin(principal) and not view.assignees:
            raise NotFound("assignment not found")
        return view


class UpdateAssignment:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._clock, self._ids = uow, clock, ids

    async def __call__(
        self,
        principal: Principal,
        assignment_id: UUID,
        changes: AssignmentChanges,
        *,
        dealership_id: UUID | None = None,
    ) -> AssignmentView:
        require_role(principal, *_ADMINS)
        scope = _scope(principal, dealership_id)
        now = self._clock.now()
        if changes.due_at is not None:
            _future(changes.due_at, now)
        async with self._uow() as uow:
            current = await uow.assignments.get(assignment_id, dealership_id=scope)
            if current is None:
                raise NotFound("assignment not found")
            updated = msgspec.structs.replace(
                current,
                due_at=changes.due_at or current.due_at,
                min_score=current.min_score if changes.min_score is None else changes.min_score,
                min_attempts=changes.min_attempts or current.min_attempts,
                note=current.note if changes.note is None else (changes.note or None),
                updated_at=now,
            )
            await uow.assignments.update(updated, rearm_overdue=updated.due_at != current.due_at)
            await record_completions(uow, updated, self._ids, self._clock)
            (view,) = await _view(uow, [updated], principal, now)
            await uow.commit()
        return view


class DeleteAssignment:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self, principal: Principal, assignment_id: UUID, *, dealership_id: UUID | None = None
    ) -> None:
        """Removes it with its assignees' progress records; the sessions stay."""
        require_role(principal, *_ADMINS)
        scope = _scope(principal, dealership_id)
        async with self._uow() as uow:
            found = await uow.assignments.get(assignment_id, dealership_id=scope)
            if found is None or not await uow.assignments.delete(
                assignment_id, dealership_id=found.dealership_id
            ):
                raise NotFound("assignment not found")
            await uow.commit()


class AssignmentUseCases:
    """The assignment use cases, wired together (the container holds this one object)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self.create = CreateAssignment(uow, clock, ids)
        self.list = ListAssignments(uow, clock)
        self.get = GetAssignment(uow, clock)
        self.update = UpdateAssignment(uow, clock, ids)
        self.delete = DeleteAssignment(uow)
        self.remind_overdue = RemindOverdueAssignments(uow, ids, clock)


async def assigned_scenario_id(
    uow: UnitOfWork,
    assignment_id: UUID,
    *,
    dealership_id: UUID,
    user_id: UUID,
    requested: str | None,
) -> str:
    """The scenario a roleplay started with `assignment_id` practises: the
    assignment's. NotFound unless `user_id` is one of its assignees (another
    dealership's assignment included); InvalidInput when `requested` (the caller's
    `scenario_id`) names another scenario."""
    found = await uow.assignments.get(assignment_id, dealership_id=dealership_id)
    if found is None or not await uow.assignments.progress([found.id], user_id=user_id):
        raise NotFound("assignment not found")
    if requested is not None and requested != found.scenario_id:
        raise InvalidInput(
            f"the assignment practises scenario {found.scenario_id}; omit scenario_id or pass it",
            field="scenario_id",
        )
    return found.scenario_id

"""The two webhook events of assignments, each recorded exactly once per assignee.

`assignment.completed`: recorded in the transaction that makes an assignee done, by
`record_completions` (a conditional write of `completed_at`, see
`AssignmentRepository.record_completions`): the scorer's transaction that stores the
scorecard (`AnnounceAssignmentCompletion`, the scoring use case's hook) and an
admin's change that lowers the bar (`usecases/assignments.py`).

`assignment.overdue`: a reminder, recorded by `RemindOverdueAssignments`, a periodic
duty of every worker process: a conditional update takes each assignee past its due
date, not done and not reminded, in one transaction only, and writes its outbox entry
in that same transaction, so many workers never remind twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from avataradam.domain.model import OutboxEntry
from avataradam.domain.model.assignments import AssigneeProgress, Assignment
from avataradam.domain.model.events import AssignmentCompleted, AssignmentOverdue
from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.system import Clock, IdGenerator


def assignment_event(
    kind: type[AssignmentCompleted | AssignmentOverdue],
    assignment: Assignment,
    progress: AssigneeProgress,
    ids: IdGenerator,
    clock: Clock,
) -> OutboxEntry:
    now = clock.now()
    event = kind(
        dealership_id=assignment.dealership_id,
        occurred_at=now,
        assignment_id=assignment.id,
        user_id=progress.user_id,
        scenario_id=assignment.scenario_id,
        due_at=assignment.due_at,
        attempts=progress.attempts,
        best_score=progress.best_score,
    )
    return OutboxEntry(id=ids.new_id(), message=event, created_at=now, available_at=now)


async def record_completions(
    uow: UnitOfWork,
    assignment: Assignment,
    ids: IdGenerator,
    clock: Clock,
    *,
    user_ids: Sequence[UUID] | None = None,
) -> list[AssigneeProgress]:
    """Records, in `uow`'s transaction, the assignees (`user_ids`; None: all) that are
    done now and were not before, with one `assignment.completed` entry each."""
    done = await uow.assignments.record_completions(
        assignment.id, user_ids=user_ids, at=clock.now()
    )
    for progress in done:
        await uow.outbox.add(
            assignment_event(AssignmentCompleted, assignment, progress, ids, clock)
        )
    return done


class AnnounceAssignmentCompletion:
    """The scoring use case's hook, run in the transaction storing a `scored`
    scorecard: completes the trainee's assignment of that session if it is now done."""

    def __init__(self, ids: IdGenerator, clock: Clock) -> None:
        self._ids, self._clock = ids, clock

    async def __call__(self, uow: UnitOfWork, scorecard: StoredScorecard) -> None:
        if scorecard.status is not ScorecardStatus.SCORED:
            return
        conversation = await uow.conversations.get(
            scorecard.conversation_id, dealership_id=scorecard.dealership_id, user_id=None
        )
        if conversation is None or conversation.assignment_id is None:
            return
        assignment = await uow.assignments.get(
            conversation.assignment_id, dealership_id=scorecard.dealership_id
        )
        if assignment is not None:
            await record_completions(
                uow, assignment, self._ids, self._clock, user_ids=[scorecard.user_id]
            )


class RemindOverdueAssignments:
    """One round of overdue reminders (a periodic duty of every worker): answers the
    (assignment id, user id) pairs this round reminded."""

    def __init__(
        self, uow: UnitOfWorkFactory, ids: IdGenerator, clock: Clock, *, batch: int = 100
    ) -> None:
        self._uow, self._ids, self._clock, self._batch = uow, ids, clock, batch

    async def __call__(self) -> list[tuple[UUID, UUID]]:
        async with self._uow() as uow:
            taken = await uow.assignments.remind_overdue(now=self._clock.now(), limit=self._batch)
            for assignment, progress in taken:
                await uow.outbox.add(
                    assignment_event(
                        AssignmentOverdue, assignment, progress, self._ids, self._clock
                    )
                )
            await uow.commit()
        return [(assignment.id, progress.user_id) for assignment, progress in taken]

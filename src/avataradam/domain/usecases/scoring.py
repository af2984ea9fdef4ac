"""Completing a roleplay session, reading its scorecard, re-scoring it (issue 17).

`POST /v1/conversations/{id}/complete` (the owner) ends the session, freezes the
rubric version (the latest of its scenario's rubric at that moment: a built-in or the
dealership's own, `RubricCatalog`) and the configured
scorer on a `pending` scorecard, and records the `score_conversation` task in the
outbox in the same transaction (`usecases/scoring_run.py` runs it). Completing again
answers the same scorecard: a session never has a second one. `rescore` (a dealership
admin) makes it `pending` again with the frozen version, or, asked explicitly, with
the rubric's latest. A scorecard is read by its trainee or by an admin of the
session's dealership; anyone else gets NotFound, as for an object of another
dealership.

After completion the transcript is closed. What else writes to a session, decided
case by case:
- a trainee's message: refused (ConversationCompleted) when sent, and a reply being
  written when the session is completed is stored only if its transaction commits
  before the completion takes the conversation's row; otherwise neither it nor the
  trainee's message is stored and the reply ends with ConversationCompleted
  (`ReplyGenerator._store`), so the scorecard judges exactly what was stored;
- a rating of one of its replies (`POST /v1/messages/{id}/feedback`): allowed; it is
  about an answer's quality, read by admins to fix documents, not part of the
  transcript, and scoring never reads it;
- a re-score: the only change a completed session is meant for;
- completing again: answers the same scorecard, changes nothing.
Nothing else writes to a conversation (no titles, no deletion through the API).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.errors import NotARoleplay, NotFound
from avataradam.domain.model import Conversation, ConversationMode, Role
from avataradam.domain.model.events import ScoreConversationTask
from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.system import Clock
from avataradam.domain.training import FI_OFFICE_RUBRIC_ID
from avataradam.domain.training.scorecard import ScorerRef
from avataradam.domain.usecases.documents import TaskDispatcher
from avataradam.domain.usecases.rubric_catalog import RubricCatalog
from avataradam.domain.usecases.scenario_rules import find_scenario

RubricChoice = Literal["frozen", "latest"]


class ScoringPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """`scorer`: the configured scorer, frozen on each completed session.
    `redrive_after`: how long a `pending` scorecard nobody holds waits for its task
    message before the reconciler enqueues it again (AVATARADAM_INGESTION_QUEUED_TIMEOUT_S)."""

    scorer: ScorerRef
    redrive_after: timedelta


async def scenario_rubric_id(uow: UnitOfWork, conversation: Conversation) -> str:
    """The rubric of the scenario the roleplay practised (deleted since included); the
    F&I office rubric for a roleplay stored without one."""
    key = conversation.scenario_id or conversation.scenario
    if key:
        found = await find_scenario(
            uow, key, dealership_id=conversation.dealership_id, include_deleted=True
        )
        if found is not None:
            return found.rubric_id
    return FI_OFFICE_RUBRIC_ID


class CompleteConversation:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        dispatcher: TaskDispatcher,
        clock: Clock,
        rubrics: RubricCatalog,
        policy: ScoringPolicy,
    ) -> None:
        self._uow, self._dispatcher, self._clock = uow, dispatcher, clock
        self._rubrics, self._policy = rubrics, policy

    async def __call__(self, principal: Principal, conversation_id: UUID) -> StoredScorecard:
        """The session's scorecard, `pending` when this call completed it. NotFound
        unless the caller owns the conversation; NotARoleplay for a training one."""
        if principal.dealership_id is None:
            raise NotFound("conversation not found")
        async with self._uow() as uow:
            conversation = await uow.conversations.get(
                conversation_id, dealership_id=principal.dealership_id, user_id=principal.user_id
            )
            if conversation is None:
                raise NotFound("conversation not found")
            if conversation.mode is not ConversationMode.ROLEPLAY:
                raise NotARoleplay("only a roleplay session is completed and scored")
            # Held before the clock is read: a reply being stored is committed first,
            # so it precedes `completed_at` and is scored; a later one is refused
            # (ReplyGenerator._store).
            await uow.conversations.get_for_update(conversation_id)
            existing = await uow.scorecards.get(conversation_id)
            if existing is not None:
                return existing
            rubric = await self._rubrics.latest(
                uow.rubrics, conversation.dealership_id, await scenario_rubric_id(uow, conversation)
            )
            now = self._clock.now()
            scorecard = StoredScorecard(
                conversation_id=conversation.id,
                dealership_id=conversation.dealership_id,
                user_id=conversation.user_id,
                status=ScorecardStatus.PENDING,
                rubric_id=rubric.id,
                rubric_version=rubric.version,
                scorer_kind=self._policy.scorer.kind,
                scorer_model=self._policy.scorer.model,
                lease_expires_at=now + self._policy.redrive_after,
                created_at=now,
                updated_at=now,
            )
            await uow.conversations.complete(conversation_id, now)
            if not await uow.scorecards.add(scorecard):
                # Completed at the same moment by another request: answer its scorecard.
                return await _stored(uow, conversation_id)
            await self._dispatcher.commit_with(
                uow, ScoreConversationTask(conversation_id=conversation_id)
            )
        return scorecard


class GetScorecard:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self, principal: Principal, conversation_id: UUID, *, dealership_id: UUID | None = None
    ) -> StoredScorecard:
        """The trainee's own, or (dealership admin, super admin) any of the dealership's;
        NotFound otherwise, and before the session is completed."""
        scope = dealership_scope(principal, dealership_id)
        async with self._uow(read_only=True) as uow:
            scorecard = await uow.scorecards.get(conversation_id)
        if scorecard is None or not _may_read(principal, scorecard, scope):
            raise NotFound("scorecard not found")
        return scorecard


class RescoreConversation:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        dispatcher: TaskDispatcher,
        clock: Clock,
        rubrics: RubricCatalog,
        policy: ScoringPolicy,
    ) -> None:
        self._uow, self._dispatcher, self._clock = uow, dispatcher, clock
        self._rubrics, self._policy = rubrics, policy

    async def __call__(
        self,
        principal: Principal,
        conversation_id: UUID,
        *,
        rubric: RubricChoice = "frozen",
        dealership_id: UUID | None = None,
    ) -> StoredScorecard:
        """Makes the scorecard `pending` again with its frozen rubric version (or, with
        `rubric="latest"`, the latest version of its rubric, frozen anew) and its
        scorer, and enqueues its scoring. PermissionDenied below dealership admin;
        NotFound for a scorecard of another dealership or of no completed session."""
        scope = dealership_scope(principal, dealership_id)
        require_role(principal, Role.DEALERSHIP_ADMIN, Role.SUPER_ADMIN)
        async with self._uow() as uow:
            current = await uow.scorecards.get_for_update(conversation_id)
            if current is None or current.dealership_id != scope:
                raise NotFound("scorecard not found")
            version = (
                await self._rubrics.latest(uow.rubrics, scope, current.rubric_id)
                if rubric == "latest"
                else await self._rubrics.get(
                    uow.rubrics, scope, current.rubric_id, current.rubric_version
                )
            )
            now = self._clock.now()
            requeued = current.requeued(
                rubric=msgspec.structs.replace(current.rubric, version=version.version),
                scorer=current.scorer,
                now=now,
                redrive_after=self._policy.redrive_after,
            )
            await uow.scorecards.update(requeued)
            await self._dispatcher.commit_with(
                uow, ScoreConversationTask(conversation_id=conversation_id)
            )
        return requeued


def _may_read(principal: Principal, scorecard: StoredScorecard, scope: UUID) -> bool:
    if scorecard.dealership_id != scope:
        return False
    if principal.role in (Role.DEALERSHIP_ADMIN, Role.SUPER_ADMIN):
        return True
    return scorecard.user_id == principal.user_id


async def _stored(uow: UnitOfWork, conversation_id: UUID) -> StoredScorecard:
    found = await uow.scorecards.get(conversation_id)
    if found is None:  # a completion is never undone; only a deleted session has none
        raise NotFound("conversation not found")
    return found

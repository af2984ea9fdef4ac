"""The worker side of scoring: the `score_conversation` task and its re-drive (issue 17).

`ScoreConversation` takes the scorecard's lease (only a `pending` one no live lease
holds), builds the `Transcript` from the session's messages, runs the frozen scorer on
the frozen rubric version and stores the answer, `scored`, with its
`conversation.scored` event, in one transaction and only while its lease still holds
the row. A replayed message, a second delivery or a run that lost its lease writes
nothing; a run that crashes leaves the scorecard `pending` and the reconciler
(`ReconcileScorecards`, the worker's periodic tick) enqueues it again once the lease
lapsed, exactly like a document's ingestion (`usecases/document_jobs.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Literal
from uuid import UUID

import msgspec

from avataradam.domain.model import MessageRole, OutboxEntry
from avataradam.domain.model.events import ConversationScored
from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.scoring import Scorer
from avataradam.domain.ports.services import TaskQueue, Telemetry
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.tasks import SCORE_CONVERSATION
from avataradam.domain.training.rubrics import Language
from avataradam.domain.training.scorecard import Scorecard, Transcript
from avataradam.domain.usecases.rubric_catalog import RubricCatalog

Outcome = Literal["scored", "failed", "skipped", "superseded"]
Suggest = Callable[[UUID, Scorecard], Awaitable[Scorecard]]
OnScored = Callable[[UnitOfWork, StoredScorecard], Awaitable[None]]
"""Runs in the transaction that stores a `scored` scorecard, before it commits
(`usecases/assignment_events.AnnounceAssignmentCompletion`)."""


class ScoringRunOptions(msgspec.Struct, frozen=True, kw_only=True):
    """`lease`: how long a run holds a scorecard (longer than scoring takes: it is not
    renewed; a run that dies delays its scorecard by at most this plus the reconcile
    interval). `hold_s`: a pause after the lease is taken, a testing knob
    (AVATARADAM_SCORING_HOLD_S, 0 in production) that makes a worker killed
    mid-scoring observable, as `chat.extractive_delta_delay_s` does for streams."""

    lease: timedelta
    hold_s: float = 0.0


class ScoringOutcome(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: UUID
    status: Outcome
    overall: int | None = None
    error_code: str | None = None


def scored_event(ids: IdGenerator, clock: Clock, scorecard: StoredScorecard) -> OutboxEntry:
    """The `conversation.scored` outbox entry announcing `scorecard` as it is now."""
    now = clock.now()
    body = scorecard.body
    event = ConversationScored(
        dealership_id=scorecard.dealership_id,
        occurred_at=now,
        conversation_id=scorecard.conversation_id,
        user_id=scorecard.user_id,
        status=scorecard.status.value,
        rubric_id=scorecard.rubric_id,
        rubric_version=scorecard.rubric_version,
        overall=None if body is None else body.overall,
        passed=None if body is None else ("true" if body.passed else "false"),
        error_code=scorecard.error_code,
    )
    return OutboxEntry(id=ids.new_id(), message=event, created_at=now, available_at=now)


class ScoreConversation:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        scorers: Mapping[str, Scorer],
        rubrics: RubricCatalog,
        clock: Clock,
        ids: IdGenerator,
        telemetry: Telemetry,
        options: ScoringRunOptions,
        suggest: Suggest | None = None,
        on_scored: OnScored | None = None,
    ) -> None:
        """`suggest`: adds suggested wordings from the dealership's documents to a
        scorecard (`training.suggestions.SuggestWording`); None: none. `on_scored`: see
        `OnScored`."""
        self._uow, self._scorers, self._rubrics = uow, scorers, rubrics
        self._clock, self._ids, self._telemetry = clock, ids, telemetry
        self._options, self._suggest, self._on_scored = options, suggest, on_scored

    async def __call__(
        self, conversation_id: UUID, *, retry_within: timedelta | None = None
    ) -> ScoringOutcome:
        """Scores the session once. Raises what scoring raises (EmbedderUnavailable,
        a bug) after releasing the lease for `retry_within` (the task's retry comes
        first; None: the reconciler may re-drive it at once)."""
        token = self._ids.new_id()
        started = self._clock.monotonic()
        now = self._clock.now()
        async with self._uow() as uow:
            claimed = await uow.scorecards.claim(
                conversation_id, token=token, now=now, until=now + self._options.lease
            )
            if claimed is None:
                return ScoringOutcome(conversation_id=conversation_id, status="skipped")
            await uow.commit()
            messages = await uow.conversations.messages(conversation_id)
            conversation = await uow.conversations.get(
                conversation_id, dealership_id=claimed.dealership_id, user_id=None
            )
        language: Language = (
            "es" if conversation is not None and conversation.language == "es" else "en"
        )
        transcript = Transcript.of(
            (
                (m.id, "user" if m.role is MessageRole.USER else "assistant", m.content)
                for m in messages
            ),
            language=language,
        )
        try:
            if self._options.hold_s > 0:
                await asyncio.sleep(self._options.hold_s)
            async with self._uow(read_only=True) as uow:
                rubric = await self._rubrics.get(
                    uow.rubrics, claimed.dealership_id, claimed.rubric_id, claimed.rubric_version
                )
            body = await self._scorers[claimed.scorer_kind].score(rubric, transcript)
            if self._suggest is not None:
                body = await self._suggest(claimed.dealership_id, body)
        except Exception:
            await self._release(claimed, token, retry_within or timedelta(0))
            raise
        scored = claimed.scored(body, now=self._clock.now())
        async with self._uow() as uow:
            if not await uow.scorecards.update_leased(scored, lease_token=token):
                return ScoringOutcome(conversation_id=conversation_id, status="superseded")
            await uow.outbox.add(scored_event(self._ids, self._clock, scored))
            if self._on_scored is not None:
                await self._on_scored(uow, scored)
            await uow.commit()
        self._telemetry.scoring("scored", self._clock.monotonic() - started)
        return ScoringOutcome(
            conversation_id=conversation_id, status="scored", overall=body.overall
        )

    async def _release(self, claimed: StoredScorecard, token: UUID, wait: timedelta) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            current = await uow.scorecards.get_for_update(claimed.conversation_id)
            if current is not None and current.held_by(token):
                await uow.scorecards.update_leased(
                    current.released(until=now + wait, now=now), lease_token=token
                )
                await uow.commit()

    async def fail(self, conversation_id: UUID, *, code: str, message: str) -> bool:
        """Fails a `pending` scorecard no live lease holds (its retries ran out) and
        announces it; True when this call failed it."""
        async with self._uow() as uow:
            current = await uow.scorecards.get_for_update(conversation_id)
            now = self._clock.now()
            if current is None or current.status is not ScorecardStatus.PENDING:
                return False
            if current.lease_token is not None and (
                current.lease_expires_at is None or current.lease_expires_at > now
            ):
                return False  # another run holds it: its verdict counts
            failed = current.failed(code=code, message=message, now=now)
            await uow.scorecards.update(failed)
            await uow.outbox.add(scored_event(self._ids, self._clock, failed))
            await uow.commit()
        self._telemetry.scoring("failed", None)
        return True


class ReconcileScorecards:
    """Re-drives, from PostgreSQL, `pending` scorecards nobody works on: their lease
    lapsed (the worker died) or, unheld, their re-drive time passed (the task message
    never came, or a retry never did). Each is re-checked under a row lock, released
    for `redrive_after` and enqueued in the same transaction, so many reconcilers never
    re-drive one twice."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        queue: TaskQueue,
        clock: Clock,
        *,
        redrive_after: timedelta,
        batch: int = 100,
    ) -> None:
        self._uow, self._queue, self._clock = uow, queue, clock
        self._redrive_after, self._batch = redrive_after, batch

    async def __call__(self) -> list[UUID]:
        redriven: list[UUID] = []
        now = self._clock.now()
        async with self._uow() as uow:
            for candidate in await uow.scorecards.list_due(now=now, limit=self._batch):
                current = await uow.scorecards.get_for_update(candidate.conversation_id)
                if current is None or current.status is not ScorecardStatus.PENDING:
                    continue
                if current.lease_expires_at is not None and current.lease_expires_at > now:
                    continue
                await uow.scorecards.update(
                    current.released(until=now + self._redrive_after, now=now)
                )
                await self._queue.enqueue(
                    SCORE_CONVERSATION, {"conversation_id": str(current.conversation_id)}
                )
                redriven.append(current.conversation_id)
            await uow.commit()
        return redriven

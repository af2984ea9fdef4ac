"""Knowledge gaps, recorded and grouped: which training questions the knowledge base
could not answer, grouped into topics (issue 18; the rules: `domain/knowledge_gaps.py`).

Recording is cheap and in the request's own transaction: `GapRecorder.record_reply`
writes one `knowledge_gap_questions` row beside the stored reply, and
`record_rating` beside a rating, never by scanning messages later. After the commit,
`announce` enqueues the dealership's grouping (best effort).

Grouping runs in the worker (`GroupKnowledgeGaps`, task `group_knowledge_gaps`): it
embeds the dealership's ungrouped questions with the configured embedder and puts each
into the nearest gap or a new one, under the dealership's lock (one run at a time per
dealership, so two workers never open two gaps for one question; a run that finds
nothing left does nothing). A lost task message delays nothing for long:
`ReconcileKnowledgeGaps`, on every worker tick, enqueues the grouping of dealerships
with questions left ungrouped longer than the re-drive delay.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from uuid import UUID

from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.knowledge_gaps import (
    add_to_centroid,
    classify_rating,
    classify_reply,
    nearest,
    question_text,
    representative,
)
from avataradam.domain.model import (
    Conversation,
    ConversationMode,
    Message,
    MessageFeedback,
    MessageRole,
)
from avataradam.domain.model.knowledge_gaps import (
    FEEDBACK_REASONS,
    GapCentroid,
    GapQuestion,
    GapReason,
)
from avataradam.domain.ports.capabilities import embed_queries
from avataradam.domain.ports.knowledge import Embedder
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.services import TaskQueue, Telemetry
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.tasks import GROUP_KNOWLEDGE_GAPS

TITLE_CANDIDATES = 50
"""A gap's title is the nearest to its centroid of its newest this many questions."""


class GapRecorder:
    """Records gap questions inside the caller's transaction; see the module docstring."""

    def __init__(self, queue: TaskQueue, telemetry: Telemetry) -> None:
        self._queue, self._telemetry = queue, telemetry

    async def record_reply(
        self,
        uow: UnitOfWork,
        conversation: Conversation,
        question: Message,
        reply: Message,
        *,
        retrieved: tuple[bool, float | None],
    ) -> UUID | None:
        """Records `question` when `reply` is a gap (`classify_reply`); the dealership to
        `announce` after the commit, None when nothing was recorded. `retrieved`: whether
        some passage reached the relevance floor, and the best passage's score (None:
        nothing retrieved)."""
        material, top_score = retrieved
        reason = classify_reply(
            training=conversation.mode is ConversationMode.TRAINING,
            material=material,
            grounded=reply.grounded,
        )
        if reason is None:
            return None
        added = await uow.knowledge_gaps.add_question(
            _question(conversation, question.content, reply, reason, top_score)
        )
        return conversation.dealership_id if added else None

    async def record_rating(
        self, uow: UnitOfWork, *, message: Message, feedback: MessageFeedback
    ) -> UUID | None:
        """Brings a training answer's gap question in line with its rating: a thumbs
        down records it (`thumbs_down`, `reported_inaccurate` with a reason) unless it is
        already a gap of the retrieval (`no_material`, `weak_material`: that stands); a
        thumbs up forgets one that only a thumbs down had made. Returns the dealership
        to `announce`, None when no question was added."""
        reason = classify_rating(feedback.rating, feedback.reason)
        current = await uow.knowledge_gaps.question_reason(message.id)
        if reason is None:
            if current in FEEDBACK_REASONS:
                await uow.knowledge_gaps.remove_question(message.id)
            return None
        if current is not None:
            if current in FEEDBACK_REASONS and current is not reason:
                await uow.knowledge_gaps.set_reason(message.id, reason)
            return None
        conversation = await uow.conversations.get(
            message.conversation_id, dealership_id=feedback.dealership_id, user_id=None
        )
        if conversation is None or conversation.mode is not ConversationMode.TRAINING:
            return None
        history = await uow.conversations.messages(conversation.id)
        position = next((i for i, m in enumerate(history) if m.id == message.id), 0)
        asked = next((m for m in reversed(history[:position]) if m.role is MessageRole.USER), None)
        if asked is None:
            return None
        added = await uow.knowledge_gaps.add_question(
            _question(conversation, asked.content, message, reason, None)
        )
        return conversation.dealership_id if added else None

    async def announce(self, dealership_id: UUID | None) -> None:
        """Enqueues the grouping of the dealership's new questions; a queue outage only
        delays it (the worker's reconciler re-drives it from PostgreSQL)."""
        if dealership_id is None:
            return
        with contextlib.suppress(DependencyUnavailable):
            await self._queue.enqueue(GROUP_KNOWLEDGE_GAPS, {"dealership_id": str(dealership_id)})
        self._telemetry.event("knowledge_gap_recorded", dealership_id=str(dealership_id))


def _question(
    conversation: Conversation,
    text: str,
    reply: Message,
    reason: GapReason,
    top_score: float | None,
) -> GapQuestion:
    return GapQuestion(
        message_id=reply.id,
        dealership_id=conversation.dealership_id,
        conversation_id=conversation.id,
        user_id=conversation.user_id,
        question=question_text(text),
        language=conversation.language.value,
        reason=reason,
        top_score=top_score,
        asked_at=reply.created_at,
    )


class GroupKnowledgeGaps:
    """Groups a dealership's ungrouped questions into gaps; see the module docstring.

    `threshold`: the cosine a question needs with a gap's centroid to join it (measured
    per embedder, `entrypoints/knowledge_gaps.py`). Gaps are compared within one
    embedding model: after a change of embedder, questions open gaps of the new one.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        embedder: Embedder,
        clock: Clock,
        ids: IdGenerator,
        *,
        threshold: float,
        batch: int = 50,
    ) -> None:
        self._uow, self._embedder, self._clock, self._ids = uow, embedder, clock, ids
        self._threshold, self._batch = threshold, batch

    async def __call__(self, dealership_id: UUID) -> int:
        """Groups every ungrouped question of the dealership, a batch per transaction;
        returns how many were grouped. Idempotent: a question is grouped once."""
        grouped = 0
        while True:
            done = await self._group_batch(dealership_id)
            grouped += done
            if done < self._batch:
                return grouped

    async def _group_batch(self, dealership_id: UUID) -> int:
        model = self._embedder.model_name
        async with self._uow() as uow:
            gaps_repo = uow.knowledge_gaps
            await gaps_repo.lock_dealership(dealership_id)
            pending = await gaps_repo.pending(dealership_id, limit=self._batch)
            if not pending:
                return 0
            vectors = await embed_queries(self._embedder, [q.question for q in pending])
            gaps = await gaps_repo.centroids(dealership_id, model)
            for question, vector in zip(pending, vectors, strict=True):
                found = nearest(vector, gaps, self._threshold)
                if found is None:
                    gap = GapCentroid(
                        id=self._ids.new_id(),
                        title=question.question,
                        centroid=tuple(vector),
                        member_count=1,
                    )
                    await gaps_repo.create_gap(
                        gap,
                        dealership_id=dealership_id,
                        embedding_model=model,
                        created_at=self._clock.now(),
                    )
                    await gaps_repo.assign(
                        question.message_id, gap_id=gap.id, embedding=vector, embedding_model=model
                    )
                    gaps.append(gap)
                    continue
                joined, _ = found
                await gaps_repo.assign(
                    question.message_id, gap_id=joined.id, embedding=vector, embedding_model=model
                )
                centroid = add_to_centroid(joined.centroid, vector)
                members = await gaps_repo.members(joined.id, limit=TITLE_CANDIDATES)
                updated = GapCentroid(
                    id=joined.id,
                    title=representative(centroid, members) or joined.title,
                    centroid=centroid,
                    member_count=joined.member_count + 1,
                )
                await gaps_repo.update_gap(updated)
                gaps[gaps.index(joined)] = updated
            await uow.commit()
        return len(pending)


class ReconcileKnowledgeGaps:
    """Enqueues the grouping of dealerships whose questions stayed ungrouped longer than
    `after` (the task message was lost, or its runs failed). This process re-drives a
    dealership at most once per `after`: a grouping that keeps failing (the embedder
    down) is not enqueued again on every tick while its retries are still due."""

    def __init__(
        self, uow: UnitOfWorkFactory, queue: TaskQueue, clock: Clock, *, after: timedelta
    ) -> None:
        self._uow, self._queue, self._clock, self._after = uow, queue, clock, after
        self._redriven: dict[UUID, datetime] = {}

    async def __call__(self, limit: int = 100) -> list[UUID]:
        now = self._clock.now()
        async with self._uow(read_only=True) as uow:
            pending = await uow.knowledge_gaps.dealerships_pending(
                asked_before=now - self._after, limit=limit
            )
        self._redriven = {d: at for d, at in self._redriven.items() if now - at < self._after}
        redriven = [d for d in pending if d not in self._redriven]
        for dealership_id in redriven:
            await self._queue.enqueue(GROUP_KNOWLEDGE_GAPS, {"dealership_id": str(dealership_id)})
            self._redriven[dealership_id] = now
        return redriven

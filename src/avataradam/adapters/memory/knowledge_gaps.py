"""In-memory twin of the knowledge-gap repository (see `adapters/postgres/knowledge_gaps.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.adapters.memory.gap_rows import GapQuestionRow, GapRow
from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.domain.model.knowledge_gaps import (
    MAX_GAP_EXAMPLES,
    GapCentroid,
    GapCursor,
    GapQuestion,
    GapReason,
    GapReasons,
    GapStatus,
    KnowledgeGap,
    PendingQuestion,
)


def _summary(row: GapRow, asked: list[GapQuestion], every: list[GapQuestion]) -> KnowledgeGap:
    asked = sorted(asked, key=lambda q: q.asked_at)
    by_reason = {reason: sum(q.reason is reason for q in asked) for reason in GapReason}
    newest = [q.question for q in reversed(asked)]
    return KnowledgeGap(
        id=row.gap.id,
        title=row.gap.title,
        count=len(asked),
        first_asked_at=asked[0].asked_at,
        last_asked_at=asked[-1].asked_at,
        examples=tuple(dict.fromkeys(newest))[:MAX_GAP_EXAMPLES],
        reasons=GapReasons(**{reason.value: n for reason, n in by_reason.items()}),
        status=row.status,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolve_note=row.resolve_note,
        recurred=row.resolved_at is not None and any(q.asked_at > row.resolved_at for q in every),
    )


class InMemoryKnowledgeGapRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    @property
    def _t(self) -> Tables:
        return self._tx.tables

    async def add_question(self, question: GapQuestion) -> bool:
        def op(t: Tables) -> bool:
            if question.message_id in t.gap_questions:
                return False
            t.gap_questions[question.message_id] = GapQuestionRow(question=question)
            return True

        return self._tx.write(op)

    async def question_reason(self, message_id: UUID) -> GapReason | None:
        row = self._t.gap_questions.get(message_id)
        return None if row is None else row.question.reason

    async def set_reason(self, message_id: UUID, reason: GapReason) -> None:
        def op(t: Tables) -> None:
            if (row := t.gap_questions.get(message_id)) is not None:
                changed = msgspec.structs.replace(row.question, reason=reason)
                t.gap_questions[message_id] = msgspec.structs.replace(row, question=changed)

        self._tx.write(op)

    async def remove_question(self, message_id: UUID) -> None:
        self._tx.write(lambda t: t.gap_questions.pop(message_id, None))

    async def dealerships_pending(self, *, asked_before: datetime, limit: int) -> list[UUID]:
        found = {
            row.question.dealership_id
            for row in self._t.gap_questions.values()
            if row.gap_id is None and row.question.asked_at < asked_before
        }
        return sorted(found)[:limit]

    async def lock_dealership(self, dealership_id: UUID) -> None:  # noqa: ARG002 -- the port's
        """Nothing to hold: the twin's transactions publish at commit, all at once."""
        self._tx.require_writable()

    async def pending(self, dealership_id: UUID, *, limit: int) -> list[PendingQuestion]:
        rows = sorted(
            (
                r.question
                for r in self._t.gap_questions.values()
                if r.gap_id is None and r.question.dealership_id == dealership_id
            ),
            key=lambda q: (q.asked_at, q.message_id),
        )
        return [
            PendingQuestion(message_id=q.message_id, question=q.question, asked_at=q.asked_at)
            for q in rows[:limit]
        ]

    async def centroids(self, dealership_id: UUID, embedding_model: str) -> list[GapCentroid]:
        rows = sorted(
            (
                r
                for r in self._t.gaps.values()
                if r.dealership_id == dealership_id and r.embedding_model == embedding_model
            ),
            key=lambda r: (r.created_at, r.gap.id),
        )
        return [r.gap for r in rows]

    async def create_gap(
        self,
        gap: GapCentroid,
        *,
        dealership_id: UUID,
        embedding_model: str,
        created_at: datetime,
    ) -> None:
        row = GapRow(
            gap=gap,
            dealership_id=dealership_id,
            embedding_model=embedding_model,
            created_at=created_at,
        )
        self._tx.write(lambda t: t.gaps.__setitem__(gap.id, row))

    async def update_gap(self, gap: GapCentroid) -> None:
        def op(t: Tables) -> None:
            if (row := t.gaps.get(gap.id)) is not None:
                t.gaps[gap.id] = msgspec.structs.replace(row, gap=gap)

        self._tx.write(op)

    async def assign(
        self,
        message_id: UUID,
        *,
        gap_id: UUID,
        embedding: Sequence[float],
        embedding_model: str,
    ) -> None:
        def op(t: Tables) -> None:
            if (row := t.gap_questions.get(message_id)) is not None:
                t.gap_questions[message_id] = msgspec.structs.replace(
                    row, gap_id=gap_id, embedding=tuple(embedding), embedding_model=embedding_model
                )

        self._tx.write(op)

    def _of_gap(self, gap_id: UUID) -> list[GapQuestionRow]:
        return [r for r in self._t.gap_questions.values() if r.gap_id == gap_id]

    async def members(self, gap_id: UUID, *, limit: int) -> list[tuple[str, tuple[float, ...]]]:
        rows = sorted(self._of_gap(gap_id), key=lambda r: r.question.asked_at, reverse=True)
        return [(r.question.question, r.embedding) for r in rows if r.embedding][:limit]

    async def list_gaps(
        self,
        dealership_id: UUID,
        *,
        start: datetime,
        end: datetime,
        status: GapStatus | None,
        cursor: GapCursor | None,
        limit: int,
    ) -> list[KnowledgeGap]:
        found: list[KnowledgeGap] = []
        for row in self._t.gaps.values():
            if row.dealership_id != dealership_id or status not in (None, row.status):
                continue
            every = [r.question for r in self._of_gap(row.gap.id)]
            asked = [q for q in every if start <= q.asked_at < end]
            if asked:
                found.append(_summary(row, asked, every))
        found.sort(key=lambda g: (g.count, g.id), reverse=True)
        if cursor is not None:
            found = [g for g in found if (g.count, g.id) < (cursor.count, cursor.id)]
        return found[:limit]

    async def get_gap(self, gap_id: UUID, dealership_id: UUID) -> KnowledgeGap | None:
        row = self._t.gaps.get(gap_id)
        if row is None or row.dealership_id != dealership_id:
            return None
        every = [r.question for r in self._of_gap(gap_id)]
        return _summary(row, every, every) if every else None

    async def resolve(
        self, gap_id: UUID, dealership_id: UUID, *, by: UUID, at: datetime, note: str | None
    ) -> bool:
        def op(t: Tables) -> bool:
            row = t.gaps.get(gap_id)
            if row is None or row.dealership_id != dealership_id:
                return False
            t.gaps[gap_id] = msgspec.structs.replace(
                row, status=GapStatus.RESOLVED, resolved_at=at, resolved_by=by, resolve_note=note
            )
            return True

        return self._tx.write(op)

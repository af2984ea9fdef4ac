"""Knowledge gaps and their questions in PostgreSQL (migration 0021)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from avataradam.adapters.postgres.errors import translate
from avataradam.adapters.postgres.rows import ConnectionRepository
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

# `recent` below: the newest 20 questions of a gap, from which `MAX_GAP_EXAMPLES`
# distinct examples are picked. `{questions}` and `{gaps}` are this module's constants.

_SUMMARY = (
    "WITH counted AS ("
    " SELECT q.gap_id AS id, count(*) AS count,"
    " min(q.asked_at) AS first_asked_at, max(q.asked_at) AS last_asked_at,"
    " count(*) FILTER (WHERE q.reason = 'no_material') AS no_material,"
    " count(*) FILTER (WHERE q.reason = 'weak_material') AS weak_material,"
    " count(*) FILTER (WHERE q.reason = 'thumbs_down') AS thumbs_down,"
    " count(*) FILTER (WHERE q.reason = 'reported_inaccurate') AS reported_inaccurate,"
    " (array_agg(q.question ORDER BY q.asked_at DESC))[1:20] AS recent"
    " FROM knowledge_gap_questions q"
    " WHERE q.dealership_id = $1 AND q.gap_id IS NOT NULL AND {questions}"
    " GROUP BY q.gap_id)"
    " SELECT c.*, g.title, g.status, g.resolved_at, g.resolved_by, g.resolve_note,"
    " (g.resolved_at IS NOT NULL AND EXISTS (SELECT 1 FROM knowledge_gap_questions r"
    "  WHERE r.gap_id = g.id AND r.asked_at > g.resolved_at)) AS recurred"
    " FROM counted c JOIN knowledge_gaps g ON g.id = c.id AND g.dealership_id = $1"
    " WHERE {gaps}"
    " ORDER BY c.count DESC, c.id DESC"
)
_LIST = (
    _SUMMARY.format(
        questions="q.asked_at >= $2 AND q.asked_at < $3",
        gaps="($4::text IS NULL OR g.status = $4)"
        " AND ($5::bigint IS NULL OR (c.count, c.id) < ($5, $6::uuid))",
    )
    + " LIMIT $7"
)
_ONE = _SUMMARY.format(questions="q.gap_id = $2", gaps="TRUE")


def _gap(row: asyncpg.Record) -> KnowledgeGap:
    examples = tuple(dict.fromkeys(row["recent"] or ()))[:MAX_GAP_EXAMPLES]
    return KnowledgeGap(
        id=row["id"],
        title=row["title"],
        count=row["count"],
        first_asked_at=row["first_asked_at"],
        last_asked_at=row["last_asked_at"],
        examples=examples,
        reasons=GapReasons(
            no_material=row["no_material"],
            weak_material=row["weak_material"],
            thumbs_down=row["thumbs_down"],
            reported_inaccurate=row["reported_inaccurate"],
        ),
        status=GapStatus(row["status"]),
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        resolve_note=row["resolve_note"],
        recurred=row["recurred"],
    )


class PostgresKnowledgeGapRepository(ConnectionRepository):
    @translate
    async def add_question(self, question: GapQuestion) -> bool:
        status = await self._conn.execute(
            "INSERT INTO knowledge_gap_questions (message_id, dealership_id, conversation_id,"
            " user_id, question, language, reason, top_score, asked_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (message_id) DO NOTHING",
            question.message_id,
            question.dealership_id,
            question.conversation_id,
            question.user_id,
            question.question,
            question.language,
            question.reason.value,
            question.top_score,
            question.asked_at,
        )
        return bool(status.endswith(" 1"))

    @translate
    async def question_reason(self, message_id: UUID) -> GapReason | None:
        reason = await self._conn.fetchval(
            "SELECT reason FROM knowledge_gap_questions WHERE message_id = $1", message_id
        )
        return None if reason is None else GapReason(reason)

    @translate
    async def set_reason(self, message_id: UUID, reason: GapReason) -> None:
        await self._conn.execute(
            "UPDATE knowledge_gap_questions SET reason = $2 WHERE message_id = $1",
            message_id,
            reason.value,
        )

    @translate
    async def remove_question(self, message_id: UUID) -> None:
        await self._conn.execute(
            "DELETE FROM knowledge_gap_questions WHERE message_id = $1", message_id
        )

    @translate
    async def dealerships_pending(self, *, asked_before: datetime, limit: int) -> list[UUID]:
        rows = await self._conn.fetch(
            "SELECT DISTINCT dealership_id FROM knowledge_gap_questions"
            " WHERE gap_id IS NULL AND asked_at < $1 LIMIT $2",
            asked_before,
            limit,
        )
        return [row["dealership_id"] for row in rows]

    @translate
    async def lock_dealership(self, dealership_id: UUID) -> None:
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"knowledge_gaps:{dealership_id}",
        )

    @translate
    async def pending(self, dealership_id: UUID, *, limit: int) -> list[PendingQuestion]:
        return await self._all(
            PendingQuestion,
            "SELECT message_id, question, asked_at FROM knowledge_gap_questions"
            " WHERE dealership_id = $1 AND gap_id IS NULL"
            " ORDER BY asked_at, message_id LIMIT $2 FOR UPDATE",
            dealership_id,
            limit,
        )

    @translate
    async def centroids(self, dealership_id: UUID, embedding_model: str) -> list[GapCentroid]:
        return await self._all(
            GapCentroid,
            "SELECT id, title, centroid, member_count FROM knowledge_gaps"
            " WHERE dealership_id = $1 AND embedding_model = $2 ORDER BY created_at, id",
            dealership_id,
            embedding_model,
        )

    @translate
    async def create_gap(
        self,
        gap: GapCentroid,
        *,
        dealership_id: UUID,
        embedding_model: str,
        created_at: datetime,
    ) -> None:
        await self._conn.execute(
            "INSERT INTO knowledge_gaps (id, dealership_id, title, embedding_model, centroid,"
            " member_count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            gap.id,
            dealership_id,
            gap.title,
            embedding_model,
            list(gap.centroid),
            gap.member_count,
            created_at,
        )

    @translate
    async def update_gap(self, gap: GapCentroid) -> None:
        await self._conn.execute(
            "UPDATE knowledge_gaps SET title = $2, centroid = $3, member_count = $4 WHERE id = $1",
            gap.id,
            gap.title,
            list(gap.centroid),
            gap.member_count,
        )

    @translate
    async def assign(
        self,
        message_id: UUID,
        *,
        gap_id: UUID,
        embedding: Sequence[float],
        embedding_model: str,
    ) -> None:
        await self._conn.execute(
            "UPDATE knowledge_gap_questions SET gap_id = $2, embedding = $3, embedding_model = $4"
            " WHERE message_id = $1",
            message_id,
            gap_id,
            list(embedding),
            embedding_model,
        )

    @translate
    async def members(self, gap_id: UUID, *, limit: int) -> list[tuple[str, tuple[float, ...]]]:
        rows = await self._conn.fetch(
            "SELECT question, embedding FROM knowledge_gap_questions"
            " WHERE gap_id = $1 AND embedding IS NOT NULL ORDER BY asked_at DESC LIMIT $2",
            gap_id,
            limit,
        )
        return [(row["question"], tuple(row["embedding"])) for row in rows]

    @translate
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
        rows = await self._conn.fetch(
            _LIST,
            dealership_id,
            start,
            end,
            None if status is None else status.value,
            None if cursor is None else cursor.count,
            None if cursor is None else cursor.id,
            limit,
        )
        return [_gap(row) for row in rows]

    @translate
    async def get_gap(self, gap_id: UUID, dealership_id: UUID) -> KnowledgeGap | None:
        row = await self._conn.fetchrow(_ONE, dealership_id, gap_id)
        return None if row is None else _gap(row)

    @translate
    async def resolve(
        self, gap_id: UUID, dealership_id: UUID, *, by: UUID, at: datetime, note: str | None
    ) -> bool:
        status = await self._conn.execute(
            "UPDATE knowledge_gaps SET status = 'resolved', resolved_at = $3, resolved_by = $4,"
            " resolve_note = $5 WHERE id = $1 AND dealership_id = $2",
            gap_id,
            dealership_id,
            at,
            by,
            note,
        )
        return bool(status.endswith(" 1"))

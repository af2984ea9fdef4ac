"""Usage records and raised budget alerts in PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from avataradam.adapters.postgres.errors import translate
from avataradam.adapters.postgres.rows import ConnectionRepository
from avataradam.domain.model import UsageDay, UsageRecord


class PostgresUsageRepository(ConnectionRepository):
    @translate
    async def add(self, record: UsageRecord) -> None:
        await self._conn.execute(
            "INSERT INTO usage_records (id, dealership_id, conversation_id, message_id, model,"
            " prompt_tokens, completion_tokens, speech_seconds, latency_ms, cached, created_at,"
            " kind, speech_tokens)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            record.id,
            record.dealership_id,
            record.conversation_id,
            record.message_id,
            record.model,
            record.prompt_tokens,
            record.completion_tokens,
            record.speech_seconds,
            record.latency_ms,
            record.cached,
            record.created_at,
            record.kind.value,
            record.speech_tokens,
        )

    @translate
    async def days(self, *, dealership_id: UUID, start: datetime, end: datetime) -> list[UsageDay]:
        return await self._all(
            UsageDay,
            "SELECT (created_at AT TIME ZONE 'UTC')::date AS day,"
            " count(*) FILTER (WHERE kind = 'reply' AND NOT cached) AS model_calls,"
            " count(*) FILTER (WHERE kind = 'reply' AND cached) AS cached_answers,"
            " coalesce(sum(prompt_tokens), 0) AS prompt_tokens,"
            " coalesce(sum(completion_tokens), 0) AS completion_tokens,"
            " coalesce(sum(speech_seconds), 0) AS speech_seconds,"
            " coalesce(sum(speech_tokens), 0) AS speech_tokens"
            " FROM usage_records"
            " WHERE dealership_id = $1 AND created_at >= $2 AND created_at < $3"
            " GROUP BY day ORDER BY day",
            dealership_id,
            start,
            end,
        )

    @translate
    async def tokens(self, *, dealership_id: UUID, start: datetime, end: datetime) -> int:
        total = await self._conn.fetchval(
            "SELECT coalesce(sum(prompt_tokens + completion_tokens + speech_tokens), 0)"
            " FROM usage_records"
            " WHERE dealership_id = $1 AND created_at >= $2 AND created_at < $3",
            dealership_id,
            start,
            end,
        )
        return int(total)

    @translate
    async def claim_alert(
        self, *, dealership_id: UUID, period: date, threshold: int, now: datetime
    ) -> bool:
        inserted = await self._conn.fetchval(
            "INSERT INTO usage_alerts (dealership_id, period, threshold, created_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
            dealership_id,
            period,
            threshold,
            now,
        )
        return bool(inserted)

"""In-memory twin of the usage repository (see `adapters/postgres/usage.py`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from uuid import UUID

from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.domain.errors import Conflict
from avataradam.domain.model import UsageDay, UsageKind, UsageRecord


class InMemoryUsageRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, record: UsageRecord) -> None:
        def op(t: Tables) -> None:
            reply = record.kind is UsageKind.REPLY
            if record.id in t.usage_records or any(
                reply and r.kind is UsageKind.REPLY and r.message_id == record.message_id
                for r in t.usage_records.values()
            ):
                raise Conflict("usage of this message is already recorded")
            t.usage_records[record.id] = record

        self._tx.write(op)

    def _within(self, dealership_id: UUID, start: datetime, end: datetime) -> list[UsageRecord]:
        return [
            r
            for r in self._tx.tables.usage_records.values()
            if r.dealership_id == dealership_id and start <= r.created_at < end
        ]

    async def days(self, *, dealership_id: UUID, start: datetime, end: datetime) -> list[UsageDay]:
        by_day: dict[date, list[UsageRecord]] = defaultdict(list)
        for record in self._within(dealership_id, start, end):
            by_day[record.created_at.astimezone(UTC).date()].append(record)
        return [_day(day, records) for day, records in sorted(by_day.items())]

    async def tokens(self, *, dealership_id: UUID, start: datetime, end: datetime) -> int:
        return sum(r.tokens for r in self._within(dealership_id, start, end))

    async def claim_alert(
        self, *, dealership_id: UUID, period: date, threshold: int, now: datetime
    ) -> bool:
        key = (dealership_id, period, threshold)

        def op(t: Tables) -> bool:
            if key in t.usage_alerts:
                return False
            t.usage_alerts[key] = now
            return True

        return self._tx.write(op)


def _day(day: date, records: list[UsageRecord]) -> UsageDay:
    replies = [r for r in records if r.kind is UsageKind.REPLY]
    return UsageDay(
        day=day,
        model_calls=sum(1 for r in replies if not r.cached),
        cached_answers=sum(1 for r in replies if r.cached),
        prompt_tokens=sum(r.prompt_tokens for r in records),
        completion_tokens=sum(r.completion_tokens for r in records),
        speech_seconds=sum(r.speech_seconds for r in records),
        speech_tokens=sum(r.speech_tokens for r in records),
    )

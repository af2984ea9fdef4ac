"""In-memory twin of the scorecard repository; see `adapters/postgres/scorecards.py`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.adapters.memory.rows import replace, require
from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard


def _due_order(card: StoredScorecard) -> tuple[bool, datetime | None, UUID]:
    return (card.lease_expires_at is not None, card.lease_expires_at, card.conversation_id)


def _claimable(card: StoredScorecard | None, now: datetime) -> bool:
    return (
        card is not None
        and card.status is ScorecardStatus.PENDING
        and (
            card.lease_token is None
            or card.lease_expires_at is None
            or card.lease_expires_at <= now
        )
    )


class InMemoryScorecardRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, scorecard: StoredScorecard) -> bool:
        key = scorecard.conversation_id

        def op(t: Tables) -> bool:
            require(t.conversations, key, "conversation")
            if key in t.scorecards:
                return False
            t.scorecards[key] = scorecard
            return True

        return self._tx.write(op, replay_must_agree=True)

    async def get(self, conversation_id: UUID) -> StoredScorecard | None:
        return self._tx.tables.scorecards.get(conversation_id)

    async def get_for_update(self, conversation_id: UUID) -> StoredScorecard | None:
        self._tx.require_writable()
        return self._tx.tables.scorecards.get(conversation_id)

    async def update(self, scorecard: StoredScorecard) -> None:
        def op(t: Tables) -> None:
            replace(t.scorecards, scorecard.conversation_id, scorecard, "scorecard")

        self._tx.write(op)

    async def claim(
        self, conversation_id: UUID, *, token: UUID, now: datetime, until: datetime
    ) -> StoredScorecard | None:
        def op(t: Tables) -> StoredScorecard | None:
            current = t.scorecards.get(conversation_id)
            if current is None or not _claimable(current, now):
                return None
            claimed = msgspec.structs.replace(
                current,
                lease_token=token,
                lease_expires_at=until,
                attempts=current.attempts + 1,
                updated_at=now,
            )
            t.scorecards[conversation_id] = claimed
            return claimed

        return self._tx.write(op, replay_must_agree=True)

    async def update_leased(self, scorecard: StoredScorecard, *, lease_token: UUID) -> bool:
        def op(t: Tables) -> bool:
            current = t.scorecards.get(scorecard.conversation_id)
            if current is None or not current.held_by(lease_token):
                return False
            t.scorecards[scorecard.conversation_id] = scorecard
            return True

        return self._tx.write(op, replay_must_agree=True)

    async def list_due(self, *, now: datetime, limit: int) -> list[StoredScorecard]:
        rows = [
            c
            for c in self._tx.tables.scorecards.values()
            if c.status is ScorecardStatus.PENDING
            and (c.lease_expires_at is None or c.lease_expires_at <= now)
        ]
        return sorted(rows, key=_due_order)[:limit]

"""Scorecards of completed roleplay sessions in PostgreSQL (migration 0018)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from avataradam.adapters.postgres.errors import affected_rows, translate
from avataradam.adapters.postgres.rows import (
    ConnectionRepository,
    columns,
    insert,
    params,
    select,
    update,
)
from avataradam.domain.model.scorecards import StoredScorecard

_SCORECARD = columns(
    "conversation_id, dealership_id, user_id, status, rubric_id, rubric_version, scorer_kind,"
    " scorer_model, body, attempts, lease_token, lease_expires_at, error_code, error_message,"
    " created_at, updated_at, scored_at"
)
_MUTABLE = columns(
    "conversation_id, status, rubric_id, rubric_version, scorer_kind, scorer_model, body,"
    " attempts, lease_token, lease_expires_at, error_code, error_message, updated_at, scored_at"
)
_CLAIM = (
    "UPDATE scorecards SET lease_token = $2, lease_expires_at = $4,"  # noqa: S608 -- our names
    " attempts = attempts + 1, updated_at = $3"
    " WHERE conversation_id = $1 AND status = 'pending' AND (lease_token IS NULL"
    " OR lease_expires_at IS NULL OR lease_expires_at <= $3)"
    " RETURNING " + ", ".join(_SCORECARD)
)
_SELECT = select("scorecards", _SCORECARD)
_INSERT = insert("scorecards", _SCORECARD)
_UPDATE = update("scorecards", _MUTABLE)


class PostgresScorecardRepository(ConnectionRepository):
    @translate
    async def add(self, scorecard: StoredScorecard) -> bool:
        status = await self._conn.execute(
            f"{_INSERT} ON CONFLICT (conversation_id) DO NOTHING",
            *params(scorecard, _SCORECARD),
        )
        return affected_rows(status) == 1

    @translate
    async def get(self, conversation_id: UUID) -> StoredScorecard | None:
        return await self._one(
            StoredScorecard, f"{_SELECT} WHERE conversation_id = $1", conversation_id
        )

    @translate
    async def get_for_update(self, conversation_id: UUID) -> StoredScorecard | None:
        return await self._one(
            StoredScorecard, f"{_SELECT} WHERE conversation_id = $1 FOR UPDATE", conversation_id
        )

    @translate
    async def update(self, scorecard: StoredScorecard) -> None:
        await self._update_one(
            f"{_UPDATE} WHERE conversation_id = $1", params(scorecard, _MUTABLE), "scorecard"
        )

    @translate
    async def claim(
        self, conversation_id: UUID, *, token: UUID, now: datetime, until: datetime
    ) -> StoredScorecard | None:
        return await self._one(
            StoredScorecard,
            _CLAIM,
            conversation_id,
            token,
            now,
            until,
        )

    @translate
    async def update_leased(self, scorecard: StoredScorecard, *, lease_token: UUID) -> bool:
        status = await self._conn.execute(
            f"{_UPDATE} WHERE conversation_id = $1 AND status = 'pending'"
            f" AND lease_token = ${len(_MUTABLE) + 1}",
            *params(scorecard, _MUTABLE),
            lease_token,
        )
        return affected_rows(status) == 1

    @translate
    async def list_due(self, *, now: datetime, limit: int) -> list[StoredScorecard]:
        return await self._all(
            StoredScorecard,
            f"{_SELECT} WHERE status = 'pending'"
            " AND (lease_expires_at IS NULL OR lease_expires_at <= $1)"
            " ORDER BY lease_expires_at NULLS FIRST, conversation_id LIMIT $2",
            now,
            limit,
        )

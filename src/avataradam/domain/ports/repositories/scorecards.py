"""Persistence port of the scorecards of completed roleplay sessions (migration 0018)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from avataradam.domain.model.scorecards import StoredScorecard


class ScorecardRepository(Protocol):
    """One scorecard per conversation; see `domain/model/scorecards.py` for its lease."""

    async def add(self, scorecard: StoredScorecard) -> bool:
        """Stores a new scorecard; False (and stores nothing) when the conversation
        already has one: a concurrent or repeated completion never makes a second."""
        ...

    async def get(self, conversation_id: UUID) -> StoredScorecard | None: ...

    async def get_for_update(self, conversation_id: UUID) -> StoredScorecard | None:
        """As `get`, locking the row until the unit of work ends."""
        ...

    async def update(self, scorecard: StoredScorecard) -> None:
        """Replaces every mutable field (NotFound when absent)."""
        ...

    async def claim(
        self, conversation_id: UUID, *, token: UUID, now: datetime, until: datetime
    ) -> StoredScorecard | None:
        """Takes a `pending` scorecard that no live lease holds (no holder, or its
        lease lapsed at `now`) for the run `token` until `until`, counting one more
        attempt; None when it is scored, failed, absent or held by a live lease."""
        ...

    async def update_leased(self, scorecard: StoredScorecard, *, lease_token: UUID) -> bool:
        """`update`, only while the run `lease_token` still holds the pending row;
        False (nothing written) once another run took it over or it left `pending`."""
        ...

    async def list_due(self, *, now: datetime, limit: int) -> list[StoredScorecard]:
        """`pending` scorecards whose `lease_expires_at` is NULL or not after `now`
        (their holder died, or their message never came), soonest due first."""
        ...

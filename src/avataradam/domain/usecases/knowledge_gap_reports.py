"""The admins' side of knowledge gaps: the list (read from the replica when one is
configured) and resolving a gap.

Resolving marks a gap `resolved` (e.g. after the document that answers it was uploaded).
A question of it asked later does not reopen it: the gap stays `resolved` and reads
`recurred: true`, so the admin sees that the fix did not hold; resolving it again
starts a new watch (`recurred` counts questions after the latest `resolved_at`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.day_ranges import require_day_range
from avataradam.domain.errors import InvalidInput, NotFound
from avataradam.domain.model import Role
from avataradam.domain.model.knowledge_gaps import (
    MAX_RESOLVE_NOTE_CHARS,
    GapCursor,
    GapStatus,
    KnowledgeGap,
)
from avataradam.domain.pagination import page_size
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.system import Clock
from avataradam.domain.usecases.conversations.start import require_storable

DEFAULT_REPORT_DAYS = 90
MAX_REPORT_DAYS = 366


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class GapPage(msgspec.Struct, frozen=True):
    """One page of gaps and the cursor of the next (None on the last)."""

    items: list[KnowledgeGap]
    next_cursor: str | None


class ListKnowledgeGaps:
    """A dealership's gaps with questions asked from `start` to `end` (UTC days,
    inclusive; default the last 90 days), most asked first; admins only."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None = None,
        start: date | None = None,
        end: date | None = None,
        status: GapStatus | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> GapPage:
        """Raises InvalidInput when `start` is after `end` or the range exceeds
        `MAX_REPORT_DAYS`, InvalidRequest for a cursor this API did not issue."""
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        scope = dealership_scope(principal, dealership_id)
        end = end or self._clock.now().astimezone(UTC).date()
        start = start or end - timedelta(days=DEFAULT_REPORT_DAYS - 1)
        require_day_range(start, end, max_days=MAX_REPORT_DAYS)
        size = page_size(limit)
        after = GapCursor.decode(cursor) if cursor else None
        async with self._uow(read_only=True) as uow:
            rows = await uow.knowledge_gaps.list_gaps(
                scope,
                start=_midnight(start),
                end=_midnight(end + timedelta(days=1)),
                status=status,
                cursor=after,
                limit=size + 1,
            )
        if len(rows) <= size:
            return GapPage(rows, None)
        last = rows[size - 1]
        return GapPage(rows[:size], GapCursor(count=last.count, id=last.id).encode())


class ResolveKnowledgeGap:
    """Marks a gap resolved, with an optional note; admins only. Another dealership's
    gap is NotFound. Resolving a resolved gap again moves its `resolved_at` to now."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(
        self,
        principal: Principal,
        gap_id: UUID,
        *,
        note: str | None = None,
        dealership_id: UUID | None = None,
    ) -> KnowledgeGap:
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        scope = dealership_scope(principal, dealership_id)
        note = (note or "").strip() or None
        if note is not None and len(note) > MAX_RESOLVE_NOTE_CHARS:
            raise InvalidInput(f"note is at most {MAX_RESOLVE_NOTE_CHARS} characters", field="note")
        require_storable(note or "", "note")
        async with self._uow() as uow:
            resolved = await uow.knowledge_gaps.resolve(
                gap_id, scope, by=principal.user_id, at=self._clock.now(), note=note
            )
            gap = await uow.knowledge_gaps.get_gap(gap_id, scope) if resolved else None
            if gap is None:
                raise NotFound("knowledge gap not found")
            await uow.commit()
        return gap

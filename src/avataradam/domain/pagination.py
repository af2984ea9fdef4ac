"""Opaque keyset cursors over (created_at, id)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol, Self, TypeVar
from uuid import UUID

import msgspec

from avataradam.domain.errors import InvalidRequest

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


class KeysetCursor(msgspec.Struct, frozen=True, array_like=True):
    """An opaque keyset cursor: its fields as a JSON array, URL-safe base64 without
    padding. Subclasses declare the keys their list is ordered by."""

    def encode(self) -> str:
        return base64.urlsafe_b64encode(msgspec.json.encode(self)).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str) -> Self:
        """Raises InvalidRequest (`cursor`) for a cursor this API did not issue."""
        try:
            padded = raw + "=" * (-len(raw) % 4)
            return msgspec.json.decode(base64.urlsafe_b64decode(padded), type=cls)
        except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
            raise InvalidRequest(
                "cursor is not one this API issued; pass a next_cursor unchanged", field="cursor"
            ) from exc


class Cursor(KeysetCursor, frozen=True, array_like=True):
    """A position in a list ordered by (created_at, id): the page that follows holds the
    rows after it, oldest first, or, `newest_first`, the rows before it, newest first.
    The order travels in the cursor, so every page of a walk keeps the first's."""

    created_at: datetime
    id: UUID
    newest_first: bool = False

    @classmethod
    def newest(cls) -> Cursor:
        """The first page newest first: a position after every row."""
        return cls(created_at=_END_OF_TIME, id=_LAST_ID, newest_first=True)


_END_OF_TIME = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
_LAST_ID = UUID(int=2**128 - 1)


class Keyed(Protocol):
    """A row of a list ordered by (created_at, id)."""

    @property
    def id(self) -> UUID: ...
    @property
    def created_at(self) -> datetime: ...


K = TypeVar("K", bound=Keyed)


def cursor_after(row: Keyed, *, newest_first: bool = False) -> Cursor:
    """The cursor of the page that follows `row` (in the order `newest_first` says)."""
    return Cursor(created_at=row.created_at, id=row.id, newest_first=newest_first)


async def every_row(
    fetch: Callable[[Cursor | None, int], Awaitable[Sequence[K]]],
) -> AsyncIterator[K]:
    """Every row of a keyset-paged list, in its order, fetched `MAX_PAGE_SIZE` at a time:
    `fetch(cursor, limit)` answers the page after `cursor` (None: the first)."""
    cursor: Cursor | None = None
    while True:
        page = await fetch(cursor, MAX_PAGE_SIZE)
        for row in page:
            yield row
        if len(page) < MAX_PAGE_SIZE:
            return
        cursor = cursor_after(page[-1])


def page_size(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}", field="limit")
    return limit

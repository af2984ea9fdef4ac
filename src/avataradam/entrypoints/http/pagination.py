"""Cursor pagination for list endpoints: ask for one row more than the page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar
from uuid import UUID

from avataradam.domain.pagination import Cursor, page_size
from avataradam.entrypoints.http.schemas.common import ListResponse


class _Keyed(Protocol):
    @property
    def id(self) -> UUID: ...
    @property
    def created_at(self) -> datetime: ...


K = TypeVar("K", bound=_Keyed)
T = TypeVar("T")


async def fetch_page(
    fetch: Callable[[Cursor | None, int], Awaitable[Sequence[K]]],
    cursor: str | None,
    limit: int | None,
) -> tuple[Sequence[K], str | None]:
    size = page_size(limit)
    rows = await fetch(Cursor.decode(cursor) if cursor else None, size + 1)
    if len(rows) <= size:
        return rows, None
    last = rows[size - 1]
    return rows[:size], Cursor(created_at=last.created_at, id=last.id).encode()


async def list_page(
    fetch: Callable[[Cursor | None, int], Awaitable[Sequence[K]]],
    cursor: str | None,
    limit: int | None,
    *,
    render: Callable[[K], T],
) -> ListResponse[T]:
    """One page of a list endpoint: rows fetched by keyset, rendered, and the cursor of
    the next page (None on the last)."""
    rows, next_cursor = await fetch_page(fetch, cursor, limit)
    return ListResponse([render(row) for row in rows], next_cursor)

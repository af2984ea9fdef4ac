"""Cursor pagination for list endpoints: ask for one row more than the page.

A page is fetched by a list use case with everything but the page bound, e.g.
`partial(container.list_users, principal, dealership_id=dealership_id)`: this module
calls it with `cursor=` (the decoded cursor, None on the first page) and `limit=`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from avataradam.domain.pagination import Cursor, Keyed, cursor_after, page_size
from avataradam.entrypoints.http.schemas.common import ListResponse

K = TypeVar("K", bound=Keyed)
K_co = TypeVar("K_co", bound=Keyed, covariant=True)
T = TypeVar("T")


class PageFetch(Protocol[K_co]):
    """A list use case with everything but the page bound: rows newest first."""

    def __call__(self, *, cursor: Cursor | None, limit: int) -> Awaitable[Sequence[K_co]]: ...


async def fetch_page(
    fetch: PageFetch[K],
    cursor: str | None,
    limit: int | None,
) -> tuple[Sequence[K], str | None]:
    size = page_size(limit)
    rows = await fetch(cursor=Cursor.decode(cursor) if cursor else None, limit=size + 1)
    if len(rows) <= size:
        return rows, None
    return rows[:size], cursor_after(rows[size - 1]).encode()


async def list_page(
    fetch: PageFetch[K],
    cursor: str | None,
    limit: int | None,
    *,
    render: Callable[[K], T],
) -> ListResponse[T]:
    """One page of a list endpoint: rows fetched by keyset, rendered, and the cursor of
    the next page (None on the last)."""
    rows, next_cursor = await fetch_page(fetch, cursor, limit)
    return ListResponse([render(row) for row in rows], next_cursor)

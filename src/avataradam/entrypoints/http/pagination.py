"""Cursor pagination for list endpoints: ask for one row more than the page.

A page is fetched by a list use case with everything but the page bound, e.g.
`partial(container.list_users, principal, dealership_id=dealership_id)`: this module
calls it with `cursor=` (the decoded cursor, None on the first page) and `limit=`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from avataradam.domain.pagination import Cursor, Keyed, cursor_after, page_size
from avataradam.entrypoints.http.params import ListOrder
from avataradam.entrypoints.http.schemas.common import ListResponse

K = TypeVar("K", bound=Keyed)
K_co = TypeVar("K_co", bound=Keyed, covariant=True)
T = TypeVar("T")


class PageFetch(Protocol[K_co]):
    """A list use case with everything but the page bound: the rows after `cursor` in
    its order (`Cursor.newest_first`), oldest first without one."""

    def __call__(self, *, cursor: Cursor | None, limit: int) -> Awaitable[Sequence[K_co]]: ...


async def fetch_page(
    fetch: PageFetch[K],
    cursor: str | None,
    limit: int | None,
    order: ListOrder = "oldest",
) -> tuple[Sequence[K], str | None]:
    """The rows of a page and the next page's cursor. `order` picks the first page's
    order; a cursor carries on in its own (`Cursor.newest_first`)."""
    size = page_size(limit)
    position = Cursor.decode(cursor) if cursor else None
    if position is None and order == "newest":
        position = Cursor.newest()
    rows = await fetch(cursor=position, limit=size + 1)
    if len(rows) <= size:
        return rows, None
    newest_first = position is not None and position.newest_first
    return rows[:size], cursor_after(rows[size - 1], newest_first=newest_first).encode()


async def list_page(
    fetch: PageFetch[K],
    cursor: str | None,
    limit: int | None,
    *,
    render: Callable[[K], T],
    order: ListOrder = "oldest",
) -> ListResponse[T]:
    """One page of a list endpoint: rows fetched by keyset in `order`, rendered, and
    the cursor of the next page (None on the last)."""
    rows, next_cursor = await fetch_page(fetch, cursor, limit, order)
    return ListResponse([render(row) for row in rows], next_cursor)

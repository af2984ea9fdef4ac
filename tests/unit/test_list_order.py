"""The order of a list endpoint's pages (`?order=oldest|newest`): the first page's order
travels in the cursor, so a walk keeps it; cursors issued before the order existed
still read as oldest first."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
import pytest

from avataradam.adapters.memory.rows import page
from avataradam.domain.pagination import Cursor, cursor_after
from avataradam.entrypoints.http.pagination import fetch_page
from avataradam.entrypoints.http.params import ListOrder

START = datetime(2026, 1, 1, tzinfo=UTC)


class Row(msgspec.Struct, frozen=True):
    id: UUID
    created_at: datetime


# Ties on created_at, so the id decides between rows of the same instant.
TABLE = [Row(UUID(int=(7 * n) % 11 + 1), START + timedelta(seconds=n // 3)) for n in range(11)]
OLDEST = sorted(TABLE, key=lambda r: (r.created_at, r.id))


async def walk(order: ListOrder, size: int) -> list[Row]:
    async def fetch(*, cursor: Cursor | None, limit: int) -> list[Row]:
        return page(TABLE, lambda r: (r.created_at, r.id), cursor, limit)

    seen: list[Row] = []
    cursor: str | None = None
    while True:
        rows, cursor = await fetch_page(fetch, cursor, size, "oldest" if cursor else order)
        seen.extend(rows)
        if cursor is None:
            return seen


@pytest.mark.parametrize("size", [1, 2, 5, 11, 50])
async def test_a_walk_keeps_the_first_pages_order_to_the_end(size: int) -> None:
    assert await walk("oldest", size) == OLDEST
    assert await walk("newest", size) == OLDEST[::-1]


def test_a_cursor_carries_its_order_and_an_older_cursor_reads_as_oldest_first() -> None:
    row = OLDEST[4]
    newest = Cursor.decode(cursor_after(row, newest_first=True).encode())
    assert (newest.created_at, newest.id, newest.newest_first) == (row.created_at, row.id, True)
    issued_before = base64.urlsafe_b64encode(msgspec.json.encode([row.created_at, row.id])).decode()
    assert Cursor.decode(issued_before.rstrip("=")) == Cursor(created_at=row.created_at, id=row.id)
    assert all(r.created_at < Cursor.newest().created_at for r in TABLE)

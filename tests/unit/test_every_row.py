"""`every_row` walks a keyset-paged list to its end: every row once, in order, with the
cursor of each page's last row, whatever the row count (none, one, a page short of
full, exactly a page, a page and a bit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
import pytest

from avataradam.domain.pagination import MAX_PAGE_SIZE, Cursor, cursor_after, every_row

START = datetime(2026, 1, 1, tzinfo=UTC)


class Row(msgspec.Struct, frozen=True):
    id: UUID
    created_at: datetime


def rows(count: int) -> list[Row]:
    return [Row(UUID(int=n + 1), START + timedelta(seconds=n // 3)) for n in range(count)]


@pytest.mark.parametrize("count", [0, 1, MAX_PAGE_SIZE - 1, MAX_PAGE_SIZE, 2 * MAX_PAGE_SIZE + 1])
async def test_every_row_once_in_order(count: int) -> None:
    table = rows(count)
    asked: list[tuple[datetime, UUID] | None] = []

    async def fetch(cursor: Cursor | None, limit: int) -> Sequence[Row]:
        asked.append(None if cursor is None else (cursor.created_at, cursor.id))
        after = [
            r
            for r in table
            if cursor is None or (r.created_at, r.id) > (cursor.created_at, cursor.id)
        ]
        return after[:limit]

    assert [row async for row in every_row(fetch)] == table
    pages = count // MAX_PAGE_SIZE + 1
    expected = [None] + [
        (table[n * MAX_PAGE_SIZE - 1].created_at, table[n * MAX_PAGE_SIZE - 1].id)
        for n in range(1, pages)
    ]
    assert asked == expected


def test_cursor_after_is_the_rows_key() -> None:
    row = rows(5)[4]
    cursor = cursor_after(row)
    assert (cursor.created_at, cursor.id) == (row.created_at, row.id)
    assert Cursor.decode(cursor.encode()) == cursor
